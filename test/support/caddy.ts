// A real Caddy (Debian's package) in front of a labrun server: docs/deploying.md's Caddy example as
// written, with only the site address made plain HTTP on a free loopback port and the upstream port
// changed; its admin endpoint off and its state in a temp dir; stopped after the test.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './nginx.ts';

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
  const proc = spawn(CADDY_PATH, ['run', '--config', file, '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
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
    if (proc.exitCode !== null) throw new Error(`caddy exited with ${proc.exitCode}: ${stderr.slice(-2000)}`);
    if (await fetch(`${origin}/labrun/healthz`).then(() => true, () => false)) return { origin };
    if (Date.now() > deadline) throw new Error(`caddy did not listen on ${origin}: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
