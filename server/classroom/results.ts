// A class's results as the export gives them (CSV, JSON; the board's two links and `labrun export`):
// one row per learner and step — its state, when it was first done, how many check runs it took, and
// the time on it. Pure: the caller reads classes, progress and attempts from the store.
import type { ClassResults, LearnerStepResult } from '../../shared/api.ts';
import type { CheckAttempt, LabProgress } from '../store/store.ts';

export interface ResultStep {
  id: string;
  title: string;
}

/**
 * One learner's steps. Done = its checks passed once (the first pass dates it). Time on a step runs
 * from the learner's previous first pass of any step (or from joining, or for a learner who never
 * joined a class, from the first check on the step) to this one's first pass: steps are usually done
 * in order, and this needs no record of each opening, only what the store keeps.
 */
export function learnerStepResults(steps: readonly ResultStep[], progress: LabProgress, attempts: readonly CheckAttempt[], joinedAt: number | undefined): LearnerStepResult[] {
  const firstPass = new Map<string, number>();
  for (const a of attempts) if (a.passed && !firstPass.has(a.stepId)) firstPass.set(a.stepId, a.at);
  const passes = [...firstPass.values()].sort((x, y) => x - y);
  return steps.map((s, i) => {
    const mine = attempts.filter((a) => a.stepId === s.id);
    const doneAt = firstPass.get(s.id);
    let timeOnStepSeconds: number | null = null;
    if (doneAt !== undefined) {
      const earlier = passes.filter((t) => t < doneAt).pop();
      const start = earlier ?? joinedAt ?? mine[0]?.at ?? doneAt;
      timeOnStepSeconds = Math.max(0, Math.round((doneAt - start) / 1000));
    }
    const state = doneAt !== undefined || progress.completedSteps.includes(s.id) ? 'done' : progress.currentStep === s.id ? 'current' : 'not started';
    return {
      stepNumber: i + 1,
      stepId: s.id,
      stepTitle: s.title,
      state,
      doneAt: doneAt === undefined ? null : new Date(doneAt).toISOString(),
      attempts: mine.length,
      failedAttempts: mine.filter((a) => !a.passed).length,
      timeOnStepSeconds,
    };
  });
}

export interface ResultsInput {
  cls: { id: string; name: string; labId: string; createdAt: number; endedAt: number | null };
  labTitle: string;
  steps: readonly ResultStep[];
  learners: readonly { learnerId: string; displayName: string; joinedAt: number }[];
  progressOf: (learnerId: string) => LabProgress;
  attemptsOf: (learnerId: string) => CheckAttempt[];
}

export function classResults(input: ResultsInput): ClassResults {
  const { cls } = input;
  return {
    class: { id: cls.id, name: cls.name, labId: cls.labId, labTitle: input.labTitle, createdAt: new Date(cls.createdAt).toISOString(), endedAt: cls.endedAt === null ? null : new Date(cls.endedAt).toISOString() },
    steps: input.steps.map((s) => ({ id: s.id, title: s.title })),
    learners: input.learners.map((l) => ({
      learnerId: l.learnerId,
      name: l.displayName,
      joinedAt: new Date(l.joinedAt).toISOString(),
      steps: learnerStepResults(input.steps, input.progressOf(l.learnerId), input.attemptsOf(l.learnerId), l.joinedAt),
    })),
  };
}

/** The CSV's columns, in order: one row per learner and step. */
export const CSV_COLUMNS = ['class_id', 'class_name', 'lab_id', 'learner_id', 'learner_name', 'joined_at', 'step_number', 'step_id', 'step_title', 'state', 'done_at', 'attempts', 'failed_attempts', 'time_on_step_seconds'] as const;

export function csvRecords(r: ClassResults): (string | number)[][] {
  return r.learners.flatMap((l) =>
    l.steps.map((s) => [r.class.id, r.class.name, r.class.labId, l.learnerId, l.name, l.joinedAt, s.stepNumber, s.stepId, s.stepTitle, s.state, s.doneAt ?? '', s.attempts, s.failedAttempts, s.timeOnStepSeconds ?? '']),
  );
}
