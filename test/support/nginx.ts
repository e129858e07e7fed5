// A real nginx (Debian's package) in front of a labrun server for proxy tests: its own prefix folder
// and config in a temp dir, listening on a free loopback port, stopped after the test. The server
// block is docs/deploying.md's nginx example as written, with only the listen line, the certificate
// lines and the upstream port changed, so the documented configuration is the one under test.
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './free-port.ts';
import { startProxyProcess } from './proxy-process.ts';

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
  const origin = `http://127.0.0.1:${port}`;
  const args = ['-p', dir, '-e', errorLog, '-c', conf, '-g', 'daemon off;'];
  await startProxyProcess(t, { name: 'nginx', command: NGINX_PATH, args, dir, origin, probe: '/', timeoutMs: START_TIMEOUT_MS, log: errors });
  return { origin, errors };
}
