// Issue #2 acceptance, one sandbox: the seed stack runs inside it exactly as the lesson describes
// (embedded DNS, namespaces, routes), then the network_mode "service:" variant; plus the exec,
// terminal and copy plumbing the checker and the terminal rely on.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { DindDriver, innerEngine } from '../../server/sandbox/dind.ts';
import { RELAY_WINDOW_BYTES } from '../../server/sandbox/exec-terminal.ts';
import { SandboxError, type ExecRequest, type ExecResult, type Sandbox } from '../../server/sandbox/sandbox.ts';
import { requireDocker } from '../support/require.ts';

const ROOT = join(import.meta.dirname, '..', '..');
// Shared by the sandbox test files so the golden image state is prepared once, not per file.
const STATE_DIR = join(tmpdir(), 'labrun-test-sandboxes');
const LAB_ID = `test-sandbox-stack-${randomBytes(3).toString('hex')}`;

const driver = new DindDriver({ stateDir: STATE_DIR });
let creating: Promise<Sandbox> | undefined;
let sandbox: Sandbox | undefined;

/** The file's one sandbox, made on first use, with the seed's top-level docker-compose.yaml in its workspace. */
async function getSandbox(): Promise<Sandbox> {
  creating ??= (async () => {
    const files = await mkdtemp(join(tmpdir(), 'labrun-seed-'));
    await copyFile(join(ROOT, 'docker-compose.yaml'), join(files, 'docker-compose.yaml'));
    try {
      sandbox = await driver.create({ labId: LAB_ID, learnerId: 'learner-stack', workspace: 'linuxnetworks', filesDir: files, images: ['nginx:latest'] });
      return sandbox;
    } finally {
      await rm(files, { recursive: true, force: true });
    }
  })();
  return creating;
}

function sb(): Sandbox {
  assert.ok(sandbox, 'the sandbox was not created (see the first failure)');
  return sandbox;
}

async function ok(req: ExecRequest): Promise<ExecResult> {
  const r = await sb().exec(req);
  assert.equal(r.exitCode, 0, `${req.service ?? 'sandbox'}: ${req.argv.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function serviceContainer(service: string): Promise<Docker.ContainerInspectInfo> {
  const inner = innerEngine(sb());
  const [c] = await inner.listContainers({ filters: { label: ['com.docker.compose.project=linuxnetworks', `com.docker.compose.service=${service}`] } });
  assert.ok(c, `no container for service ${service}`);
  return inner.getContainer(c.Id).inspect();
}

/** Distinct network namespaces of processes whose command mentions nginx. */
async function nginxNetNamespaces(): Promise<Set<string>> {
  const r = await ok({ argv: ['lsns', '-t', 'net', '-n', '-o', 'NS,COMMAND'] });
  const rows = r.stdout.split('\n').filter((l) => l.includes('nginx'));
  return new Set(rows.map((l) => l.trim().split(/\s+/)[0] ?? ''));
}

after(async () => {
  await sandbox?.destroy();
  await driver.reap((labels) => labels['labrun.lab'] !== LAB_ID);
});

test("the sandbox holds the lab's nginx:latest (our labrun/nginx:trixie build) under that name only", async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  const inspect = await ok({ argv: ['docker', 'image', 'inspect', '--format', '{{.Id}}', 'nginx:latest'] });
  const host = await new Docker().getImage('labrun/nginx:trixie').inspect();
  assert.equal(inspect.stdout.trim(), host.Id, "inside, nginx:latest is the host's labrun/nginx:trixie, not the host's nginx:latest");
  const tags = await ok({ argv: ['docker', 'images', '--format', '{{.Repository}}:{{.Tag}}'] });
  assert.deepEqual(tags.stdout.trim().split('\n'), ['nginx:latest']);
});

test('docker compose up -d works verbatim inside the sandbox, and the old docker-compose spelling runs the same v2', async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  await ok({ argv: ['docker', 'compose', 'up', '-d'] });
  const ps = await ok({ argv: ['docker-compose', 'ps', '--services', '--filter', 'status=running'] });
  assert.deepEqual(ps.stdout.trim().split('\n').sort(), ['nginx_a', 'nginx_b']);
});

test('nginx_b resolves through 127.0.0.11 to exactly the address the inner engine reports', async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  const b = await serviceContainer('nginx_b');
  const ip = b.NetworkSettings.Networks['linuxnetworks_default']?.IPAddress;
  assert.ok(ip, 'nginx_b has no address on linuxnetworks_default');
  const r = await ok({ service: 'nginx_a', argv: ['nslookup', 'nginx_b', '127.0.0.11'] });
  assert.match(r.stdout, /Server:\s+127\.0\.0\.11/);
  const answer = r.stdout.slice(r.stdout.indexOf('Name:'));
  const addresses = [...answer.matchAll(/Address:\s+(\S+)/g)].map((m) => m[1]);
  assert.deepEqual(addresses, [ip]);
});

test('nginx_a reaches nginx_b by name and uses the embedded DNS server', async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  const page = await ok({ service: 'nginx_a', argv: ['curl', '-s', 'nginx_b'] });
  assert.match(page.stdout, /Welcome to nginx!/);
  const resolv = await ok({ service: 'nginx_a', argv: ['cat', '/etc/resolv.conf'] });
  assert.match(resolv.stdout, /^nameserver 127\.0\.0\.11$/m);
});

test('lsns shows one network namespace per container, and nsenter sees the bridge as default route', async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  assert.equal((await nginxNetNamespaces()).size, 2);
  const a = await serviceContainer('nginx_a');
  const network = await innerEngine(sb()).getNetwork('linuxnetworks_default').inspect();
  const gateway: unknown = network.IPAM?.Config?.[0]?.Gateway;
  assert.equal(typeof gateway, 'string');
  const route = await ok({ argv: ['nsenter', `--net=${a.NetworkSettings.SandboxKey}`, 'ip', 'route'] });
  assert.match(route.stdout, new RegExp(`^default via ${String(gateway).replaceAll('.', '\\.')} `, 'm'));
});

test('exec reports exit codes, keeps stderr apart, caps output and kills on timeout', async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  const fail = await sb().exec({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
  assert.deepEqual([fail.exitCode, fail.stdout, fail.stderr, fail.timedOut], [3, 'out\n', 'err\n', false]);
  const where = await ok({ argv: ['pwd'], env: { GREETING: 'hi' } });
  assert.equal(where.stdout.trim(), '/root/linuxnetworks');
  const env = await ok({ service: 'nginx_a', argv: ['sh', '-c', 'echo $GREETING'], env: { GREETING: 'hi' } });
  assert.equal(env.stdout, 'hi\n');
  const big = await sb().exec({ service: 'nginx_a', argv: ['head', '-c', '100000', '/dev/zero'], maxOutputBytes: 1000 });
  assert.equal(big.stdout.length, 1000);
  assert.equal(big.truncated, true);
  for (const service of [undefined, 'nginx_a']) {
    const slow = await sb().exec({ service, argv: ['sh', '-c', 'sleep 30; echo late'], timeoutMs: 500 });
    assert.equal(slow.timedOut, true, `timeout in ${service ?? 'sandbox'}`);
    assert.equal(slow.exitCode, null);
    assert.equal(slow.stdout, '');
  }
  // The timed-out sleeps are gone, not left running in the sandbox.
  const left = await sb().exec({ argv: ['pgrep', '-x', 'sleep'] });
  assert.equal(left.stdout, '');
});

test("the lesson's tools are on the sandbox's PATH", async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  const tools = ['docker', 'docker-compose', 'ip', 'lsns', 'nsenter', 'nslookup', 'dig', 'curl', 'netstat', 'ps', 'iptables', 'less'];
  const r = await ok({ argv: ['sh', '-c', `for t in ${tools.join(' ')}; do command -v "$t" >/dev/null || echo "missing $t"; done`] });
  assert.equal(r.stdout, '');
  // The machine's own name resolves (an isolated sandbox has no network, so Docker would not list it).
  const sudo = await ok({ argv: ['sudo', '-n', 'true'] });
  assert.equal(sudo.stderr, '', 'sudo complains about nothing (e.g. "unable to resolve host sandbox")');
  const version = await ok({ argv: ['docker', 'compose', 'version'] });
  assert.match(version.stdout, /^Docker Compose version v?2\.\d+/);
  const old = await ok({ argv: ['docker-compose', 'version'] });
  assert.equal(old.stdout, version.stdout, 'docker-compose is the same v2 binary');
  const server = await ok({ argv: ['docker', 'version', '--format', '{{.Server.Version}}'] });
  assert.ok(Number(server.stdout.split('.')[0]) >= 26, `the inner engine is Docker 26 or later, not ${server.stdout.trim()}`);
});

test('exec in a service that is not running fails with a clear error', async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  await assert.rejects(sb().exec({ service: 'nginx_c', argv: ['true'] }), (err: unknown) => {
    assert.ok(err instanceof SandboxError);
    assert.match(err.message, /service nginx_c is not running in project linuxnetworks/);
    return true;
  });
});

test('the terminal is a login shell in the workspace with the sandbox prompt', async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  const pty = sb().openTerminal(100, 30);
  let seen = '';
  pty.onData((d: string | Buffer) => (seen += d.toString()));
  t.after(() => pty.kill());
  pty.write('echo "at:$PWD:$TERM"\r');
  for (let i = 0; i < 100 && !seen.includes('at:/root/linuxnetworks:xterm-256color'); i++) await sleep(100);
  assert.match(seen, /at:\/root\/linuxnetworks:xterm-256color/);
  assert.match(seen, /root@sandbox/);
  // Killing the pty (the docker CLI) must end the shell inside too, or every reconnect leaks one.
  pty.kill();
  let shells = '';
  for (let i = 0; i < 50; i++) {
    shells = (await sb().exec({ argv: ['pgrep', '-x', 'bash'] })).stdout;
    if (shells === '') break;
    await sleep(100);
  }
  assert.equal(shells, '', 'the terminal shell still runs in the sandbox after the pty was killed');
});

test('Ctrl-C under yes while the terminal is paused: the prompt follows within the relay window, not the engine buffers', async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  const pty = sb().openTerminal(80, 24);
  let seen = '';
  let bytes = 0;
  pty.onData((d: string | Buffer) => {
    bytes += d.length;
    seen = (seen + d.toString()).slice(-4096);
  });
  const flushes: number[] = [];
  pty.onFlush?.((keep) => flushes.push(keep));
  t.after(() => pty.kill());
  pty.write("PS1='PROMPT> '\r");
  for (let i = 0; i < 100 && !seen.endsWith('PROMPT> '); i++) await sleep(100);
  pty.write('yes\r');
  await sleep(300);
  // A page that fell behind: nothing is read for a while, so everything between the shell and here fills.
  pty.pause();
  await sleep(700);
  const atKey = bytes;
  pty.write('\x03');
  await sleep(100);
  pty.resume();
  for (let i = 0; i < 100 && !seen.endsWith('PROMPT> '); i++) await sleep(50);
  assert.ok(seen.endsWith('PROMPT> '), `no prompt after Ctrl-C; output ends ${JSON.stringify(seen.slice(-100))}`);
  // The engine's own TTY exec held ~1.3 MB here; what is left is the window and the pty's few kB.
  const after = bytes - atKey;
  assert.ok(after <= RELAY_WINDOW_BYTES + 64 * 1024, `${after} bytes came between Ctrl-C and the prompt`);
  // The kernel's flush on the interrupt reached this side as a cut, so the page can drop its stale rest.
  assert.ok(flushes.length >= 1, 'no flush was reported after Ctrl-C');
});

test('network_mode "service:nginx_a": one namespace for both, 9080 published through nginx_a', async (t) => {
  if (!requireDocker(t)) return;
  await getSandbox();
  await ok({ argv: ['docker', 'compose', 'down'] });
  await sb().copyIn(join(ROOT, 'test', 'fixtures', 'netsvc'), sb().workspacePath);
  await ok({ argv: ['docker', 'compose', '-f', 'docker-compose-netsvc.yaml', 'up', '-d'] });
  assert.equal((await nginxNetNamespaces()).size, 1);
  const b = await serviceContainer('nginx_b');
  assert.equal(b.NetworkSettings.Networks['linuxnetworks_default'], undefined);
  // nginx needs a moment after `up` returns before it listens.
  let page: ExecResult | undefined;
  for (let i = 0; i < 50; i++) {
    page = await sb().exec({ argv: ['curl', '-s', 'localhost:9080'] });
    if (page.exitCode === 0) break;
    await sleep(100);
  }
  assert.match(page?.stdout ?? '', /Welcome to nginx!/);
});
