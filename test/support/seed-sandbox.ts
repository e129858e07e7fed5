// A fresh sandbox of the seed lab (labs/linux-networks) on the real sandbox engine, with a terminal
// open in it, for tests that type the lesson's commands as a learner would; both are gone after the
// test.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Lab, loadLab, sandboxSpec } from '../../server/labs/catalog.ts';
import { DindDriver } from '../../server/sandbox/dind.ts';
import type { Sandbox } from '../../server/sandbox/sandbox.ts';
import type { PtyLike } from '../../server/terminal/pty.ts';

const STATE_DIR = join(tmpdir(), 'labrun-test-sandboxes');

/** The seed lab, a sandbox of it for `learnerId`, and a 200x50 terminal in that sandbox. */
export async function seedLabTerminal(t: TestContext, learnerId: string): Promise<{ lab: Lab; sandbox: Sandbox; pty: PtyLike }> {
  const { lab } = await loadLab('labs/linux-networks');
  assert.ok(lab);
  const sandbox = await new DindDriver({ stateDir: STATE_DIR }).create(sandboxSpec(lab, learnerId));
  let pty: PtyLike | undefined;
  t.after(async () => {
    pty?.kill();
    await sandbox.destroy();
  });
  pty = sandbox.openTerminal(200, 50);
  return { lab, sandbox, pty };
}
