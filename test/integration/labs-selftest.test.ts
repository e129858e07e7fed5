// Acceptance for the seed lab: `labrun test --strict labs/linux-networks`, run as a user runs it, exits 0
// after showing every check failing before its step's solution (none vacuous, none declared to pass:
// observation steps ask the learner for a live value instead) and passing after it, and leaves no
// sandbox behind; with --record it writes the run as an asciicast v2 file (a marker per step) that
// Debian's `asciinema cat` plays. Also: `labrun test` on a broken lab reports the lab's problems, exit 1.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DindDriver } from '../../server/sandbox/dind.ts';
import { LABEL } from '../../server/sandbox/naming.ts';
import { loadLab } from '../../server/labs/catalog.ts';
import { requireAsciinema, requireDocker } from '../support/require.ts';
import { outputText, parseAsciicast } from '../../server/recording/asciicast.ts';
import { asciinemaCat } from '../support/asciinema.ts';

// Shared with the other sandbox test files so preloaded images are prepared once.
const STATE_DIR = join(tmpdir(), 'labrun-test-sandboxes');
/** The whole lab in a fresh sandbox takes ~40 s here; leave room for a slow, busy CI machine. */
const SELFTEST_TIMEOUT_MS = 10 * 60_000;

let childPid: number | undefined;
after(async () => {
  // If the run was cut short, remove its sandbox by label (the learner id carries the child's pid).
  if (childPid === undefined) return;
  const engine = new DindDriver({ stateDir: STATE_DIR }).engine;
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

test('labrun test --strict labs/linux-networks: exit 0, every check fails before and passes after, nothing left behind', { timeout: SELFTEST_TIMEOUT_MS + 30_000 }, async (t) => {
  if (!requireDocker(t) || !requireAsciinema(t)) return;
  const recordDir = mkdtempSync(join(tmpdir(), 'labrun-selftest-cast-'));
  t.after(() => rmSync(recordDir, { recursive: true, force: true }));
  const r = await run(['test', '--strict', '--state-dir', STATE_DIR, '--record', recordDir, 'labs/linux-networks']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^STEP\s+CHECK\s+BEFORE SOLVE\s+AFTER\s+MS$/m);
  assert.match(r.stdout, /^lab linux-networks: ok in \d+\.\d s$/m);

  const lab = (await loadLab('labs/linux-networks')).lab;
  assert.ok(lab);
  const total = lab.steps.reduce((n, s) => n + s.checks.length, 0);
  const rows = r.stdout.split('\n').filter((l) => /\s(fail \(good\)|pass \(declared\)|PASS \(vacuous\))\s/.test(l));
  assert.equal(rows.length, total);
  // Every check can tell whether the learner did the step: it fails before the solution, passes after.
  for (const line of rows) assert.match(line, /\sfail \(good\)\s+pass\s+\d+$/, line);
  assert.match(r.stdout, new RegExp(`^before solve: ${total} fail \\(good\\), 0 pass \\(declared\\), 0 PASS \\(vacuous\\); after solve: ${total} pass, 0 FAIL$`, 'm'));
  assert.deepEqual(lab.steps.flatMap((s) => s.checks.filter((c) => c.passesBeforeSolve !== undefined).map((c) => `${s.id} / ${c.name}`)), [], 'the seed lab declares no check that passes before its solution');

  // The self-test runs an isolated sandbox (the default), so it is on the sandbox engine.
  assert.match(r.stdout + r.stderr, /sandbox \w+ ready/);
  const left = await new DindDriver({ stateDir: STATE_DIR }).engine.listContainers({ all: true, filters: { label: [`${LABEL.learner}=selftest-${childPid}`] } });
  assert.deepEqual(left, [], 'the self-test left its sandbox behind');

  // The recorded run: valid asciicast v2, one marker per step in order, the commands and their output.
  const castFile = join(recordDir, 'linux-networks.cast');
  assert.ok(r.stdout.includes(`recorded the run in ${castFile}`), 'the command says where the recording is');
  const cast = parseAsciicast(readFileSync(castFile, 'utf8'));
  assert.ok(cast.ok, cast.ok ? '' : `line ${cast.line}: ${cast.error}`);
  assert.equal(cast.header.version, 2);
  assert.deepEqual(cast.events.filter((e) => e[1] === 'm').map((e) => e[2]), lab.steps.map((s) => s.id));
  assert.match(outputText(cast.events), /docker compose up -d/);
  const cat = await asciinemaCat(castFile);
  assert.equal(cat.code, 0, `asciinema cat failed: ${cat.output}`);
  assert.match(cat.output, /== one-container: /);
});

test('labrun test on a broken lab prints its problems and exits 1 without starting a sandbox', async () => {
  const r = spawnSync('bin/labrun', ['test', 'test/fixtures/labs/unknown-service'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^test\/fixtures\/labs\/unknown-service\/steps\/01-only\.md:5:14: unknown service 'cache'/m);
  assert.doesNotMatch(r.stdout, /sandbox/);
});

test('labrun test accepts a declared passesBeforeSolve; --strict fails the lab and says why', { timeout: 4 * 60_000 }, async (t) => {
  if (!requireDocker(t)) return;
  const lab = 'test/fixtures/labs/declared-pass';
  const lenient = await run(['test', '--state-dir', STATE_DIR, lab]);
  assert.equal(lenient.code, 0, `${lenient.stdout}\n${lenient.stderr}`);
  assert.match(lenient.stdout, /^only\s+the shell works\s+pass \(declared\)\s+pass\s+\d+$/m);
  assert.match(lenient.stdout, /^before solve: 1 fail \(good\), 1 pass \(declared\), 0 PASS \(vacuous\); after solve: 2 pass, 0 FAIL$/m);

  const strict = await run(['test', '--strict', '--state-dir', STATE_DIR, lab]);
  assert.equal(strict.code, 1, `${strict.stdout}\n${strict.stderr}`);
  assert.match(strict.stdout, /^FAIL only \/ the shell works: passes before the step's solution \(declared: Holds in any sandbox; .*\); --strict wants it to depend on the learner/m);
  assert.match(strict.stdout, /^lab declared-pass: 1 problem\(s\) in \d+\.\d s$/m);
});
