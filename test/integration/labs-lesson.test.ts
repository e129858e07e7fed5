// The seed lesson works verbatim: in a real terminal of a fresh sandbox (the pty a learner types
// into), every `bash run` command of every step, typed line by line as the Run button would, exits 0;
// and after each step's commands that step's checks pass (questions answered with the live values);
// and each question's answer is there to read in what those commands printed, so the lesson really
// shows the learner where to find it. This is what `labrun test` cannot see: it runs `solve`, not the
// lesson text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { runnableCommands } from '../../server/labs/markdown.ts';
import { splitFrontmatter } from '../../server/labs/yaml-source.ts';
import { liveAnswers, runStepChecks, runStepSetup } from '../../server/checks/run-step.ts';
import { requireDocker } from '../support/require.ts';
import { seedLabTerminal } from '../support/seed-sandbox.ts';
import { typedTerminal as terminal } from '../support/typed-terminal.ts';

test('every runnable command of the seed lesson works in the terminal, and completes its step', { timeout: 15 * 60_000 }, async (t) => {
  if (!requireDocker(t)) return;
  const { lab, sandbox, pty } = await seedLabTerminal(t, 'test-lesson');
  const type = terminal(pty);
  assert.equal((await type('cd ~/linuxnetworks')).rc, 0);

  for (const step of lab.steps) {
    await runStepSetup(sandbox, lab, step);
    const body = splitFrontmatter(await readFile(step.file, 'utf8'))?.body ?? '';
    const lines = runnableCommands(body).flatMap((block) => block.split('\n')).filter((l) => l.trim() !== '');
    assert.ok(lines.length > 0, `step ${step.id} has no runnable commands`);
    let printed = '';
    for (const line of lines) {
      const r = await type(line);
      assert.equal(r.rc, 0, `step ${step.id}: '${line}' exited ${r.rc}:\n${r.output.slice(-1500)}`);
      assert.doesNotMatch(r.output, /command not found|No such file|Error response from daemon/, `step ${step.id}: '${line}'`);
      printed += r.output;
    }
    const answers = await liveAnswers(sandbox, lab, step);
    assert.deepEqual(Object.keys(answers).sort(), step.questions.map((q) => q.id).sort(), `step ${step.id}: every question has a live answer`);
    for (const [id, value] of Object.entries(answers)) assert.ok(printed.includes(value), `step ${step.id}: the answer to '${id}' (${value}) appears nowhere in what the lesson's commands printed`);
    const result = await runStepChecks(sandbox, lab, step, answers);
    const failed = result.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.error ?? c.expectations.filter((o) => !o.passed).map((o) => o.reason).join('; ')}`);
    assert.deepEqual(failed, [], `step ${step.id}: checks fail after following the lesson`);
  }
});
