// Port preview and editor numbers (prints, asserts nothing), on a real isolated sandbox of the seed
// lab with nginx published on 8080: time to first byte through the preview (first request, which
// starts the namespace relay, then p50/p95 of 30), throughput of a 10 MB file through the preview
// next to curl inside the sandbox itself (curl's own timings, via docker exec), and the editor's open
// and save latency over HTTP (p50/p95 of 20).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../server/config.ts';
import { createServer } from '../server/http/app.ts';
import { DindDriver } from '../server/sandbox/dind.ts';
import { LABEL } from '../server/sandbox/naming.ts';
import { DEFAULT_SANDBOX_ENGINE } from '../server/sandbox/engines.ts';
import { measure, reportUnmeasured, unmeasured } from './support/measure.ts';

const TTFB_RUNS = 30;
const BIG_RUNS = 5;
const EDITOR_RUNS = 20;
const BIG_BYTES = 10 * 1024 * 1024;
const TOKEN = 'bench-token-0123456789abcdef';
const ENGINE = ['-H', process.env.LABRUN_SANDBOX_ENGINE || DEFAULT_SANDBOX_ENGINE];

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
function summary(label: string, times: number[], unit = 'ms'): void {
  const s = [...times].sort((a, b) => a - b);
  console.log(`${label}: p50 ${pct(s, 50).toFixed(1)} ${unit}, p95 ${pct(s, 95).toFixed(1)} ${unit} (n=${s.length})`);
}
function median(xs: number[]): number {
  return pct([...xs].sort((a, b) => a - b), 50);
}

const root = mkdtempSync(path.join(tmpdir(), 'lrb-'));
const labId = `linux-networks-pbench${process.pid}`;
cpSync('labs/linux-networks', path.join(root, 'labs', labId), { recursive: true });
const dataDir = path.join(root, 'data');
const config = parseConfig(['--port', '0', '--labs', path.join(root, 'labs'), '--data', dataDir, '--token', TOKEN], {});
const server = await createServer(config, { adopt: false, log: () => {} });
try {
  const signIn = await fetch(`${server.url}/?token=${TOKEN}`, { redirect: 'manual' });
  const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const api = `${server.url}/api/labs/${labId}`;

  const ready = await measure('a sandbox with nginx on 8080', async () => {
    const started = await fetch(`${api}/steps/one-container/check`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}' });
    if (!started.ok) throw new Error(`starting the sandbox: HTTP ${started.status}`);
    const sb = execFileSync('docker', [...ENGINE, 'ps', '--filter', `label=${LABEL.lab}=${labId}`, '--format', '{{.Names}}'], { encoding: 'utf8' }).trim();
    const inSandbox = (script: string): string => execFileSync('docker', [...ENGINE, 'exec', sb, 'bash', '-c', script], { encoding: 'utf8', timeout: 120_000 });
    inSandbox(`docker run -d --name pbench -p 8080:80 nginx:latest >/dev/null && docker exec pbench sh -c 'head -c ${BIG_BYTES} /dev/urandom > /usr/share/nginx/html/10mb.bin'`);
    for (let i = 0; i < 50 && !/200/.test(inSandbox("curl -s -o /dev/null -w '%{http_code}' localhost:8080/ || true")); i++) await new Promise((r) => setTimeout(r, 200));
    return inSandbox;
  });

  if (ready) {
    const entry = await fetch(`${server.url}/preview/${labId}/8080/`, { headers: { cookie }, redirect: 'manual' });
    const rootUrl = new URL(entry.headers.get('location') ?? '', `${server.url}/preview/${labId}/8080/`).href;

    await measure('preview time to first byte', async () => {
      const ttfb = async (): Promise<number> => {
        const t0 = performance.now();
        const res = await fetch(rootUrl);
        const ms = performance.now() - t0; // fetch resolves when the headers arrived
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return ms;
      };
      console.log(`preview, first request (starts the namespace relay): ${(await ttfb()).toFixed(1)} ms to the first byte`);
      const times: number[] = [];
      for (let i = 0; i < TTFB_RUNS; i++) times.push(await ttfb());
      summary('preview, nginx welcome page, time to first byte', times);
    });

    await measure('preview throughput, 10 MB', async () => {
      const rates: number[] = [];
      const firstBytes: number[] = [];
      for (let i = 0; i < BIG_RUNS; i++) {
        const t0 = performance.now();
        const res = await fetch(`${rootUrl}10mb.bin`);
        firstBytes.push(performance.now() - t0);
        const body = await res.arrayBuffer();
        const s = (performance.now() - t0) / 1000;
        if (body.byteLength !== BIG_BYTES) throw new Error(`got ${body.byteLength} bytes`);
        rates.push(BIG_BYTES / 1024 / 1024 / s);
      }
      console.log(`preview, 10 MB file: ${median(rates).toFixed(0)} MB/s median (min ${Math.min(...rates).toFixed(0)}, max ${Math.max(...rates).toFixed(0)}), first byte ${median(firstBytes).toFixed(1)} ms (n=${BIG_RUNS})`);
    });

    await measure('curl inside the sandbox, 10 MB', async () => {
      const rates: number[] = [];
      const firstBytes: number[] = [];
      for (let i = 0; i < BIG_RUNS; i++) {
        const [ttfb = '', speed = ''] = ready("curl -s -o /dev/null -w '%{time_starttransfer} %{speed_download}' localhost:8080/10mb.bin").trim().split(' ');
        firstBytes.push(Number(ttfb) * 1000);
        rates.push(Number(speed) / 1024 / 1024);
      }
      console.log(`curl inside the sandbox, 10 MB file: ${median(rates).toFixed(0)} MB/s median, first byte ${median(firstBytes).toFixed(1)} ms (curl's own timing, n=${BIG_RUNS})`);
    });

    await measure('editor open and save', async () => {
      const opens: number[] = [];
      const saves: number[] = [];
      let version = '';
      let content = '';
      for (let i = 0; i < EDITOR_RUNS + 1; i++) {
        const t0 = performance.now();
        const res = await fetch(`${api}/files/content?path=netsvc.conf`, { headers: { cookie } });
        const body = (await res.json()) as { version: string; content: string };
        if (!res.ok) throw new Error(`open: HTTP ${res.status}`);
        if (i > 0) opens.push(performance.now() - t0);
        ({ version, content } = body);
      }
      for (let i = 0; i < EDITOR_RUNS + 1; i++) {
        const t0 = performance.now();
        const res = await fetch(`${api}/files/content?path=netsvc.conf&base=${version}`, { method: 'PUT', headers: { cookie, origin: server.url, 'content-type': 'application/octet-stream' }, body: content });
        const body = (await res.json()) as { version: string };
        if (!res.ok) throw new Error(`save: HTTP ${res.status}`);
        if (i > 0) saves.push(performance.now() - t0);
        version = body.version;
      }
      summary('editor, open netsvc.conf (GET through the sandbox exec)', opens);
      summary('editor, save netsvc.conf (PUT with its version check)', saves);
    });
  } else unmeasured('preview and editor numbers', 'no sandbox (see above)');
} finally {
  await server.close();
  await new DindDriver({ stateDir: path.join(dataDir, 'sandboxes') }).reap((labels) => labels[LABEL.lab] !== labId);
  rmSync(root, { recursive: true, force: true });
}
reportUnmeasured();
