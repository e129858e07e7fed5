// A reverse proxy (nginx, Caddy) run as a child process for one test: a free loopback port to listen
// on, started with its state in a temp dir, waited for until it answers, and stopped (and its folder
// removed) after the test.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { TestContext } from 'node:test';

export interface ProxyProcess {
  /** For failure messages: `nginx`, `caddy`. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** The proxy's temp dir, removed after the test. */
  dir: string;
  /** http://127.0.0.1:<port> it listens on. */
  origin: string;
  /** Path under `origin` that answers once the proxy is up. */
  probe: string;
  timeoutMs: number;
  /** The proxy's own log so far, added to its stderr in failure messages. */
  log?: () => string;
}

/** Spawns the proxy and resolves once `origin + probe` answers; fails if it exits or never does. */
export async function startProxyProcess(t: TestContext, p: ProxyProcess): Promise<void> {
  const proc = spawn(p.command, p.args, { env: p.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.after(async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
    rmSync(p.dir, { recursive: true, force: true });
  });
  const output = (): string => `${stderr}${p.log?.() ?? ''}`.slice(-2000);
  const deadline = Date.now() + p.timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${p.name} exited with ${proc.exitCode}: ${output()}`);
    if (await fetch(`${p.origin}${p.probe}`).then(() => true, () => false)) return;
    if (Date.now() > deadline) throw new Error(`${p.name} did not listen on ${p.origin} within ${p.timeoutMs} ms: ${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
