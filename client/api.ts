// The browser's side of the JSON API: one function per route, every response parsed with the shared
// schemas the server builds its answers from (shared/api.ts): the server is another program, so a
// mismatch shows a clear error instead of undefined in the page.
import { appPath } from './paths.ts';
import {
  ActiveTab,
  Broadcast,
  ClassList,
  ClassView,
  EndedClass,
  ErrorBody,
  JoinInfo,
  Joined,
  LabList,
  LabView,
  LearnerEnded,
  LearnerExtended,
  LearnerReset,
  Me,
  PoolPlan,
  Progress,
  RecordingList,
  SessionStatus,
  StepResult,
  TerminalTab,
  TerminalTabs,
  type LabSummary,
} from '../shared/api.ts';
import type { z } from 'zod';

export type { RecordingInfo, RecordingList } from '../shared/api.ts';
export type { TerminalTab, TerminalTabs } from '../shared/api.ts';
export type { CheckResult, ClassView, JoinInfo, LabSummary, LabView, Me, Progress, SessionStatus, StepResult, StepView } from '../shared/api.ts';

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

async function call<T>(schema: z.ZodType<T>, url: string, init?: { method: string; body?: unknown }): Promise<T> {
  const res = await fetch(appPath(url), {
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

const enc = encodeURIComponent;

export const api = {
  labs: async (): Promise<LabSummary[]> => (await call(LabList, '/api/labs')).labs,
  lab: (labId: string): Promise<LabView> => call(LabView, `/api/labs/${enc(labId)}`),
  session: (labId: string): Promise<SessionStatus> => call(SessionStatus, `/api/labs/${enc(labId)}/session`),
  setCurrentStep: (labId: string, currentStep: string): Promise<Progress> =>
    call(Progress, `/api/labs/${enc(labId)}/progress`, { method: 'PUT', body: { currentStep } }),
  check: (labId: string, stepId: string, answers: Record<string, string>): Promise<StepResult> =>
    call(StepResult, `/api/labs/${enc(labId)}/steps/${enc(stepId)}/check`, { method: 'POST', body: { answers } }),
  me: (): Promise<Me> => call(Me, '/api/me'),
  joinInfo: (code: string): Promise<JoinInfo> => call(JoinInfo, `/api/join/${enc(code)}`),
  join: (code: string, name: string): Promise<z.infer<typeof Joined>> => call(Joined, `/api/join/${enc(code)}`, { method: 'POST', body: { name } }),
  classes: async (): Promise<ClassView[]> => (await call(ClassList, '/api/classes')).classes,
  classInfo: (id: string): Promise<ClassView> => call(ClassView, `/api/classes/${enc(id)}`),
  createClass: (labId: string, name: string): Promise<ClassView> => call(ClassView, '/api/classes', { method: 'POST', body: { labId, ...(name && { name }) } }),
  setJoinOpen: (id: string, open: boolean): Promise<ClassView> => call(ClassView, `/api/classes/${enc(id)}/join`, { method: 'POST', body: { open } }),
  endClass: (id: string): Promise<z.infer<typeof EndedClass>> => call(EndedClass, `/api/classes/${enc(id)}/end`, { method: 'POST', body: {} }),
  broadcast: (id: string, message: string): Promise<z.infer<typeof Broadcast>> => call(Broadcast, `/api/classes/${enc(id)}/broadcast`, { method: 'POST', body: { message } }),
  resetLearner: (id: string, learnerId: string, stepId: string): Promise<z.infer<typeof LearnerReset>> =>
    call(LearnerReset, `/api/classes/${enc(id)}/learners/${enc(learnerId)}/reset`, { method: 'POST', body: { stepId } }),
  extendLearner: (id: string, learnerId: string, minutes: number): Promise<z.infer<typeof LearnerExtended>> =>
    call(LearnerExtended, `/api/classes/${enc(id)}/learners/${enc(learnerId)}/extend`, { method: 'POST', body: { minutes } }),
  endLearner: (id: string, learnerId: string): Promise<z.infer<typeof LearnerEnded>> =>
    call(LearnerEnded, `/api/classes/${enc(id)}/learners/${enc(learnerId)}/end`, { method: 'POST', body: {} }),
  setRecording: (id: string, on: boolean): Promise<ClassView> => call(ClassView, `/api/classes/${enc(id)}/recording`, { method: 'POST', body: { on } }),
  recordings: (labId: string, learnerId?: string): Promise<RecordingList> =>
    call(RecordingList, `/api/labs/${enc(labId)}/recordings${learnerId ? `?learner=${enc(learnerId)}` : ''}`),
  terminals: (labId: string, learnerId?: string): Promise<TerminalTabs> =>
    call(TerminalTabs, `/api/labs/${enc(labId)}/terminals${learnerId === undefined ? '' : `?learner=${enc(learnerId)}`}`),
  openTerminal: (labId: string, want: { id?: string; title?: string } = {}): Promise<TerminalTab> =>
    call(TerminalTab, `/api/labs/${enc(labId)}/terminals`, { method: 'POST', body: want }),
  renameTerminal: (labId: string, id: string, title: string): Promise<TerminalTab> =>
    call(TerminalTab, `/api/labs/${enc(labId)}/terminals/${enc(id)}`, { method: 'PATCH', body: { title } }),
  closeTerminal: (labId: string, id: string): Promise<TerminalTabs> => call(TerminalTabs, `/api/labs/${enc(labId)}/terminals/${enc(id)}`, { method: 'DELETE' }),
  setActiveTab: (labId: string, tab: string, title: string): Promise<z.infer<typeof ActiveTab>> =>
    call(ActiveTab, `/api/labs/${enc(labId)}/workspace/active`, { method: 'PUT', body: { tab, title } }),
  sizePool: (id: string, size: number, force: boolean): Promise<PoolPlan> => call(PoolPlan, `/api/classes/${enc(id)}/pool`, { method: 'POST', body: { size, force } }),
};

export { wsUrl } from './paths.ts';

/** Where a recording is read from (the player) or, with `download`, saved as `<id>.cast`. */
export function recordingUrl(labId: string, id: string, learnerId: string | undefined, download: boolean): string {
  const q = [learnerId ? `learner=${enc(learnerId)}` : '', download ? 'download' : ''].filter(Boolean).join('&');
  return appPath(`/api/labs/${enc(labId)}/recordings/${enc(id)}.cast${q ? `?${q}` : ''}`);
}
