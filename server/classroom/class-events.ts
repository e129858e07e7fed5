// The classroom's live events: who publishes what (joins, steps opened, checks, sandbox states,
// broadcasts, warm-pool progress) fans out to the subscribers of that learner's class — the
// instructor's board and, for broadcasts, the learners' pages. Also rebuilds a class's history as
// events from the store, so a board opened late (or after a restart) starts complete.
import type { ClassEvent, ClassHeader as ClassHeaderData, LearnerEvent } from '../../shared/classroom-events.ts';
import type { Catalog } from '../labs/catalog.ts';
import type { SessionStatus } from '../session/lab-sessions.ts';
import type { TerminalTabs } from '../session/terminal-tabs.ts';
import type { Store } from '../store/store.ts';
import type { ClassInfo, ClassStore } from './class-store.ts';

type Listener = (e: ClassEvent) => void;

/**
 * What the board does not need but the service's observers (metrics, the event feed) do: which lab
 * (a local learner has no class to look it up by), which checks ran and how long they took.
 */
export interface ActivityDetail {
  labId?: string;
  checks?: { name: string; passed: boolean }[];
  durationMs?: number;
}

/** Sees every learner event of every learner, local ones included, with its detail. */
export type ActivityTap = (e: LearnerEvent, detail: ActivityDetail) => void;

export class ClassEvents {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** learnerId → the learner's own pages (session notices only). */
  private readonly personal = new Map<string, Set<Listener>>();
  /** learnerId → classId; learners never change class, so entries never go stale. */
  private readonly classOf = new Map<string, string | null>();
  private readonly taps = new Set<ActivityTap>();

  constructor(private readonly classes: ClassStore) {}

  /** Calls `fn` for every event of the class; returns the unsubscribe function. */
  subscribe(classId: string, fn: Listener): () => void {
    let set = this.listeners.get(classId);
    if (!set) {
      set = new Set();
      this.listeners.set(classId, set);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(classId);
    };
  }

  publish(classId: string, e: ClassEvent): void {
    for (const fn of this.listeners.get(classId) ?? []) fn(e);
  }

  /** Calls `fn` for every learner event, in any mode, before the class sees it; returns the unsubscribe function. */
  tap(fn: ActivityTap): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  /**
   * The one place a learner's activity is reported: the taps (metrics, event feed) see it, then it
   * is published to the learner's class; learners outside a class (local mode) have no board.
   */
  learner(e: LearnerEvent, detail: ActivityDetail = {}): void {
    for (const fn of this.taps) fn(e, detail);
    let classId = this.classOf.get(e.learnerId);
    if (classId === undefined) {
      classId = this.classes.learner(e.learnerId)?.classId ?? null;
      this.classOf.set(e.learnerId, classId);
    }
    if (classId !== null) this.publish(classId, e);
  }

  /** Calls `fn` for the session notices meant for one learner (any mode); returns the unsubscribe function. */
  subscribeLearner(learnerId: string, fn: Listener): () => void {
    let set = this.personal.get(learnerId);
    if (!set) {
      set = new Set();
      this.personal.set(learnerId, set);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.personal.delete(learnerId);
    };
  }

  /** Tells a learner (their open pages) and their class's board what happened to their session. */
  notice(e: Extract<ClassEvent, { type: 'session' }>, detail: ActivityDetail = {}): void {
    for (const fn of this.personal.get(e.learnerId) ?? []) fn(e);
    this.learner(e, detail);
  }

  dispose(): void {
    this.taps.clear();
    this.listeners.clear();
    this.personal.clear();
  }
}

/** What the board shows above the grid: the class, its join code and the lab's steps. */
export function classHeader(cls: ClassInfo, catalog: Catalog): ClassHeaderData {
  const lab = catalog.byId(cls.labId);
  return {
    id: cls.id,
    labId: cls.labId,
    labTitle: lab?.title ?? cls.labId,
    name: cls.name,
    joinCode: cls.joinCode,
    joinOpen: cls.joinOpen,
    endedAt: cls.endedAt,
    recording: cls.recording,
    steps: (lab?.steps ?? []).map((s) => ({ id: s.id, title: s.title })),
  };
}

/** A class's header and everything that happened in it so far, oldest first, as board events. */
export function classHistory(cls: ClassInfo, ctx: { catalog: Catalog; store: Store; classes: ClassStore; sessions: { status(learnerId: string, labId: string): SessionStatus; tabs: Pick<TerminalTabs, 'active'> } }): ClassEvent[] {
  const header: ClassEvent = { type: 'class', class: classHeader(cls, ctx.catalog) };
  const timed: (ClassEvent & { at: number })[] = [];
  for (const l of ctx.classes.learners(cls.id)) {
    timed.push({ type: 'joined', learnerId: l.learnerId, name: l.displayName, at: l.joinedAt });
    const attempts = ctx.store.attempts(l.learnerId, cls.labId);
    for (const a of attempts) {
      timed.push({ type: 'check', learnerId: l.learnerId, stepId: a.stepId, passed: a.passed, at: a.at });
      if (a.passed) timed.push({ type: 'step-done', learnerId: l.learnerId, stepId: a.stepId, at: a.at });
    }
    const p = ctx.store.getProgress(l.learnerId, cls.labId);
    if (p.currentStep !== null && p.updatedAt !== null) {
      // Only the latest opening of the current step is stored (a reload re-opens it): date it no later
      // than the first attempt on that step, so those attempts still count as made on it.
      const first = attempts.find((a) => a.stepId === p.currentStep)?.at ?? p.updatedAt;
      timed.push({ type: 'step-opened', learnerId: l.learnerId, stepId: p.currentStep, at: Math.min(first - 1, p.updatedAt) });
    }
    const active = ctx.sessions.tabs.active(l.learnerId, cls.labId);
    if (active) timed.push({ type: 'tab', learnerId: l.learnerId, tab: active.tab, title: active.title, at: Math.max(l.joinedAt, active.at) });
    const state = cls.endedAt !== null ? 'ended' : ctx.sessions.status(l.learnerId, cls.labId).state;
    timed.push({ type: 'sandbox', learnerId: l.learnerId, state, at: Math.max(l.joinedAt, p.updatedAt ?? 0) });
  }
  // Stable sort: equal times keep the order above (joined before its attempts).
  timed.sort((a, b) => a.at - b.at);
  return [header, ...timed];
}
