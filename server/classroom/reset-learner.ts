// The instructor's "reset to step N": a learner whose environment is beyond repair gets a fresh
// sandbox brought to the state step N expects — every earlier step's setup and solve run in order —
// and lands on step N. What they earned (completed steps, attempts) stays in the store.
import { runStepSetup, runStepSolve } from '../checks/run-step.ts';
import type { Lab, Step } from '../labs/catalog.ts';
import type { LabSessions } from '../session/lab-sessions.ts';
import type { Store } from '../store/store.ts';

export async function resetLearner(ctx: { sessions: LabSessions; store: Store }, learnerId: string, lab: Lab, to: Step): Promise<void> {
  await ctx.sessions.destroy(learnerId, lab.id);
  const sandbox = await ctx.sessions.ensure(learnerId, lab);
  for (const step of lab.steps) {
    if (step.index >= to.index) break;
    await runStepSetup(sandbox, lab, step);
    await runStepSolve(sandbox, lab, step);
  }
  ctx.store.setCurrentStep(learnerId, lab.id, to.id);
  await ctx.sessions.openStep(learnerId, lab, to);
}
