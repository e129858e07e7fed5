// A real nginx (Debian's package) in front of a labrun server for proxy tests: its own prefix folder
// and config in a temp dir, listening on a free loopback port, stopped after the test. The server
// block is docs/deploying.md's nginx example as written, with only the listen line, the certificate
// lines and the upstream port changed, so the documented configuration is the one under test.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export const NGINX_PATH = process.env.LABRUN_NGINX ?? '/usr/sbin/nginx';
const DOCS = path.resolve('docs/deploying.md');
const START_TIMEOUT_MS = 10_000;

/** The first ```nginx block of docs/deploying.md. */
export function documentedNginxConfig(): string {
  const m = /```nginx\n([\s\S]*?)```/.exec(readFileSync(DOCS, 'utf8'));
  if (!m?.[1]) throw new Error(`no nginx block in ${DOCS}`);
  return m[1];
}

/** The documented block, made to listen on `port` in plain HTTP and to proxy to `upstreamPort`. */
export function testNginxConfig(block: string, port: number, upstreamPort: number): string {
  const out = block
    .replace(/^\s*listen 443 ssl;$/m, `    listen 127.0.0.1:${port};`)
    .replace(/^\s*ssl_certificate(_key)?\s.*$/gm, '')
    .replace(/http:\/\/127\.0\.0\.1:3000;/g, `http://127.0.0.1:${upstreamPort};`);
  if (!out.includes(`listen 127.0.0.1:${port};`) || !out.includes(`127.0.0.1:${upstreamPort}`)) throw new Error('the documented nginx block no longer has the lines the test changes');
  return out;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Nginx {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** nginx's error log so far, for failure messages. */
  errors(): string;
}

/** Starts nginx in front of `upstreamPort`; stopped (and its folder removed) after the test. */
export async function startNginx(t: TestContext, upstreamPort: number): Promise<Nginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrnginx-'));
  // The workers run as an unprivileged user when the master is root: they must reach the temp paths.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const errorLog = path.join(dir, 'error.log');
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `pid ${dir}/nginx.pid;
error_log ${errorLog} info;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${testNginxConfig(documentedNginxConfig(), port, upstreamPort)}
}
`,
  );
  const errors = (): string => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
  const proc: ChildProcess = spawn(NGINX_PATH, ['-p', dir, '-e', errorLog, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.after(async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode}: ${stderr}${errors()}`);
    const up = await fetch(`${origin}/`).then(() => true, () => false);
    if (up) return { origin, errors };
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${origin} within ${START_TIMEOUT_MS} ms: ${stderr}${errors()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
