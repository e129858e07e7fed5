// Noisy neighbour. The sandbox limits given to `labrun serve` (--memory, --cpus, --pids) reach the
// sandbox containers' HostConfig on the sandbox engine; a memory hog in one learner's sandbox is
// OOM-killed at its memory limit while the sandbox and its daemon live on; a fork bomb there stays at
// its pids limit and leaves another learner's terminal and checks responsive (measured against the
// same learner's round trip before the bomb); ending the class still removes both sandboxes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LABEL } from '../../server/sandbox/naming.ts';
import { DindDriver } from '../../server/sandbox/dind.ts';
import { SANDBOX_DOCKER, requireDocker } from '../support/require.ts';
import { TermClient } from './http-clients.ts';
import { call, field, makeFixture, signIn, startServer } from './http-fixture.ts';

/** Small limits, each unlike the defaults, so the HostConfig shows they came from the options. */
const LIMITS = { memoryBytes: 384 * 1024 ** 2, nanoCpus: 1.5e9, pidsLimit: 256 };
const SERVE_ARGS = ['--memory', '384m', '--cpus', '1.5', '--pids', String(LIMITS.pidsLimit)];
/** Long enough for the bomb to hit the sandbox's pids limit and saturate its CPU share. */
const BOMB_RAMP_MS = 5000;
/** How often the bombed sandbox's process count is read (a file read on the host: no fork). */
const SAMPLE_MS = 200;
/** Round trips measured before and during the bomb; the slowest of each counts. */
const PROBES = 3;
/**
 * "Responsive", generously: this runs on a loaded two-core CI machine, so the bound catches a frozen
 * neighbour (the pre-limit behaviour: minutes, or never), not a slow one.
 */
const MAX_ROUND_TRIP_MS = 10_000;
const MAX_SLOWDOWN = 20;
const SLOWDOWN_SLACK_MS = 2000;
/** Exit status of a process killed by SIGKILL, as the OOM killer does. */
const KILLED = 128 + 9;

function sandboxOf(learnerId: string): { name: string; id: string } {
  const out = execFileSync('docker', [...SANDBOX_DOCKER, 'ps', '--no-trunc', '--filter', `label=${LABEL.learner}=${learnerId}`, '--format', '{{.Names}} {{.ID}}'], { encoding: 'utf8' }).trim();
  const [name, id] = out.split(' ');
  assert.ok(name && id && !out.includes('\n'), `one sandbox for ${learnerId}: ${out}`);
  return { name, id };
}

/** A file of the container's cgroup (v1, cgroupfs driver: `/sys/fs/cgroup/<controller>/docker/<id>`). */
function cgroup(controller: 'pids' | 'memory', id: string, file: string): string {
  return readFileSync(`/sys/fs/cgroup/${controller}/docker/${id}/${file}`, 'utf8').trim();
}

/** The number after `key` in a flat-keyed cgroup file such as pids.events or memory.oom_control. */
function keyed(text: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  assert.ok(m?.[1], `no ${key} in ${text}`);
  return Number(m[1]);
}

test('sandbox limits reach the engine, hold under a memory hog and a fork bomb, and leave another learner responsive', async (t) => {
  if (!requireDocker(t)) return;
  const fx = makeFixture(t, SERVE_ARGS);
  const server = await startServer(t, fx, { reapSandboxes: true });
  const { url } = server;
  const ws = url.replace('http', 'ws');
  const owner = await signIn(url);
  const created = await call(url, owner, 'POST', '/api/classes', { labId: fx.labId });
  const classId = field(created.body, 'id');
  const code = field(created.body, 'joinCode');

  const open = async (name: string): Promise<{ id: string; cookie: string; term: TermClient }> => {
    const res = await call(url, undefined, 'POST', `/api/join/${code}`, { name });
    assert.equal(res.status, 201);
    const cookie = (res.setCookie ?? '').split(';')[0] ?? '';
    const term = await TermClient.open(`${ws}/ws/terminal?lab=${fx.labId}`, { Origin: url, Cookie: cookie });
    return { id: field(res.body, 'learnerId'), cookie, term };
  };
  const [noisy, quiet] = await Promise.all([open('Noisy'), open('Quiet')]);
  const bombed = sandboxOf(noisy.id);

  await t.test('--memory, --cpus and --pids are in each sandbox\'s HostConfig on the sandbox engine', async () => {
    const engine = new DindDriver({ stateDir: fx.dataDir }).engine;
    for (const learner of [noisy, quiet]) {
      const { HostConfig: hc } = await engine.getContainer(sandboxOf(learner.id).id).inspect();
      assert.deepEqual(
        { memory: hc.Memory, swap: hc.MemorySwap, cpus: hc.NanoCpus, pids: hc.PidsLimit },
        { memory: LIMITS.memoryBytes, swap: LIMITS.memoryBytes, cpus: LIMITS.nanoCpus, pids: LIMITS.pidsLimit },
      );
    }
  });

  await t.test('a memory hog is OOM-killed at the memory limit; the sandbox and its daemon live on', async () => {
    const oomKillsBefore = keyed(cgroup('memory', bombed.id, 'memory.oom_control'), 'oom_kill');
    // tail keeps the last "line" of /dev/zero, which never ends: it grows until something stops it.
    noisy.term.type('tail /dev/zero; echo "hog-exit=$?"\r');
    await noisy.term.waitFor(/hog-exit=\d+/, 60_000);
    assert.equal(Number(/hog-exit=(\d+)/.exec(noisy.term.output)?.[1]), KILLED, 'tail was killed by SIGKILL');
    assert.ok(keyed(cgroup('memory', bombed.id, 'memory.oom_control'), 'oom_kill') > oomKillsBefore, "the kill was the cgroup's OOM killer");
    const peak = Number(cgroup('memory', bombed.id, 'memory.max_usage_in_bytes'));
    assert.ok(peak <= LIMITS.memoryBytes, `peak memory ${peak} is within the limit ${LIMITS.memoryBytes}`);
    noisy.term.type('docker info --format "daemon-{{.ServerVersion}}"\r');
    await noisy.term.waitFor(/daemon-\d+\.\d+/);
  });

  let probes = 0;
  /** One round trip through the quiet learner's terminal with a fork and two execs. */
  const roundTrip = async (): Promise<number> => {
    const n = ++probes;
    const started = Date.now();
    quiet.term.type(`/bin/sh -c '/bin/echo "rt-${n}-$(/usr/bin/expr 40 + 2)"'\r`);
    await quiet.term.waitFor(new RegExp(`rt-${n}-42`), 60_000);
    return Date.now() - started;
  };
  /** One check through HTTP: the server runs `cat greeting.txt` in the quiet sandbox (docker exec). */
  const checkTrip = async (): Promise<number> => {
    const started = Date.now();
    const check = await call(url, quiet.cookie, 'POST', `/api/labs/${fx.labId}/steps/hello/check`, {});
    assert.equal(check.status, 200);
    assert.equal(Reflect.get(Object(check.body), 'passed'), true, JSON.stringify(check.body).slice(0, 1000));
    return Date.now() - started;
  };
  const slowest = async (trip: () => Promise<number>): Promise<number> => {
    let worst = 0;
    for (let i = 0; i < PROBES; i++) worst = Math.max(worst, await trip());
    return worst;
  };

  quiet.term.type('echo hello > greeting.txt && echo wrote-$((20+22))\r');
  await quiet.term.waitFor(/wrote-42/);
  const baseline = { terminal: await slowest(roundTrip), check: await slowest(checkTrip) };

  const samples: number[] = [];
  const sampler = setInterval(() => {
    try {
      samples.push(Number(cgroup('pids', bombed.id, 'pids.current')));
    } catch {
      // the sandbox is gone (a failed test's cleanup): nothing left to sample
    }
  }, SAMPLE_MS);
  t.after(() => clearInterval(sampler));
  noisy.term.type('bomb() { bomb | bomb & }; bomb\r');
  await new Promise((r) => setTimeout(r, BOMB_RAMP_MS));
  const during = { terminal: await slowest(roundTrip), check: await slowest(checkTrip) };
  clearInterval(sampler);

  await t.test('the bomb ran into the pids limit and never got past it', () => {
    const most = Math.max(...samples);
    assert.ok(most >= LIMITS.pidsLimit * 0.9, `the bomb went off: at most ${most} processes of ${LIMITS.pidsLimit}`);
    const peak = Number(cgroup('pids', bombed.id, 'pids.peak'));
    assert.ok(peak <= LIMITS.pidsLimit && most <= LIMITS.pidsLimit, `peak ${peak}, sampled ${most}, limit ${LIMITS.pidsLimit}`);
    assert.ok(keyed(cgroup('pids', bombed.id, 'pids.events'), 'max') > 0, 'forks were refused at the limit');
    assert.equal(cgroup('pids', bombed.id, 'pids.max'), String(LIMITS.pidsLimit));
  });

  await t.test('the quiet learner\'s terminal and checks stay responsive during the bomb', () => {
    const report = JSON.stringify({ baseline, during });
    t.diagnostic(`round trips in ms: ${report}`);
    for (const kind of ['terminal', 'check'] as const) {
      const bound = Math.min(MAX_ROUND_TRIP_MS, MAX_SLOWDOWN * baseline[kind] + SLOWDOWN_SLACK_MS);
      assert.ok(during[kind] < bound, `${kind} round trip ${during[kind]} ms during the bomb, bound ${bound} ms (${report})`);
    }
  });

  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const ended = await call(url, owner, 'POST', `/api/classes/${classId}/end`, {});
  assert.equal(ended.status, 200, JSON.stringify(ended.body));
  const left = execFileSync('docker', [...SANDBOX_DOCKER, 'ps', '-a', '--filter', `label=${LABEL.lab}=${fx.labId}`, '--format', '{{.Names}}'], { encoding: 'utf8' }).trim();
  assert.equal(left, '', 'both sandboxes removed, the bombed one included');
});
