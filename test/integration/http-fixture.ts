// Shared by the web app's integration and e2e tests: a temporary labs folder (short path: the sandbox
// driver puts unix sockets under the data folder, and sun_path holds only 107 bytes) with one small lab
// (unique id per call, so its sandboxes can be found and removed by label without touching anyone
// else's), a server on port 0, and cookie-carrying request helpers.
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { DindDriver } from '../../server/sandbox/dind.ts';
import { LABEL } from '../../server/sandbox/naming.ts';
import { SandboxError, type SandboxDriver } from '../../server/sandbox/sandbox.ts';
import { parseConfig, type ServerConfig } from '../../server/config.ts';
import { createServer, type ServerHandle } from '../../server/http/app.ts';

export const TOKEN = 'test-token-0123456789abcdef';

export interface Fixture {
  labId: string;
  labsDir: string;
  dataDir: string;
  config: ServerConfig;
}

const STEP_ONE = `---
title: Say hello
hints:
  - The Run button types the command for you.
checks:
  - name: greeting.txt says hello
    run: cat greeting.txt
    expect:
      - exitCode: 0
      - stdout: { contains: hello }
    hint: Create greeting.txt with the command above.
---
Write a file in your workspace. <script>window.pwned = 1</script>

<img src="data:," onerror="window.pwned = 2">

\`\`\`bash run
echo hello > greeting.txt && echo wrote-$((20+22))
\`\`\`

Then press **Check**.
`;

const STEP_TWO = `---
title: Name the workspace
questions:
  - id: folder
    prompt: Which folder is your shell in?
checks:
  - name: the answer names the workspace
    run: pwd
    expect:
      - stdout: { contains: "/root/" }
---
Run \`pwd\`.

\`\`\`bash
pwd
\`\`\`
`;

/** The close of every server started on a fixture, so that its cleanup can close them first. */
const serverCloses = new WeakMap<Fixture, Array<() => Promise<void>>>();

/**
 * Removes the fixture's folder after the test, but first every sandbox of its lab: an isolated
 * sandbox's disk is mounted inside the data folder, and a recursive delete would walk into it.
 * After-hooks run in the order they were added, so this one would run before the server's own: it
 * closes the fixture's servers first, or a server still starting a sandbox mounts a disk behind the
 * reap (rmdir then failed with EBUSY).
 */
function cleanUpAfter(t: TestContext, root: string, fx: Fixture): Fixture {
  t.after(async () => {
    for (const close of serverCloses.get(fx) ?? []) await close();
    await reapFixtureSandboxes(fx);
    rmSync(root, { recursive: true, force: true });
  });
  return fx;
}

/** Writes a temp labs folder with one lab; removed after the test. `args` are more `labrun serve` options (e.g. `--pids 256`). */
export function makeFixture(t: TestContext, args: string[] = []): Fixture {
  const root = mkdtempSync(path.join(tmpdir(), 'lrw-'));
  const labId = `web-fixture-${randomBytes(3).toString('hex')}`;
  const lab = path.join(root, 'labs', labId);
  mkdirSync(path.join(lab, 'steps'), { recursive: true });
  mkdirSync(path.join(lab, 'files'), { recursive: true });
  writeFileSync(
    path.join(lab, 'lab.yaml'),
    `title: Web fixture lab\nsummary: A tiny lab the web app's tests drive.\nminutes: 5\nworkspace: webfix\n`,
  );
  writeFileSync(path.join(lab, 'files', 'docker-compose.yaml'), 'services:\n  web:\n    image: nginx:latest\n');
  writeFileSync(path.join(lab, 'steps', '01-hello.md'), STEP_ONE);
  writeFileSync(path.join(lab, 'steps', '02-where.md'), STEP_TWO);
  const labsDir = path.join(root, 'labs');
  const dataDir = path.join(root, 'data');
  const config = parseConfig(['--port', '0', '--labs', labsDir, '--data', dataDir, '--token', TOKEN, ...args], {});
  return cleanUpAfter(t, root, { labId, labsDir, dataDir, config });
}

/** A copy of a real lab under a unique id, so its sandboxes can be reaped by label. */
export function copyLab(t: TestContext, sourceDir: string): Fixture {
  const root = mkdtempSync(path.join(tmpdir(), 'lrw-'));
  const labId = `${path.basename(sourceDir)}-${randomBytes(3).toString('hex')}`;
  const labsDir = path.join(root, 'labs');
  cpSync(sourceDir, path.join(labsDir, labId), { recursive: true });
  const dataDir = path.join(root, 'data');
  const config = parseConfig(['--port', '0', '--labs', labsDir, '--data', dataDir, '--token', TOKEN], {});
  return cleanUpAfter(t, root, { labId, labsDir, dataDir, config });
}

/**
 * For tests that must start no sandbox (a class learner's join asks for one): creating fails at once,
 * so the session is 'failed' and nothing touches Docker.
 */
export const NO_SANDBOXES: SandboxDriver = {
  create: () => Promise.reject(new SandboxError('this test starts no sandboxes', 'use the Docker driver in tests that need one')),
  adoptExisting: () => Promise.resolve([]),
};

/**
 * Starts a server on the fixture. Adoption is off by default: each test starts from no sandbox (the
 * driver adopts only sandboxes of its own data folder, so turning it on is safe on a shared engine).
 * Closes the server after the test and, if asked, removes this lab's sandboxes.
 */
export async function startServer(
  t: TestContext,
  fx: Fixture,
  opts: { reapSandboxes?: boolean; driver?: SandboxDriver; adopt?: boolean } = {},
): Promise<ServerHandle> {
  const server = await createServer(fx.config, { adopt: opts.adopt ?? false, log: () => {}, ...(opts.driver && { driver: opts.driver }) });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= server.close());
  serverCloses.set(fx, [...(serverCloses.get(fx) ?? []), close]);
  t.after(async () => {
    await close();
    if (opts.reapSandboxes) await reapFixtureSandboxes(fx);
  });
  return server;
}

/** Removes every sandbox of the fixture's lab (by label); for tests that started one. */
export async function reapFixtureSandboxes(fx: Fixture): Promise<void> {
  // On both engines: a fixture may run trusted sandboxes (host engine) as well as isolated ones.
  for (const isolation of ['isolated', 'trusted'] as const) {
    const driver = new DindDriver({ stateDir: path.join(fx.dataDir, 'sandboxes'), isolation });
    await driver.reap((labels) => labels[LABEL.lab] !== fx.labId);
  }
}

/** Signs in like a browser following the printed URL; returns the Cookie header value. */
export async function signIn(url: string): Promise<string> {
  const res = await fetch(`${url}/?token=${TOKEN}`, { redirect: 'manual' });
  const setCookie = res.headers.get('set-cookie');
  if (res.status !== 303 || !setCookie) throw new Error(`sign-in failed: ${res.status}`);
  return setCookie.split(';')[0] ?? '';
}

/** A JSON request as a browser on the server's own origin would send it; returns status and parsed body. */
export async function call(
  url: string,
  cookie: string | undefined,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; setCookie: string | null }> {
  const res = await fetch(url + route, {
    method,
    headers: { ...(cookie && { cookie }), origin: url, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    redirect: 'manual',
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, setCookie: res.headers.get('set-cookie') };
}

/** Joins a class by its code like a new browser would; returns the learner's id and Cookie header value. */
export async function joinClass(url: string, code: string, name: string): Promise<{ id: string; cookie: string }> {
  const res = await call(url, undefined, 'POST', `/api/join/${code}`, { name });
  if (res.status !== 201) throw new Error(`join failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: field(res.body, 'learnerId'), cookie: (res.setCookie ?? '').split(';')[0] ?? '' };
}

/** The value of a string field of an unknown JSON body; throws naming the field when absent. */
export function field(body: unknown, name: string): string {
  if (typeof body === 'object' && body !== null && name in body) {
    const v: unknown = Reflect.get(body, name);
    if (typeof v === 'string') return v;
  }
  throw new Error(`no string '${name}' in ${JSON.stringify(body)}`);
}
