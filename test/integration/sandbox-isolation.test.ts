// Two trusted-level sandboxes side by side (the isolated level has no outer network at all; the
// escape suite covers it): both publish 8080 without conflict, neither reaches the other's containers
// over its bridge network, and neither can talk to the host's Docker daemon.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DindDriver, innerEngine } from '../../server/sandbox/dind.ts';
import { resourceName } from '../../server/sandbox/naming.ts';
import type { ExecRequest, ExecResult, Sandbox } from '../../server/sandbox/sandbox.ts';
import { requireDocker } from '../support/require.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const STATE_DIR = join(tmpdir(), 'labrun-test-sandboxes');
const LAB_ID = `test-sandbox-isolation-${randomBytes(3).toString('hex')}`;
const MARKER = `sandbox-b-${randomBytes(4).toString('hex')}`;

const host = new Docker();
const driver = new DindDriver({ stateDir: STATE_DIR, isolation: 'trusted' });
let pair: Promise<[Sandbox, Sandbox]> | undefined;
const made: Sandbox[] = [];

async function ok(sb: Sandbox, req: ExecRequest): Promise<ExecResult> {
  const r = await sb.exec(req);
  assert.equal(r.exitCode, 0, `${req.service ?? 'sandbox'}: ${req.argv.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Two sandboxes with the seed stack up in each; B's nginx_a serves a marker page so A can tell them apart. */
function getPair(): Promise<[Sandbox, Sandbox]> {
  pair ??= (async () => {
    const files = await mkdtemp(join(tmpdir(), 'labrun-seed-'));
    await copyFile(join(ROOT, 'docker-compose.yaml'), join(files, 'docker-compose.yaml'));
    try {
      const create = async (learnerId: string) => {
        const sb = await driver.create({ labId: LAB_ID, learnerId, workspace: 'linuxnetworks', filesDir: files, images: ['nginx:latest'] });
        made.push(sb);
        return sb;
      };
      const [a, b] = await Promise.all([create('learner-a'), create('learner-b')]);
      await Promise.all([ok(a, { argv: ['docker', 'compose', 'up', '-d'] }), ok(b, { argv: ['docker', 'compose', 'up', '-d'] })]);
      await ok(b, { service: 'nginx_a', argv: ['sh', '-c', `echo ${MARKER} > /usr/share/nginx/html/index.html`] });
      return [a, b];
    } finally {
      await rm(files, { recursive: true, force: true });
    }
  })();
  return pair;
}

after(async () => {
  await Promise.all(made.map((sb) => sb.destroy()));
  await driver.reap((labels) => labels['labrun.lab'] !== LAB_ID);
});

async function outerIp(sb: Sandbox): Promise<string> {
  const info = await host.getContainer(resourceName(sb.id)).inspect();
  const ip = info.NetworkSettings.Networks[resourceName(sb.id)]?.IPAddress;
  assert.ok(ip, `sandbox ${sb.id} has no address on its network`);
  return ip;
}

test('both sandboxes publish 8080 at once, each serving its own stack', async (t) => {
  if (!requireDocker(t)) return;
  const [a, b] = await getPair();
  const pageA = await ok(a, { argv: ['curl', '-s', 'localhost:8080'] });
  assert.match(pageA.stdout, /Welcome to nginx!/);
  const pageB = await ok(b, { argv: ['curl', '-s', 'localhost:8080'] });
  assert.equal(pageB.stdout.trim(), MARKER);
});

test("a sandbox cannot reach the other sandbox or the other's containers", async (t) => {
  if (!requireDocker(t)) return;
  const [a, b] = await getPair();
  const bOuter = await outerIp(b);
  // Control: B's published port answers from the host, so A's failure below is isolation, not a dead port.
  const fromHost = await fetch(`http://${bOuter}:8080/`, { signal: AbortSignal.timeout(5_000) });
  assert.equal((await fromHost.text()).trim(), MARKER);
  const viaOuter = await a.exec({ argv: ['curl', '-s', '-m', '3', `http://${bOuter}:8080/`] });
  assert.notEqual(viaOuter.exitCode, 0, `A reached B at ${bOuter}:8080: ${viaOuter.stdout}`);
  const bNginx = await innerEngine(b).listContainers({ filters: { label: ['com.docker.compose.service=nginx_a'] } });
  const bInnerIp = bNginx[0]?.NetworkSettings.Networks['linuxnetworks_default']?.IPAddress;
  assert.ok(bInnerIp, "B's nginx_a has no inner address");
  // Both inner daemons use the same ranges, so B's inner address may exist in A too: but never as B's page.
  const viaInner = await a.exec({ argv: ['curl', '-s', '-m', '3', `http://${bInnerIp}/`] });
  assert.doesNotMatch(viaInner.stdout, new RegExp(MARKER));
});

test("neither sandbox sees the host's Docker daemon", async (t) => {
  if (!requireDocker(t)) return;
  const hostId = (await host.info()).ID;
  const ids = new Set<string>([hostId]);
  for (const sb of await getPair()) {
    const info = await host.getContainer(resourceName(sb.id)).inspect();
    for (const m of info.Mounts) assert.doesNotMatch(m.Source ?? '', /docker\.sock$/, `host socket mounted into ${sb.id}`);
    const inner = await ok(sb, { argv: ['docker', '-H', 'unix:///var/run/docker.sock', 'info', '--format', '{{.ID}}'] });
    ids.add(inner.stdout.trim());
    assert.equal(inner.stdout.trim(), (await innerEngine(sb).info()).ID);
  }
  assert.equal(ids.size, 3, 'each sandbox talks to its own daemon, distinct from the host and from each other');
});

test('the golden image state shared by all sandboxes is unmounted once a sandbox is seeded', async (t) => {
  if (!requireDocker(t)) return;
  for (const sb of await getPair()) {
    const mounted = await sb.exec({ argv: ['mountpoint', '-q', '/labrun/golden'] });
    assert.notEqual(mounted.exitCode, 0, `/labrun/golden is still mounted in ${sb.id}`);
    assert.equal((await ok(sb, { argv: ['docker', 'image', 'ls', '-q', 'nginx:latest'] })).stdout.trim().length > 0, true);
  }
});

test("each sandbox's containerd starts after its golden copy is in place, with dockerd's settings, not the distribution's", async (t) => {
  if (!requireDocker(t)) return;
  for (const sb of await getPair()) {
    // The copy overwrites containerd's metadata database: copied under a running containerd, it
    // replaced the database containerd had open and mapped, and the sandbox's dockerd at times never came up.
    const seeded = await ok(sb, { argv: ['stat', '-c', '%.9Y', '/var/lib/docker/.labrun-seeded'] });
    const logs = (await host.getContainer(resourceName(sb.id)).logs({ stdout: true, stderr: true, follow: false })).toString('latin1');
    const started = /time="([^"]+)" level=info msg="starting containerd"/.exec(logs)?.[1];
    assert.ok(started, `no containerd start in the logs of ${sb.id}`);
    assert.ok(Number(seeded.stdout) * 1000 <= Date.parse(started), `${sb.id}: golden copy finished at ${seeded.stdout.trim()}, after containerd started at ${started}`);
    const plugins = await ok(sb, { argv: ['ctr', '--address', '/run/docker/containerd/containerd.sock', 'plugins', 'ls'] });
    assert.match(plugins.stdout, /io\.containerd\.metadata\.v1\s+bolt\s/);
    assert.doesNotMatch(plugins.stdout, /io\.containerd\.grpc\.v1\s+cri\s/, `${sb.id}'s containerd runs the Kubernetes CRI service`);
  }
});
