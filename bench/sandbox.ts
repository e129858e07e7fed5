// Sandbox speed and memory (prints numbers, asserts nothing): golden image state build; create→ready
// one at a time with and without preloaded images; five created in parallel; preloading by
// `docker load -i` of a bind-mounted tar for comparison; host memory per idle sandbox with the seed
// stack up; exec latency through the Engine API vs `docker-compose exec -T` inside the sandbox.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { DindDriver } from '../server/sandbox/dind.ts';
import { probePrivilege, securityHostConfig, waitForDaemon } from '../server/sandbox/dind-container.ts';
import { ensureGolden } from '../server/sandbox/golden.ts';
import type { ExecRequest, Sandbox } from '../server/sandbox/sandbox.ts';
import { SANDBOX_IMAGE } from '../server/images/ensure-images.ts';

const ROUNDS = 5;
const EXEC_RUNS = 20;
const IMAGES = ['nginx:latest'];
const LAB_ID = `bench-sandbox-${randomBytes(3).toString('hex')}`;
/** Let freshly started stacks settle (page cache, nginx workers) before reading memory. */
const SETTLE_MS = 5_000;

const engine = new Docker();
const stateDir = await mkdtemp(join(tmpdir(), 'labrun-bench-sb-'));
const driver = new DindDriver({ stateDir, isolation: 'trusted' });
const files = await mkdtemp(join(tmpdir(), 'labrun-bench-seed-'));
await copyFile('docker-compose.yaml', join(files, 'docker-compose.yaml'));
const spec = (learnerId: string, images: string[]) => ({ labId: LAB_ID, learnerId, workspace: 'linuxnetworks', filesDir: files, images });
const rows: Array<[string, string]> = [];

const median = (xs: number[]) => pct(xs, 50);
function pct(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
function row(label: string, value: string): void {
  rows.push([label, value]);
  console.log(`${label.padEnd(62)} ${value}`);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
}

async function memAvailableKiB(): Promise<number> {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'));
  return Number(m?.[1] ?? NaN);
}

async function must(sb: Sandbox, req: ExecRequest): Promise<void> {
  const r = await sb.exec(req);
  if (r.exitCode !== 0) throw new Error(`${req.argv.join(' ')} failed in ${sb.id}: ${r.stderr}`);
}

/** The runner-up preload: `docker load -i` of a tar saved once and bind-mounted read-only. */
async function loadTarPreload(tarPath: string): Promise<number> {
  const name = `labrun-bench-load-${randomBytes(4).toString('hex')}`;
  const run = join(stateDir, name);
  await mkdir(run, { recursive: true });
  const mode = await probePrivilege(engine, SANDBOX_IMAGE);
  await engine.createVolume({ Name: name, Labels: { 'labrun.lab': LAB_ID } });
  const container = await engine.createContainer({
    name,
    Image: SANDBOX_IMAGE,
    Labels: { 'labrun.lab': LAB_ID },
    HostConfig: { ...securityHostConfig(mode), Binds: [`${name}:/var/lib/docker`, `${run}:/run/labrun`, `${tarPath}:/images.tar:ro`] },
  });
  try {
    const t0 = performance.now();
    await container.start();
    await waitForDaemon(engine, container.id, name, join(run, 'docker.sock'), 120_000);
    const exec = await container.exec({ Cmd: ['docker', 'load', '-q', '-i', '/images.tar'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    stream.resume();
    await new Promise((resolve) => stream.once('end', resolve));
    return performance.now() - t0;
  } finally {
    await container.remove({ force: true });
    await engine.getVolume(name).remove();
    await rm(run, { recursive: true, force: true });
  }
}

const made: Sandbox[] = [];
try {
  const hostConfig = securityHostConfig(await probePrivilege(engine, SANDBOX_IMAGE));
  const [, goldenMs] = await timed(() => ensureGolden(engine, { goldenDir: join(stateDir, 'golden'), sandboxImage: SANDBOX_IMAGE, images: IMAGES, build: { hostConfig } }));
  row('image preload: build golden state (once per image set)', secs(goldenMs));

  for (const images of [[], IMAGES]) {
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const [sb, ms] = await timed(() => driver.create(spec(`seq-${i}`, images)));
      times.push(ms);
      await sb.destroy();
    }
    row(`create→ready, one at a time, ${images.length ? 'nginx preloaded (golden copy)' : 'no images'} (median of ${ROUNDS})`, secs(median(times)));
  }

  const tar = join(stateDir, 'images.tar');
  const [, saveMs] = await timed(async () => pipeline(await engine.getImage(IMAGES[0] ?? '').get(), createWriteStream(tar)));
  row('alternative preload: docker save to a tar (once)', secs(saveMs));
  const loadTimes: number[] = [];
  for (let i = 0; i < 3; i++) loadTimes.push(await loadTarPreload(tar));
  row('alternative: start + docker load -i of bind-mounted tar (median of 3)', secs(median(loadTimes)));
  const [parallelLoads, parallelLoadMs] = await timed(() => Promise.all(Array.from({ length: ROUNDS }, () => loadTarPreload(tar))));
  row(`alternative: ${ROUNDS} × start + docker load -i in parallel (total)`, `${secs(parallelLoadMs)} (slowest ${secs(Math.max(...parallelLoads))})`);

  const memBefore = await memAvailableKiB();
  const [, parallelMs] = await timed(() =>
    Promise.all(
      Array.from({ length: ROUNDS }, async (_, i) => {
        const sb = await driver.create(spec(`par-${i}`, IMAGES));
        made.push(sb);
      }),
    ),
  );
  row(`${ROUNDS} created in parallel, nginx preloaded (total)`, secs(parallelMs));
  await Promise.all(made.map((sb) => must(sb, { argv: ['docker', 'compose', 'up', '-d'], timeoutMs: 120_000 })));
  await sleep(SETTLE_MS);
  const memAfter = await memAvailableKiB();
  row('host memory per idle sandbox with the seed stack up (MemAvailable Δ)', `${((memBefore - memAfter) / 1024 / made.length).toFixed(0)} MiB`);

  for (const sb of made.slice(1)) await sb.destroy();
  const sb = made[0];
  if (!sb) throw new Error('no sandbox');
  const latency = async (label: string, req: ExecRequest) => {
    await must(sb, req); // warm-up
    const times: number[] = [];
    for (let i = 0; i < EXEC_RUNS; i++) times.push((await timed(() => must(sb, req)))[1]);
    row(`${label} p50 / p95 (${EXEC_RUNS} runs)`, `${median(times).toFixed(0)} / ${pct(times, 95).toFixed(0)} ms`);
  };
  await latency('exec getent hosts nginx_b in nginx_a: sandbox.exec (Engine API)', { service: 'nginx_a', argv: ['getent', 'hosts', 'nginx_b'] });
  await latency('exec getent hosts nginx_b in nginx_a: docker-compose exec -T', { argv: ['docker-compose', 'exec', '-T', 'nginx_a', 'getent', 'hosts', 'nginx_b'] });
  await latency('exec true in the sandbox itself: sandbox.exec', { argv: ['true'] });
} finally {
  await Promise.all(made.map((sb) => sb.destroy()));
  await driver.reap((labels) => labels['labrun.lab'] !== LAB_ID);
  for (const v of (await engine.listVolumes({ filters: { label: [`labrun.lab=${LAB_ID}`] } })).Volumes ?? []) await engine.getVolume(v.Name).remove();
  await rm(stateDir, { recursive: true, force: true });
  await rm(files, { recursive: true, force: true });
}

console.log('\n| measurement | value |\n|---|---|');
for (const [label, value] of rows) console.log(`| ${label} | ${value} |`);
