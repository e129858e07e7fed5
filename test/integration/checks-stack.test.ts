// The checker against a real sandbox running the seed stack, broken on purpose: the happy path passes;
// with nginx_b stopped, `resolves`/`running` fail and say it is not running; with nginx_b moved off
// the default network, `resolves` fails saying they share no network; with nginx_b in nginx_a's
// namespace, it says nginx_b has no IP of its own. And a seed step that asks questions hides what its
// checks saw until the answers are right. One sandbox for the whole file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLab, type Lab, type Step } from '../../server/labs/catalog.ts';
import { CheckSchema } from '../../server/labs/schema.ts';
import { liveAnswers, runStepChecks, type CheckResult } from '../../server/checks/run-step.ts';
import { DindDriver, innerEngine } from '../../server/sandbox/dind.ts';
import type { ExecRequest, Sandbox } from '../../server/sandbox/sandbox.ts';
import { requireDocker } from '../support/require.ts';

// Shared with the other sandbox test files so preloaded images are prepared once.
const STATE_DIR = join(tmpdir(), 'labrun-test-sandboxes');

let lab: Lab;
let sandbox: Sandbox | undefined;

before(async () => {
  const r = await loadLab('labs/linux-networks');
  assert.ok(r.lab, r.issues.map((i) => i.message).join('\n'));
  lab = r.lab;
});

after(async () => {
  await sandbox?.destroy();
});

async function sb(): Promise<Sandbox> {
  sandbox ??= await new DindDriver({ stateDir: STATE_DIR }).create({
    labId: lab.id,
    learnerId: 'test-checks-stack',
    workspace: lab.workspace,
    filesDir: lab.filesDir,
    images: lab.images,
  });
  return sandbox;
}

async function sh(script: string, req: Partial<ExecRequest> = {}): Promise<void> {
  const r = await (await sb()).exec({ argv: ['bash', '-lc', script], timeoutMs: 120_000, ...req });
  assert.equal(r.exitCode, 0, `${script}\n${r.stdout}\n${r.stderr}`);
}

/** A one-off step holding the given checks (parsed like frontmatter, so they are valid lab checks). */
function stepWith(checks: unknown[]): Step {
  return { id: 'adhoc', index: 0, title: 'adhoc', html: '', hints: [], questions: [{ id: 'ip', prompt: 'IP?' }], checks: checks.map((c) => CheckSchema.parse(c)), file: 'adhoc.md' };
}

const resolvesByOutput = { name: 'nslookup nginx_b', service: 'nginx_a', run: 'nslookup nginx_b 127.0.0.11', expect: [{ resolves: { name: 'nginx_b' } }] };
const resolvesByProbe = { name: 'getent nginx_b', expect: [{ resolves: { name: 'nginx_b', from: 'nginx_a' } }] };
const bRunning = { name: 'nginx_b up', expect: [{ running: { service: 'nginx_b' } }] };
const reach = { name: 'curl nginx_b', expect: [{ reachable: { from: 'nginx_a', to: 'nginx_b', port: 80, body: { contains: 'Welcome to nginx!' } } }] };
const answer = { name: 'answer', expect: [{ answer: { question: 'ip', equals: { ipOf: 'nginx_b' } } }] };

function reasons(c: CheckResult | undefined): string {
  assert.ok(c);
  return [c.error ?? '', ...c.expectations.map((o) => o.reason)].join(' | ');
}

test('happy path: the seed stack up, every check passes with evidence', async (t) => {
  if (!requireDocker(t)) return;
  await sh('docker compose up -d');
  const facts = innerEngine(await sb());
  const [b] = await facts.listContainers({ filters: { label: ['com.docker.compose.service=nginx_b'] } });
  assert.ok(b);
  const ip = (await facts.getContainer(b.Id).inspect()).NetworkSettings.Networks['linuxnetworks_default']?.IPAddress ?? '';
  assert.match(ip, /^10\.201\./);

  const r = await runStepChecks(await sb(), lab, stepWith([resolvesByOutput, resolvesByProbe, bRunning, reach, answer]), { ip });
  assert.equal(r.passed, true, JSON.stringify(r, null, 1));
  const [byOutput, byProbe] = r.checks;
  assert.equal(byOutput?.where, 'service nginx_a');
  assert.equal(byOutput?.command, 'nslookup nginx_b 127.0.0.11');
  assert.match(byOutput?.stdout ?? '', new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
  assert.match(byOutput?.expectations[0]?.reason ?? '', /the address Docker gave it/);
  assert.deepEqual(byProbe?.probes, ['getent hosts nginx_b in nginx_a']);
  // A result crosses HTTP as JSON: nothing in it may be lost on the way.
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);

  const wrong = await runStepChecks(await sb(), lab, stepWith([answer]), { ip: '10.9.9.9' });
  assert.equal(wrong.passed, false);
  assert.equal(reasons(wrong.checks[0]), ' | 10.9.9.9 is not the IP of nginx_b on linuxnetworks_default');
});

test('a seed step that asks questions: wrong answers show nothing the checks saw; answers as copied pass', async (t) => {
  if (!requireDocker(t)) return;
  await sh('docker compose up -d');
  const step = lab.steps.find((s) => s.id === 'inside-the-namespace');
  assert.ok(step);
  const live = await liveAnswers(await sb(), lab, step);
  assert.deepEqual(Object.keys(live).sort(), ['dns_port', 'gateway', 'peer_ifindex']);
  assert.match(live.dns_port ?? '', /^\d+$/);
  assert.match(live.gateway ?? '', /^10\.201\.\d+\.1$/);

  const wrong = await runStepChecks(await sb(), lab, step, { peer_ifindex: '99999', gateway: '10.9.9.9', dns_port: '1' });
  assert.equal(wrong.passed, false);
  for (const c of wrong.checks) {
    assert.equal(c.passed, false, c.name);
    assert.equal(c.stdout, '', `${c.name}: the output holds the answers`);
    const shown = JSON.stringify(c.expectations);
    for (const v of [live.gateway ?? '', live.dns_port ?? '']) assert.ok(!shown.includes(v), `${c.name} reveals ${v}: ${shown}`);
  }

  // As a learner copies them: the gateway with a prefix length, the port with its address, eth0@ifNN.
  const copied = { gateway: ` ${live.gateway}/24`, dns_port: `127.0.0.11:${live.dns_port}`, peer_ifindex: `eth0@if${live.peer_ifindex}` };
  const right = await runStepChecks(await sb(), lab, step, copied);
  assert.equal(right.passed, true, JSON.stringify(right, null, 1));
  assert.match(right.checks[2]?.stdout ?? '', /127\.0\.0\.11:\d+ .*dockerd/);
});

test('nginx_b stopped: resolves and running fail and say it is not running', async (t) => {
  if (!requireDocker(t)) return;
  await sh('docker compose up -d && docker compose stop nginx_b');
  const r = await runStepChecks(await sb(), lab, stepWith([resolvesByOutput, resolvesByProbe, bRunning, reach]));
  assert.equal(r.passed, false);
  const [byOutput, byProbe, running, reachable] = r.checks;
  assert.equal(byOutput?.passed, false);
  assert.match(reasons(byOutput), /nginx_b is exited, not running: Docker's DNS only answers for running containers/);
  assert.match(reasons(byProbe), /nginx_b is exited, not running/);
  assert.equal(running?.passed, false);
  assert.match(reasons(running), /nginx_b is exited, not running \(container linuxnetworks-nginx_b-1\)/);
  assert.equal(reachable?.passed, false);
  assert.match(reasons(reachable), /nginx_a cannot reach http:\/\/nginx_b:80\//);
  await sh('docker compose start nginx_b');
});

test('nginx_b moved to another network: resolves says they share no network', async (t) => {
  if (!requireDocker(t)) return;
  await sh('docker compose up -d && docker network create elsewhere >/dev/null && c=$(docker ps -q -f name=nginx_b) && docker network connect elsewhere $c && docker network disconnect linuxnetworks_default $c');
  try {
    const r = await runStepChecks(await sb(), lab, stepWith([resolvesByOutput, resolvesByProbe, bRunning]));
    const [byOutput, byProbe, running] = r.checks;
    assert.equal(byOutput?.passed, false);
    assert.match(reasons(byOutput), /nginx_a and nginx_b share no network \(nginx_a: linuxnetworks_default; nginx_b: elsewhere\), so nginx_a cannot resolve nginx_b/);
    assert.equal(byProbe?.passed, false);
    assert.equal(running?.passed, true, 'nginx_b itself still runs');
  } finally {
    await sh('docker compose down && docker network rm elsewhere');
  }
});

test('nginx_b in nginx_a\'s namespace: no IP of its own, and one shared namespace', async (t) => {
  if (!requireDocker(t)) return;
  await sh('docker compose -f docker-compose-netsvc.yaml up -d');
  try {
    const shares = { name: 'shared', expect: [{ sharesNetns: { a: 'nginx_a', b: 'nginx_b' } }, { netnsCount: { equals: 1 } }] };
    const r = await runStepChecks(await sb(), lab, stepWith([resolvesByProbe, answer, shares]), { ip: '10.201.0.2' });
    const [resolves, ans, shared] = r.checks;
    assert.equal(resolves?.passed, false);
    assert.match(reasons(resolves), /nginx_b uses network_mode service:nginx_a: it has no IP address of its own/);
    assert.equal(ans?.passed, false);
    assert.match(reasons(ans), /no IP address of its own/);
    assert.equal(shared?.passed, true, reasons(shared));
  } finally {
    await sh('docker compose -f docker-compose-netsvc.yaml down');
  }
});

test('a check in a service that is not running fails with the sandbox\'s reason, not an exception', async (t) => {
  if (!requireDocker(t)) return;
  const r = await runStepChecks(await sb(), lab, stepWith([{ name: 'in b', service: 'nginx_b', run: 'true', expect: [{ exitCode: 0 }] }]));
  assert.equal(r.passed, false);
  assert.match(r.checks[0]?.error ?? '', /service nginx_b is not running in project linuxnetworks/);
});

test('checks are bounded: a command that hangs times out', async (t) => {
  if (!requireDocker(t)) return;
  const r = await runStepChecks(await sb(), lab, stepWith([{ name: 'sleepy', run: 'sleep 30', timeout: 1, expect: [{ exitCode: 0 }] }]));
  assert.equal(r.passed, false);
  assert.equal(r.checks[0]?.timedOut, true);
  assert.match(reasons(r.checks[0]), /did not finish within the check timeout/);
});
