// Acceptance for the seed lab: `labrun test labs/linux-networks`, run as a user runs it, exits 0 after
// showing every check failing before its step's solution (or declared to pass) and passing after it,
// and leaves no sandbox behind. Also: `labrun test` on a broken lab reports the lab's problems, exit 1.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { LABEL } from '../../server/sandbox/naming.ts';
import { loadLab } from '../../server/labs/catalog.ts';
import { requireDocker } from '../support/require.ts';

// Shared with the other sandbox test files so preloaded images are prepared once.
const STATE_DIR = join(tmpdir(), 'labrun-test-sandboxes');
/** The whole lab in a fresh sandbox takes ~40 s here; leave room for a slow, busy CI machine. */
const SELFTEST_TIMEOUT_MS = 10 * 60_000;

let childPid: number | undefined;
after(async () => {
  // If the run was cut short, remove its sandbox by label (the learner id carries the child's pid).
  if (childPid === undefined) return;
  const engine = new Docker();
  const left = await engine.listContainers({ all: true, filters: { label: [`${LABEL.learner}=selftest-${childPid}`] } });
  for (const c of left) await engine.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bin/labrun', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    childPid = child.pid;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), SELFTEST_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('labrun test labs/linux-networks: exit 0, a row per check, nothing left behind', { timeout: SELFTEST_TIMEOUT_MS + 30_000 }, async (t) => {
  if (!requireDocker(t)) return;
  const r = await run(['test', '--state-dir', STATE_DIR, 'labs/linux-networks']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^STEP\s+CHECK\s+BEFORE SOLVE\s+AFTER\s+MS$/m);
  assert.match(r.stdout, /^lab linux-networks: ok in \d+\.\d s$/m);

  const lab = (await loadLab('labs/linux-networks')).lab;
  assert.ok(lab);
  const rows = r.stdout.split('\n').filter((l) => /\s(fail \(good\)|pass \(declared\)|PASS \(vacuous\))\s/.test(l));
  assert.equal(rows.length, lab.steps.reduce((n, s) => n + s.checks.length, 0));
  for (const line of rows) assert.match(line, /\s(fail \(good\)|pass \(declared\))\s+pass\s+\d+$/, line);
  // The steps that change the stack must be proven by checks that fail first, not only declared ones.
  for (const id of ['one-container', 'compose-namespaces', 'network-mode'])
    assert.ok(rows.some((l) => l.startsWith(id) && l.includes('fail (good)')), `${id} has no check that fails before its solution`);

  const left = await new Docker().listContainers({ all: true, filters: { label: [`${LABEL.learner}=selftest-${childPid}`] } });
  assert.deepEqual(left, [], 'the self-test left its sandbox behind');
});

test('labrun test on a broken lab prints its problems and exits 1 without starting a sandbox', async () => {
  const r = spawnSync('bin/labrun', ['test', 'test/fixtures/labs/unknown-service'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^test\/fixtures\/labs\/unknown-service\/steps\/01-only\.md:5:14: unknown service 'cache'/m);
  assert.doesNotMatch(r.stdout, /sandbox/);
});
