// The whole web app on port 0 with the in-memory sandbox driver and one fixture lab: HTTP routes and
// WebSocket upgrades exercised without Docker. Returns the owner's cookie (from the token exchange).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { parseConfig } from '../../server/config.ts';
import { createServer } from '../../server/http/app.ts';
import { FakeDriver } from './fake-driver.ts';

const TOKEN = 'unit-token-0123456789abcdef';
export const FAKE_LAB = 'declared-pass';

/** `extraArgs` are more `labrun serve` options (e.g. --base-path); the URL returned includes the base path. */
export async function startFakeServer(t: TestContext, extraArgs: string[] = []) {
  const root = mkdtempSync(path.join(tmpdir(), 'lru-'));
  cpSync(path.resolve(import.meta.dirname, '../fixtures/labs', FAKE_LAB), path.join(root, 'labs', FAKE_LAB), { recursive: true });
  const config = parseConfig(['--port', '0', '--labs', path.join(root, 'labs'), '--data', path.join(root, 'data'), '--token', TOKEN, ...extraArgs], {});
  const driver = new FakeDriver();
  const server = await createServer(config, { driver, adopt: false, log: () => {} });
  t.after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });
  const res = await fetch(`${server.url}/?token=${TOKEN}`, { redirect: 'manual' });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { server, driver, cookie, ws: server.url.replace('http', 'ws'), dataDir: path.join(root, 'data') };
}
