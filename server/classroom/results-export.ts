// A class's results read from the store and written as CSV (csv-stringify: quoting, embedded commas,
// quotes and newlines in names done right, and a leading quote for cells a spreadsheet would run as a
// formula) or JSON — shared by the board's download links and `labrun export`.
import { stringify } from 'csv-stringify/sync';
import type { ClassResults } from '../../shared/api.ts';
import type { Store } from '../store/store.ts';
import type { ClassInfo, ClassStore } from './class-store.ts';
import { CSV_COLUMNS, classResults, csvRecords, type ResultStep } from './results.ts';

export type ResultsFormat = 'csv' | 'json';

/**
 * The results of `cls`. `lab` gives the step order and titles; without it (the lab is gone from the
 * labs folder) the steps are the ones the store has seen, in the order they were first reached.
 */
export function readClassResults(store: Store, classes: ClassStore, cls: ClassInfo, lab: { title: string; steps: readonly ResultStep[] } | undefined): ClassResults {
  const learners = classes.learners(cls.id);
  const attempts = new Map(learners.map((l) => [l.learnerId, store.attempts(l.learnerId, cls.labId)]));
  let steps = lab?.steps;
  if (!steps) {
    const seen = new Set<string>();
    for (const l of learners) {
      for (const a of attempts.get(l.learnerId) ?? []) seen.add(a.stepId);
      const current = store.getProgress(l.learnerId, cls.labId).currentStep;
      if (current !== null) seen.add(current);
    }
    steps = [...seen].map((id) => ({ id, title: id }));
  }
  return classResults({
    cls,
    labTitle: lab?.title ?? cls.labId,
    steps,
    learners,
    progressOf: (id) => store.getProgress(id, cls.labId),
    attemptsOf: (id) => attempts.get(id) ?? [],
  });
}

/** Neutralises a cell a spreadsheet would evaluate (=, +, -, @ first): a learner's name is theirs to choose. */
function safeCell(v: string | number): string | number {
  return typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

export function formatResults(r: ClassResults, format: ResultsFormat): string {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  return stringify(csvRecords(r).map((row) => row.map(safeCell)), { header: true, columns: [...CSV_COLUMNS] });
}

/** A file name for the download: the class id, which is safe in any file system. */
export function resultsFileName(cls: ClassInfo, format: ResultsFormat): string {
  return `labrun-${cls.id}-results.${format}`;
}
