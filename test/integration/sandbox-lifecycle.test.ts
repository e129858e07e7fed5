// Sandbox lifecycle on the default (isolated) level: destroy leaves nothing behind (container, disk
// image, its mount, socket folder), a restarted server (a second driver)
// re-adopts a sandbox even after its daemon was killed, reap removes everything, and a sandbox that
// never becomes ready fails with an error a person can act on, leaving nothing behind either.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DindDriver } from '../../server/sandbox/dind.ts';
import { resourceName } from '../../server/sandbox/naming.ts';
import { SandboxError, type Sandbox } from '../../server/sandbox/sandbox.ts';
import { requireDocker } from '../support/require.ts';

const LAB_ID = `test-sandbox-lifecycle-${randomBytes(3).toString('hex')}`;
let stateDir = '';

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'labrun-lc-'));
});

after(async () => {
  await new DindDriver({ stateDir }).reap((labels) => labels['labrun.lab'] !== LAB_ID);
  await rm(stateDir, { recursive: true, force: true });
});

/** How long a killed daemon may take to stop answering. */
const DAEMON_GONE_MS = 15_000;

const spec = { labId: LAB_ID, learnerId: 'learner-lc', workspace: 'lifecycle', images: [] };

const engine = new DindDriver({ stateDir: tmpdir() }).engine;

/** Everything on the sandbox engine that carries this file's lab label, and every disk or mount left in stateDir. */
async function leftovers(): Promise<string[]> {
  const filters = { label: [`labrun.lab=${LAB_ID}`] };
  const [containers, volumes, networks] = await Promise.all([
    engine.listContainers({ all: true, filters }),
    engine.listVolumes({ filters }),
    engine.listNetworks({ filters }),
  ]);
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(stateDir));
  const disks = await readdir(join(stateDir, 'disks')).catch(() => []);
  return [
    ...containers.map((c) => `container ${c.Names[0] ?? c.Id}`),
    ...(volumes.Volumes ?? []).map((v) => `volume ${v.Name}`),
    ...networks.map((n) => `network ${n.Name}`),
    ...mounts.map((m) => `mount ${m.split(' ')[4] ?? m}`),
    ...disks.map((d) => `disk ${d}`),
  ];
}

async function gone(path: string): Promise<boolean> {
  return access(path).then(
    () => false,
    () => true,
  );
}

test('destroy removes container, disk image, its mount and socket folder, and can be called twice', async (t) => {
  if (!requireDocker(t)) return;
  const driver = new DindDriver({ stateDir });
  const sb = await driver.create(spec);
  assert.deepEqual(
    (await leftovers()).sort(),
    [`container /${resourceName(sb.id)}`, `mount ${join(stateDir, 'disks', sb.id)}`, `disk ${sb.id}`, `disk ${sb.id}.img`].sort(),
  );
  assert.equal(await sb.isHealthy(), true);
  await sb.destroy();
  await sb.destroy();
  assert.deepEqual(await leftovers(), []);
  assert.equal(await gone(join(stateDir, sb.id)), true);
  assert.equal(await sb.isHealthy(), false);
});

/** Ways a sandbox's daemon dies: with its whole container (the machine stopped), or alone (killed inside). */
const KILLS: [string, (sb: Sandbox) => Promise<void>][] = [
  // As when the machine stops: the sandbox container is killed, leaving it Exited (137).
  ['the whole container', (sb) => engine.getContainer(resourceName(sb.id)).kill().then(() => undefined)],
  // Only the inner dockerd (root in the sandbox can): the exec may die with it, so its result is moot.
  ['only the inner dockerd', (sb) => sb.exec({ argv: ['pkill', '-KILL', '-x', 'dockerd'] }).then(() => undefined, () => undefined)],
];

for (const [what, kill] of KILLS) {
  test(`a second driver adopts a sandbox after killing ${what}, and reap removes it`, async (t) => {
    if (!requireDocker(t)) return;
    const first = await new DindDriver({ stateDir }).create(spec);
    let adopted: Sandbox | undefined;
    try {
      const wrote = await first.exec({ argv: ['sh', '-c', 'echo kept > note.txt'] });
      assert.equal(wrote.exitCode, 0, wrote.stderr);
      await kill(first);
      const deadline = Date.now() + DAEMON_GONE_MS;
      while ((await first.isHealthy()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      assert.equal(await first.isHealthy(), false, `the daemon still answers after killing ${what}`);
      const second = new DindDriver({ stateDir });
      adopted = (await second.adoptExisting()).find((s) => s.id === first.id);
      assert.ok(adopted, 'the sandbox was not adopted');
      assert.deepEqual([adopted.labId, adopted.learnerId, adopted.workspacePath], [LAB_ID, 'learner-lc', '/root/lifecycle']);
      assert.equal(adopted.createdAt.toISOString(), first.createdAt.toISOString());
      const read = await adopted.exec({ argv: ['cat', 'note.txt'] });
      assert.equal(read.stdout, 'kept\n');
      const inner = await adopted.exec({ argv: ['docker', 'info', '--format', '{{.ServerVersion}}'] });
      assert.equal(inner.exitCode, 0, inner.stderr);
      assert.equal(await second.reap((labels) => labels['labrun.lab'] !== LAB_ID), 1);
      assert.deepEqual(await leftovers(), []);
      assert.equal(await gone(join(stateDir, first.id)), true);
    } finally {
      await first.destroy();
    }
  });
}

function assertClearError(err: unknown, pattern: RegExp): true {
  assert.ok(err instanceof SandboxError, `expected a SandboxError, got ${String(err)}`);
  assert.match(err.message, pattern);
  assert.ok(err.hint.length > 0, 'the error says what to do');
  return true;
}

test('a daemon that does not answer in time fails with a SandboxError naming the container, leaving nothing', async (t) => {
  if (!requireDocker(t)) return;
  const driver = new DindDriver({ stateDir, readyTimeoutMs: 1 });
  await assert.rejects(driver.create(spec), (err) => assertClearError(err, /Docker daemon in sandbox container labrun-sb-\w+ did not answer within 1 ms/));
  assert.deepEqual(await leftovers(), []);
});

test('a sandbox whose entrypoint exits fails with a SandboxError, leaving nothing', async (t) => {
  if (!requireDocker(t)) return;
  // The plain Debian base has no dockerd: its command exits at once, long before the ready timeout.
  const driver = new DindDriver({ stateDir, image: 'labrun/debian:trixie' });
  await assert.rejects(driver.create(spec), (err) => assertClearError(err, /sandbox container labrun-sb-\w+ stopped \(exit code \d+\) before its Docker daemon answered/));
  assert.deepEqual(await leftovers(), []);
});

test('a lab image missing on the host fails with a SandboxError saying how to get it, leaving nothing', async (t) => {
  if (!requireDocker(t)) return;
  const driver = new DindDriver({ stateDir });
  await assert.rejects(driver.create({ ...spec, images: ['labrun/no-such-image:1'] }), (err) =>
    assertClearError(err, /image labrun\/no-such-image:1 is not on this Docker host/),
  );
  assert.deepEqual(await leftovers(), []);
});

test('exec in a sandbox that has been removed fails with a SandboxError, not a raw engine error', async (t) => {
  if (!requireDocker(t)) return;
  const sb = await new DindDriver({ stateDir }).create(spec);
  await sb.destroy();
  await assert.rejects(sb.exec({ argv: ['true'] }), (err) => assertClearError(err, new RegExp(`sandbox ${resourceName(sb.id)} is not running`)));
  await assert.rejects(sb.exec({ service: 'web', argv: ['true'] }), (err) => assertClearError(err, /is not running/));
});
