// The browser's side of the JSON API: one function per route, every response parsed with zod (the
// server is another program; a mismatch shows a clear error instead of undefined in the page).
import { z } from 'zod';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const ErrorBody = z.object({ error: z.string(), hint: z.string().optional() });

async function call<T>(schema: z.ZodType<T>, url: string, init?: { method: string; body?: unknown }): Promise<T> {
  const res = await fetch(url, {
    method: init?.method ?? 'GET',
    headers: init?.body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: init?.body === undefined ? null : JSON.stringify(init.body),
    credentials: 'same-origin',
  });
  const raw: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const err = ErrorBody.safeParse(raw);
    if (err.success) throw new ApiError(err.data.error, res.status, err.data.hint);
    throw new ApiError(`the server answered ${res.status} ${res.statusText}`, res.status);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ApiError(`unexpected answer from ${url}: ${parsed.error.issues[0]?.message ?? ''}`, 502);
  return parsed.data;
}

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

const Progress = z.object({ currentStep: z.string().nullable(), completedSteps: z.array(z.string()) });
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
  isolation: z.enum(['isolated', 'trusted']),
});
export type LabView = z.infer<typeof LabView>;

export const SessionStatus = z.object({
  state: z.enum(['none', 'waiting', 'starting', 'ready', 'failed']),
  progress: z.object({ step: z.string(), message: z.string(), elapsedMs: z.number() }).nullable(),
  error: z.string().optional(),
  hint: z.string().optional(),
  notice: z.string().optional(),
});
export type SessionStatus = z.infer<typeof SessionStatus>;

/** One expectation's outcome; fields are optional so a richer server result still renders. */
const Outcome = z.looseObject({
  kind: z.string().optional(),
  passed: z.boolean(),
  expected: z.string().optional(),
  got: z.string().optional(),
  reason: z.string().optional(),
});
export const CheckResult = z.looseObject({
  name: z.string(),
  passed: z.boolean(),
  /** Where it ran: `service nginx_a` or `sandbox shell`. */
  where: z.string(),
  command: z.string().optional(),
  exitCode: z.number().nullable(),
  timedOut: z.boolean(),
  stdout: z.string(),
  stderr: z.string(),
  probes: z.array(z.string()),
  expectations: z.array(Outcome),
  hint: z.string().optional(),
  error: z.string().optional(),
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
});
export type ClassView = z.infer<typeof ClassView>;

const PoolPlan = z.object({ ok: z.boolean(), message: z.string() });

const enc = encodeURIComponent;

export const api = {
  labs: async (): Promise<LabSummary[]> => (await call(z.object({ labs: z.array(LabSummary) }), '/api/labs')).labs,
  lab: (labId: string): Promise<LabView> => call(LabView, `/api/labs/${enc(labId)}`),
  session: (labId: string): Promise<SessionStatus> => call(SessionStatus, `/api/labs/${enc(labId)}/session`),
  setCurrentStep: (labId: string, currentStep: string): Promise<Progress> =>
    call(Progress, `/api/labs/${enc(labId)}/progress`, { method: 'PUT', body: { currentStep } }),
  check: (labId: string, stepId: string, answers: Record<string, string>): Promise<StepResult> =>
    call(StepResult, `/api/labs/${enc(labId)}/steps/${enc(stepId)}/check`, { method: 'POST', body: { answers } }),
  me: (): Promise<Me> => call(Me, '/api/me'),
  joinInfo: (code: string): Promise<JoinInfo> => call(JoinInfo, `/api/join/${enc(code)}`),
  join: (code: string, name: string): Promise<{ learnerId: string; labId: string }> =>
    call(z.object({ learnerId: z.string(), labId: z.string() }), `/api/join/${enc(code)}`, { method: 'POST', body: { name } }),
  classes: async (): Promise<ClassView[]> => (await call(z.object({ classes: z.array(ClassView) }), '/api/classes')).classes,
  classInfo: (id: string): Promise<ClassView> => call(ClassView, `/api/classes/${enc(id)}`),
  createClass: (labId: string, name: string): Promise<ClassView> => call(ClassView, '/api/classes', { method: 'POST', body: { labId, ...(name && { name }) } }),
  setJoinOpen: (id: string, open: boolean): Promise<ClassView> => call(ClassView, `/api/classes/${enc(id)}/join`, { method: 'POST', body: { open } }),
  endClass: (id: string): Promise<unknown> => call(z.unknown(), `/api/classes/${enc(id)}/end`, { method: 'POST', body: {} }),
  broadcast: (id: string, message: string): Promise<unknown> => call(z.unknown(), `/api/classes/${enc(id)}/broadcast`, { method: 'POST', body: { message } }),
  resetLearner: (id: string, learnerId: string, stepId: string): Promise<unknown> =>
    call(z.unknown(), `/api/classes/${enc(id)}/learners/${enc(learnerId)}/reset`, { method: 'POST', body: { stepId } }),
  extendLearner: (id: string, learnerId: string, minutes: number): Promise<unknown> =>
    call(z.unknown(), `/api/classes/${enc(id)}/learners/${enc(learnerId)}/extend`, { method: 'POST', body: { minutes } }),
  endLearner: (id: string, learnerId: string): Promise<unknown> =>
    call(z.unknown(), `/api/classes/${enc(id)}/learners/${enc(learnerId)}/end`, { method: 'POST', body: {} }),
  sizePool: (id: string, size: number, force: boolean): Promise<{ ok: boolean; message: string }> =>
    call(PoolPlan, `/api/classes/${enc(id)}/pool`, { method: 'POST', body: { size, force } }),
};

/** ws(s)://host + path, for the page's own origin. */
export function wsUrl(pathAndQuery: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${pathAndQuery}`;
}
