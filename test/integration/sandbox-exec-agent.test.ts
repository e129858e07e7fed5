// The exec agent (server/sandbox/exec-agent.ts): a sandbox's commands run through one long-lived
// process inside it instead of an Engine API exec each. These tests hold it to an exec's contract
// (exit codes, streams, caps, timeouts that kill what the command started), to an exec's identity
// (same user, capabilities, seccomp, namespaces and cgroup: the agent must not run commands with
// anything an exec would not have), and show that a learner who kills or stops it only costs speed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DindDriver } from '../../server/sandbox/dind.ts';
import { resourceName } from '../../server/sandbox/naming.ts';
import type { Sandbox } from '../../server/sandbox/sandbox.ts';
import { requireDocker, SANDBOX_DOCKER } from '../support/require.ts';

const LAB_ID = `test-exec-agent-${randomBytes(3).toString('hex')}`;
// A state folder of its own: the adoption test adopts every sandbox of the folder it is given.
const STATE_DIR = join(tmpdir(), `labrun-${LAB_ID}`);
const driver = new DindDriver({ stateDir: STATE_DIR });
let creating: Promise<Sandbox> | undefined;

function sandbox(): Promise<Sandbox> {
  creating ??= driver.create({ labId: LAB_ID, learnerId: 'learner-agent', workspace: 'agentlab', images: [] });
  return creating;
}

after(async () => {
  await (await creating?.catch(() => undefined))?.destroy();
  await rm(STATE_DIR, { recursive: true, force: true });
});

/** A plain `docker exec` into the sandbox container, bypassing the agent: the reference to compare with. */
function plainExec(sb: Sandbox, script: string): string {
  return execFileSync('docker', [...SANDBOX_DOCKER, 'exec', '-w', sb.workspacePath, resourceName(sb.id), 'sh', '-c', script], { encoding: 'utf8' });
}

const parentOf = async (sb: Sandbox): Promise<string> => (await sb.exec({ argv: ['sh', '-c', 'tr "\\0" " " < /proc/$PPID/cmdline'] })).stdout.trim();

test("the sandbox shell's commands run through the agent, with an exec's results", async (t) => {
  if (!requireDocker(t)) return;
  const sb = await sandbox();
  assert.match(await parentOf(sb), /^labrun-exec-agent/, 'the command was not started by the agent');

  const fail = await sb.exec({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
  assert.deepEqual([fail.exitCode, fail.stdout, fail.stderr, fail.timedOut, fail.truncated], [3, 'out\n', 'err\n', false, false]);
  const signalled = await sb.exec({ argv: ['sh', '-c', 'kill -9 $$'] });
  assert.equal(signalled.exitCode, 137, 'killed by SIGKILL reads as 128 + 9, as Docker reports it');
  const where = await sb.exec({ argv: ['sh', '-c', 'pwd; echo "$GREETING"; echo "$PATH"'], env: { GREETING: 'hi there' } });
  const [cwd, greeting, path] = where.stdout.split('\n');
  assert.deepEqual([cwd, greeting], ['/root/agentlab', 'hi there']);
  assert.equal(path, plainExec(sb, 'echo "$PATH"').trim(), "the container's PATH, as an exec gets it");
  const missing = await sb.exec({ argv: ['no-such-program'] });
  assert.equal(missing.exitCode, 127);
  assert.match(missing.stderr, /no-such-program/);
  const binary = await sb.exec({ argv: ['sh', '-c', 'printf "a\\0b\\n\\377"; printf "ünïcode" >&2'] });
  assert.equal(binary.stdout, 'a\0b\n\ufffd');
  assert.equal(binary.stderr, 'ünïcode');
  const big = await sb.exec({ argv: ['head', '-c', '3000000', '/dev/zero'], maxOutputBytes: 1000 });
  assert.deepEqual([big.stdout.length, big.truncated, big.exitCode], [1000, true, 0]);
  const large = await sb.exec({ argv: ['seq', '1', '150000'] }); // 1 MB is the default cap
  assert.deepEqual([large.stdout.split('\n').length, large.truncated], [150001, false], 'a large output arrives whole');
});

test('a timeout kills the command and what it started, and says so', async (t) => {
  if (!requireDocker(t)) return;
  const sb = await sandbox();
  const slow = await sb.exec({ argv: ['sh', '-c', 'sleep 31 & sleep 32; echo late'], timeoutMs: 500 });
  assert.deepEqual([slow.timedOut, slow.exitCode, slow.stdout], [true, null, '']);
  const left = await sb.exec({ argv: ['sh', '-c', 'pgrep -f "sleep 3[12]" || true'] });
  assert.equal(left.stdout, '', 'the timed-out command and its child are gone');
});

test('commands run at the same time over the one agent, each with its own result', async (t) => {
  if (!requireDocker(t)) return;
  const sb = await sandbox();
  await sb.exec({ argv: ['sh', '-c', 'rm -rf /tmp/overlap; mkdir /tmp/overlap'] });
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => sb.exec({ argv: ['sh', '-c', `touch /tmp/overlap/${i}; sleep 0.4; echo ${i} $(ls /tmp/overlap | wc -l)`] })),
  );
  for (const [i, r] of results.entries()) assert.match(r.stdout, new RegExp(`^${i} \\d+\\n$`));
  const seen = Math.max(...results.map((r) => Number(r.stdout.split(' ')[1])));
  assert.ok(seen > 1, 'no command saw another one running: they ran one after another');
});

test("a command run by the agent has exactly an exec's identity: user, capabilities, seccomp, namespaces, cgroup", async (t) => {
  if (!requireDocker(t)) return;
  const sb = await sandbox();
  const probe = [
    'grep -E "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status',
    'for n in user mnt pid net uts ipc cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done',
    'cat /proc/self/cgroup',
    'cat /proc/self/attr/current 2>/dev/null || true',
  ].join('; ');
  const viaAgent = await sb.exec({ argv: ['sh', '-c', probe] });
  assert.match(await parentOf(sb), /^labrun-exec-agent/);
  assert.equal(viaAgent.stdout, plainExec(sb, probe));
});

test('a learner who kills or stops the agent costs only speed: the next command still runs', async (t) => {
  if (!requireDocker(t)) return;
  const sb = await sandbox();
  await sb.exec({ argv: ['true'] });
  plainExec(sb, 'pkill -KILL -f "^labrun-exec-agent"');
  const afterKill = await sb.exec({ argv: ['sh', '-c', 'echo alive'] });
  assert.deepEqual([afterKill.exitCode, afterKill.stdout], [0, 'alive\n']);
  assert.match(await parentOf(sb), /^labrun-exec-agent/, 'a new agent took over');

  plainExec(sb, 'pkill -STOP -f "^labrun-exec-agent"');
  const stuck = await sb.exec({ argv: ['sh', '-c', 'echo never'], timeoutMs: 300 });
  assert.equal(stuck.timedOut, true, 'a stopped agent reads as a timeout, not a hang');
  const afterStop = await sb.exec({ argv: ['sh', '-c', 'echo alive again'] });
  assert.equal(afterStop.stdout, 'alive again\n');
  const agents = plainExec(sb, 'pgrep -c -f "^labrun-exec-agent" || true').trim();
  assert.equal(agents, '1', 'the stopped agent was replaced, not left beside the new one');
});

test('a second server that adopts the sandbox takes over with an agent of its own, and only one runs', async (t) => {
  if (!requireDocker(t)) return;
  const sb = await sandbox();
  await sb.exec({ argv: ['true'] });
  const adopted = (await new DindDriver({ stateDir: STATE_DIR }).adoptExisting()).find((s) => s.id === sb.id);
  assert.ok(adopted, 'the sandbox was not adopted');
  const r = await adopted.exec({ argv: ['sh', '-c', 'echo adopted'] });
  assert.equal(r.stdout, 'adopted\n');
  assert.equal(plainExec(sb, 'pgrep -c -f "^labrun-exec-agent" || true').trim(), '1');
  // The first server's object still works (its agent was replaced; it starts another or falls back).
  assert.equal((await sb.exec({ argv: ['sh', '-c', 'echo first'] })).stdout, 'first\n');
});
