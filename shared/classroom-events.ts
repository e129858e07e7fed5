// The classroom's event stream (`/ws/events`), shared by server and client: the frames as zod
// schemas, and the pure board logic the instructor page runs on them — folding events into one row
// per learner, and deciding who is stuck or idle. The server sends a class's history as events
// first, then live ones, so the same reducer builds the board from a cold start and keeps it current.
import * as z from 'zod';
import { ClassView, PoolStatus, SessionState } from './api.ts';

export { PoolStatus };

/** The board's header: the class as the API lists it, less the join link and counts, plus the lab's steps. */
export const ClassHeader = ClassView.pick({ id: true, labId: true, labTitle: true, name: true, joinCode: true, joinOpen: true, endedAt: true, recording: true }).extend({
  steps: z.array(z.object({ id: z.string(), title: z.string() })),
});
export type ClassHeader = z.infer<typeof ClassHeader>;

/** A learner's sandbox as the board shows it: the session's state, or its class has ended. */
export const SandboxState = z.enum([...SessionState.options, 'ended']);
export type SandboxState = z.infer<typeof SandboxState>;

export const SessionNoticeKind = z.enum(['idle-warning', 'idle-stopped', 'extended', 'ended', 'class-ended', 'reset']);
export type SessionNoticeKind = z.infer<typeof SessionNoticeKind>;


export const ClassEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('class'), class: ClassHeader }),
  z.object({ type: z.literal('joined'), learnerId: z.string(), name: z.string(), at: z.number() }),
  z.object({ type: z.literal('step-opened'), learnerId: z.string(), stepId: z.string(), at: z.number() }),
  z.object({ type: z.literal('check'), learnerId: z.string(), stepId: z.string(), passed: z.boolean(), at: z.number() }),
  z.object({ type: z.literal('step-done'), learnerId: z.string(), stepId: z.string(), at: z.number() }),
  z.object({ type: z.literal('sandbox'), learnerId: z.string(), state: SandboxState, at: z.number() }),
  z.object({ type: z.literal('broadcast'), message: z.string(), at: z.number() }),
  z.object({ type: z.literal('pool'), pool: PoolStatus }),
  // What happened to a learner's session that the learner must be told: an idle warning, their idle
  // sandbox stopped, the instructor extended or ended it. Goes to the board and to that learner's page.
  z.object({ type: z.literal('session'), learnerId: z.string(), kind: SessionNoticeKind, message: z.string(), at: z.number() }),
  // The workspace tab the learner has in front: `term:<id>` for a terminal, another panel's id otherwise.
  z.object({ type: z.literal('tab'), learnerId: z.string(), tab: z.string(), title: z.string(), at: z.number() }),
]);
export type ClassEvent = z.infer<typeof ClassEvent>;
/** Events about one learner (the ones the board folds into a row). */
export type LearnerEvent = Extract<ClassEvent, { learnerId: string }>;

export function parseClassEvent(text: string): ClassEvent | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const r = ClassEvent.safeParse(raw);
  return r.success ? r.data : null;
}

export interface LearnerRow {
  learnerId: string;
  name: string;
  joinedAt: number;
  currentStep: string | null;
  /** When the learner opened the current step. */
  stepSince: number | null;
  done: string[];
  /** Failed check attempts per step. */
  failedChecks: Record<string, number>;
  /** First failed check on the current step since it was opened or last passed; null when not failing. */
  failingSince: number | null;
  lastActivity: number;
  sandbox: SandboxState;
  /** The workspace tab the learner has in front, as their page last reported it. */
  activeTab: { tab: string; title: string } | null;
}

/** The terminal id of a workspace tab id (`term:2` → '2'); null for other panels. */
export function terminalOfTab(tab: string): string | null {
  return tab.startsWith(TERMINAL_TAB_PREFIX) ? tab.slice(TERMINAL_TAB_PREFIX.length) : null;
}

/** Workspace tab ids of terminals are this prefix and the terminal's id. */
export const TERMINAL_TAB_PREFIX = 'term:';

export interface BoardState {
  header: ClassHeader | null;
  learners: LearnerRow[];
  broadcasts: { message: string; at: number }[];
  pool: PoolStatus | null;
}

export const EMPTY_BOARD: BoardState = { header: null, learners: [], broadcasts: [], pool: null };

function updateRow(state: BoardState, learnerId: string, fn: (row: LearnerRow) => LearnerRow): BoardState {
  const i = state.learners.findIndex((r) => r.learnerId === learnerId);
  const row = state.learners[i];
  // Events about a learner the board has not seen join are ignored: the history always starts with 'joined'.
  if (i < 0 || !row) return state;
  const learners = state.learners.slice();
  learners[i] = fn(row);
  return { ...state, learners };
}

/** Folds one event into the board; never mutates `state`. */
export function reduceBoard(state: BoardState, e: ClassEvent): BoardState {
  switch (e.type) {
    case 'class':
      return { ...state, header: e.class };
    case 'broadcast':
      return { ...state, broadcasts: [...state.broadcasts, { message: e.message, at: e.at }] };
    case 'pool':
      return { ...state, pool: e.pool };
    case 'joined':
      if (state.learners.some((r) => r.learnerId === e.learnerId)) return state;
      return {
        ...state,
        learners: [
          ...state.learners,
          { learnerId: e.learnerId, name: e.name, joinedAt: e.at, currentStep: null, stepSince: null, done: [], failedChecks: {}, failingSince: null, lastActivity: e.at, sandbox: 'none', activeTab: null },
        ],
      };
    case 'step-opened':
      return updateRow(state, e.learnerId, (r) =>
        r.currentStep === e.stepId
          ? { ...r, lastActivity: Math.max(r.lastActivity, e.at) }
          : { ...r, currentStep: e.stepId, stepSince: e.at, failingSince: null, lastActivity: Math.max(r.lastActivity, e.at) },
      );
    case 'check':
      return updateRow(state, e.learnerId, (r) => ({
        ...r,
        lastActivity: Math.max(r.lastActivity, e.at),
        failedChecks: e.passed ? r.failedChecks : { ...r.failedChecks, [e.stepId]: (r.failedChecks[e.stepId] ?? 0) + 1 },
        failingSince: e.passed ? null : e.stepId === r.currentStep || r.currentStep === null ? (r.failingSince ?? e.at) : r.failingSince,
      }));
    case 'step-done':
      return updateRow(state, e.learnerId, (r) => (r.done.includes(e.stepId) ? r : { ...r, done: [...r.done, e.stepId], lastActivity: Math.max(r.lastActivity, e.at) }));
    case 'sandbox':
      return updateRow(state, e.learnerId, (r) => ({ ...r, sandbox: e.state }));
    case 'tab':
      // Switching tabs is not progress: the idle clock of the board is about steps and checks.
      return updateRow(state, e.learnerId, (r) => ({ ...r, activeTab: { tab: e.tab, title: e.title } }));
    case 'session':
      // The 'sandbox' events that follow carry the state; an extension is the instructor's, not the learner's, activity.
      return state;
  }
}

/** Stuck: checks on the current step have kept failing for longer than `thresholdMs`. */
export function isStuck(row: LearnerRow, now: number, thresholdMs: number): boolean {
  return row.failingSince !== null && row.currentStep !== null && !row.done.includes(row.currentStep) && now - row.failingSince > thresholdMs;
}

/** Idle: nothing from the learner (step change, check) for longer than `idleMs`, and not finished. */
export function isIdle(row: LearnerRow, steps: readonly { id: string }[], now: number, idleMs: number): boolean {
  const finished = steps.length > 0 && steps.every((s) => row.done.includes(s.id));
  return !finished && now - row.lastActivity > idleMs;
}

/** What one board cell shows for a learner and a step. */
export type CellState = 'done' | 'current' | 'failing' | 'todo';

export function cellState(row: LearnerRow, stepId: string): CellState {
  if (row.done.includes(stepId)) return 'done';
  if (row.currentStep === stepId) return row.failingSince !== null ? 'failing' : 'current';
  return 'todo';
}

/** "4 min", "35 s": a duration for a board cell. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
