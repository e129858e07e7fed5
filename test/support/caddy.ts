// A real Caddy (Debian's package) in front of a labrun server: docs/deploying.md's Caddy example as
// written, with only the site address made plain HTTP on a free loopback port and the upstream port
// changed; its admin endpoint off and its state in a temp dir; stopped after the test.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './free-port.ts';
import { startProxyProcess } from './proxy-process.ts';

export const CADDY_PATH = process.env.LABRUN_CADDY ?? '/usr/bin/caddy';
const START_TIMEOUT_MS = 15_000;

/** The first ```caddy block of docs/deploying.md. */
export function documentedCaddyfile(): string {
  const m = /```caddy\n([\s\S]*?)```/.exec(readFileSync(path.resolve('docs/deploying.md'), 'utf8'));
  if (!m?.[1]) throw new Error('no caddy block in docs/deploying.md');
  return m[1];
}

export async function startCaddy(t: TestContext, upstreamPort: number): Promise<{ origin: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrcaddy-'));
  const port = await freePort();
  const site = documentedCaddyfile()
    .replace(/^labs\.example\.edu \{$/m, `http://127.0.0.1:${port} {`)
    .replace(/reverse_proxy 127\.0\.0\.1:3000/g, `reverse_proxy 127.0.0.1:${upstreamPort}`);
  if (!site.includes(`127.0.0.1:${port}`) || !site.includes(`127.0.0.1:${upstreamPort}`)) throw new Error('the documented Caddyfile no longer has the lines the test changes');
  const file = path.join(dir, 'Caddyfile');
  writeFileSync(file, `{\n\tadmin off\n}\n\n${site}`);
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
  const origin = `http://127.0.0.1:${port}`;
  const args = ['run', '--config', file, '--adapter', 'caddyfile'];
  await startProxyProcess(t, { name: 'caddy', command: CADDY_PATH, args, env, dir, origin, probe: '/labrun/healthz', timeoutMs: START_TIMEOUT_MS });
  return { origin };
}
