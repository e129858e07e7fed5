// The HTTP API's responses, declared once (as protocol.ts declares the WebSocket frames): the server's
// routes build their bodies as these types (server/http/reply.ts), and the browser parses every answer
// with them (client/api.ts). Renaming a field here breaks the build of both sides, not the page at run time.
import * as z from 'zod';

/** Every error answer: what went wrong, and what to do when the server knows. */
export const ErrorBody = z.object({ error: z.string(), hint: z.string().optional() });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const Health = z.object({ ok: z.literal(true) });

/**
 * Terminal tabs of a learner's session in a lab. An id is short and URL-safe (`&term=<id>` on the
 * terminal socket, `terminal=<id>` on a code block); the first terminal is '1', so a client that
 * names none gets it.
 */
export const TERMINAL_ID_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const DEFAULT_TERMINAL_ID = '1';
/** Shells per learner and lab: enough for a server, a client and a watcher, few enough that 60 learners stay cheap. */
export const MAX_TERMINALS = 6;
/** A tab's title fits the strip. */
export const MAX_TAB_TITLE = 40;
export const TerminalTab = z.object({ id: z.string(), title: z.string() });
export type TerminalTab = z.infer<typeof TerminalTab>;
/** The workspace tab a learner has in front (a terminal's id is `term:<id>`). */
export const ActiveTab = z.object({ tab: z.string(), title: z.string() });
export const TerminalTabs = z.object({
  terminals: z.array(TerminalTab),
  /** The tab the learner last reported as in front, if any. */
  active: ActiveTab.nullable(),
  limit: z.number(),
});
export type TerminalTabs = z.infer<typeof TerminalTabs>;

/** A learner's sandbox for a lab, as the session owner reports it (the board adds 'ended'). */
export const SessionState = z.enum(['none', 'waiting', 'starting', 'ready', 'failed']);
export type SessionState = z.infer<typeof SessionState>;

export const Isolation = z.enum(['isolated', 'trusted']);

export const LabSummary = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  minutes: z.number(),
  stepCount: z.number(),
  completedCount: z.number(),
  currentStep: z.string().nullable(),
});
export type LabSummary = z.infer<typeof LabSummary>;
export const LabList = z.object({ labs: z.array(LabSummary) });

export const Progress = z.object({ currentStep: z.string().nullable(), completedSteps: z.array(z.string()) });
export type Progress = z.infer<typeof Progress>;

export const StepView = z.object({
  id: z.string(),
  index: z.number(),
  title: z.string(),
  html: z.string(),
  hints: z.array(z.string()),
  questions: z.array(z.object({ id: z.string(), prompt: z.string() })),
  checkCount: z.number(),
});
export type StepView = z.infer<typeof StepView>;

export const LabView = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  minutes: z.number(),
  workspace: z.string(),
  steps: z.array(StepView),
  progress: Progress,
  isolation: Isolation,
});
export type LabView = z.infer<typeof LabView>;

export const SessionStatus = z.object({
  state: SessionState,
  /** Latest creation progress while starting (and the final 'ready' step after). */
  progress: z.object({ step: z.string(), message: z.string(), elapsedMs: z.number() }).nullable(),
  error: z.string().optional(),
  hint: z.string().optional(),
  /** Something the learner should know, e.g. that their sandbox was replaced. */
  notice: z.string().optional(),
});
export type SessionStatus = z.infer<typeof SessionStatus>;

/** One expectation's outcome: what was expected, what came back, and a sentence to act on. */
const Outcome = z.object({
  kind: z.string(),
  passed: z.boolean(),
  expected: z.string(),
  got: z.string(),
  reason: z.string(),
});
export const CheckResult = z.object({
  name: z.string(),
  passed: z.boolean(),
  /** Where it ran: `service nginx_a` or `sandbox shell`. */
  where: z.string(),
  command: z.string().optional(),
  exitCode: z.number().nullable(),
  timedOut: z.boolean(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
  /** Extra commands expectations ran (e.g. `getent hosts nginx_b in nginx_a`). */
  probes: z.array(z.string()),
  expectations: z.array(Outcome),
  hint: z.string().optional(),
  /** Set when the check could not run at all (sandbox gone, service missing…). */
  error: z.string().optional(),
  durationMs: z.number(),
});
export type CheckResult = z.infer<typeof CheckResult>;

export const StepResult = z.object({
  passed: z.boolean(),
  durationMs: z.number(),
  checks: z.array(CheckResult),
  stepId: z.string(),
  completedSteps: z.array(z.string()),
});
export type StepResult = z.infer<typeof StepResult>;

export const Attempts = z.object({
  learnerId: z.string(),
  attempts: z.array(z.object({ stepId: z.string(), passed: z.boolean(), result: z.unknown(), at: z.number() })),
});

export const Me = z.object({
  learnerId: z.string(),
  instructor: z.boolean(),
  name: z.string().nullable(),
  class: z.object({ id: z.string(), name: z.string(), labId: z.string() }).nullable(),
});
export type Me = z.infer<typeof Me>;

export const JoinInfo = z.object({
  className: z.string(),
  labTitle: z.string(),
  labId: z.string(),
  joinOpen: z.boolean(),
  ended: z.boolean(),
  you: z.object({ learnerId: z.string(), name: z.string() }).nullable(),
});
export type JoinInfo = z.infer<typeof JoinInfo>;

export const Joined = z.object({ learnerId: z.string(), labId: z.string(), resumed: z.boolean() });

export const ClassView = z.object({
  id: z.string(),
  labId: z.string(),
  labTitle: z.string(),
  name: z.string(),
  joinCode: z.string(),
  joinOpen: z.boolean(),
  joinUrl: z.string(),
  createdAt: z.number(),
  endedAt: z.number().nullable(),
  learnerCount: z.number(),
  /** Whether the learners' terminals are recorded. */
  recording: z.boolean(),
});
export type ClassView = z.infer<typeof ClassView>;
export const ClassList = z.object({ classes: z.array(ClassView) });
export const EndedClass = ClassView.extend({ destroyed: z.number() });

export const Broadcast = z.object({ sent: z.literal(true) });

/** One recorded terminal session (asciicast v2), downloadable as `<id>.cast`. */
export const RecordingInfo = z.object({ id: z.string(), labId: z.string(), startedAt: z.number(), bytes: z.number() });
export type RecordingInfo = z.infer<typeof RecordingInfo>;
export const RecordingList = z.object({ learnerId: z.string(), recording: z.boolean(), recordings: z.array(RecordingInfo) });
export type RecordingList = z.infer<typeof RecordingList>;
export const LearnerReset = z.object({ learnerId: z.string(), currentStep: z.string() });
/** When the learner's sandbox is reclaimed if idle; null = never. */
export const LearnerExtended = z.object({ learnerId: z.string(), idleDeadline: z.number().nullable() });
export const LearnerEnded = z.object({ learnerId: z.string(), ended: z.literal(true) });

/** The warm pool of a lab: sandboxes wanted, ready, being made, handed out, failed; learners waiting. */
export const PoolStatus = z.object({
  target: z.number(),
  ready: z.number(),
  preparing: z.number(),
  assigned: z.number(),
  failed: z.number(),
  waiting: z.number(),
  message: z.string().optional(),
});
export type PoolStatus = z.infer<typeof PoolStatus>;

const Level = z.enum(['ok', 'warn', 'refuse']);
const ResourcePlan = z.object({ name: z.string(), level: Level, needed: z.number(), usable: z.number(), fits: z.number(), text: z.string() });
export const PoolPlan = z.object({
  ok: z.boolean(),
  message: z.string(),
  capacity: z.object({
    level: Level,
    fits: z.number(),
    tightest: z.string().optional(),
    resources: z.array(ResourcePlan),
    message: z.string(),
  }),
  status: PoolStatus,
});
export type PoolPlan = z.infer<typeof PoolPlan>;

/** GET /readyz: whether new learners can get a sandbox now, and if not, why (503). */
export const Readiness = z.object({ ready: z.boolean(), problems: z.array(z.string()) });
export type Readiness = z.infer<typeof Readiness>;

/** Where a learner is on one step of a class's lab, as the results export lists it. */
export const StepState = z.enum(['done', 'current', 'not started']);
export const LearnerStepResult = z.object({
  stepNumber: z.number(),
  stepId: z.string(),
  stepTitle: z.string(),
  state: StepState,
  /** When the step's checks first passed (ISO 8601), or null. */
  doneAt: z.string().nullable(),
  attempts: z.number(),
  failedAttempts: z.number(),
  /** From the learner's previous finished step (or joining) to this one's first pass, in seconds; null until done. */
  timeOnStepSeconds: z.number().nullable(),
});
export type LearnerStepResult = z.infer<typeof LearnerStepResult>;

/** GET /api/classes/:id/results.json (and `labrun export --format json`): a class's results. */
export const ClassResults = z.object({
  class: z.object({ id: z.string(), name: z.string(), labId: z.string(), labTitle: z.string(), createdAt: z.string(), endedAt: z.string().nullable() }),
  steps: z.array(z.object({ id: z.string(), title: z.string() })),
  learners: z.array(z.object({ learnerId: z.string(), name: z.string(), joinedAt: z.string(), steps: z.array(LearnerStepResult) })),
});
export type ClassResults = z.infer<typeof ClassResults>;
