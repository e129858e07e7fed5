// Learner activity as xAPI statements (actor, verb, object, result, context, timestamp, id), the
// shape a Learning Record Store takes as it is. Pure: which verb each event is, the activity ids
// (the lab's and the step's URLs on this server), ISO 8601 durations.
import type { LearnerEvent } from '../../shared/classroom-events.ts';

const ADL = 'http://adlnet.gov/expapi';
export const VERBS = {
  initialized: `${ADL}/verbs/initialized`,
  attempted: `${ADL}/verbs/attempted`,
  passed: `${ADL}/verbs/passed`,
  failed: `${ADL}/verbs/failed`,
  completed: `${ADL}/verbs/completed`,
  terminated: `${ADL}/verbs/terminated`,
} as const;
export type Verb = keyof typeof VERBS;
const ACTIVITY_TYPES = { lab: `${ADL}/activities/course`, step: `${ADL}/activities/lesson` } as const;

/** The session notices that end a learner's session (the others warn or extend). */
const ENDINGS = new Set(['ended', 'idle-stopped', 'class-ended']);

export interface Statement {
  id: string;
  actor: { objectType: 'Agent'; name: string; account: { homePage: string; name: string } };
  verb: { id: string; display: { 'en-US': Verb } };
  object: { objectType: 'Activity'; id: string; definition: { name: { 'en-US': string }; type: string } };
  result?: { success?: boolean; completion?: boolean; duration?: string; extensions?: Record<string, unknown> };
  context: { platform: 'labrun'; contextActivities?: { parent: { id: string; objectType: 'Activity' }[] }; extensions: Record<string, unknown> };
  timestamp: string;
}

/** Everything a statement needs beyond the event: who, where, and the titles. */
export interface StatementContext {
  id: string;
  /** The server's public URL with its base path: the actor's account home and the root of activity ids. */
  homePage: string;
  learnerName: string;
  labId: string;
  labTitle: string;
  stepTitle?: string;
  classId?: string;
  /** For a finished step: the time on it. */
  timeOnStepMs?: number;
  /** For a check run: each check and whether it passed, and how long they took. */
  checks?: { name: string; passed: boolean }[];
  durationMs?: number;
}

/** `PT1H2M3.5S`: an xAPI duration (ISO 8601, hundredths of a second at most). */
export function isoDuration(ms: number): string {
  const centis = Math.max(0, Math.round(ms / 10));
  const h = Math.floor(centis / 360_000);
  const m = Math.floor((centis % 360_000) / 6000);
  const s = (centis % 6000) / 100;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s || (!h && !m) ? `${s}S` : ''}`;
}

/** Which verb an event is, or undefined for events that are not learning activity (sandbox states, warnings). */
export function verbOf(e: LearnerEvent): Verb | undefined {
  switch (e.type) {
    case 'joined':
      return 'initialized';
    case 'step-opened':
      return 'attempted';
    case 'check':
      return e.passed ? 'passed' : 'failed';
    case 'step-done':
      return 'completed';
    case 'session':
      return ENDINGS.has(e.kind) ? 'terminated' : undefined;
    default:
      return undefined;
  }
}

export function labActivityId(homePage: string, labId: string): string {
  return `${homePage}/labs/${encodeURIComponent(labId)}`;
}

export function stepActivityId(homePage: string, labId: string, stepId: string): string {
  return `${labActivityId(homePage, labId)}/steps/${encodeURIComponent(stepId)}`;
}

/** The statement for an event, or undefined when the event is not one the feed reports. */
export function toStatement(e: LearnerEvent, c: StatementContext): Statement | undefined {
  const verb = verbOf(e);
  if (!verb) return undefined;
  const ext = (name: string): string => `${c.homePage}/xapi/extensions/${name}`;
  const stepId = 'stepId' in e ? e.stepId : undefined;
  const labActivity = labActivityId(c.homePage, c.labId);
  const object: Statement['object'] =
    stepId === undefined
      ? { objectType: 'Activity', id: labActivity, definition: { name: { 'en-US': c.labTitle }, type: ACTIVITY_TYPES.lab } }
      : { objectType: 'Activity', id: stepActivityId(c.homePage, c.labId, stepId), definition: { name: { 'en-US': c.stepTitle ?? stepId }, type: ACTIVITY_TYPES.step } };
  let result: Statement['result'];
  if (e.type === 'check') {
    result = { success: e.passed, ...(c.durationMs !== undefined && { duration: isoDuration(c.durationMs) }), extensions: { [ext('checks')]: c.checks ?? [] } };
  } else if (e.type === 'step-done') {
    result = { success: true, completion: true, ...(c.timeOnStepMs !== undefined && { duration: isoDuration(c.timeOnStepMs) }) };
  }
  const extensions: Record<string, unknown> = { ...(c.classId !== undefined && { [ext('class')]: c.classId }), ...(e.type === 'session' && { [ext('reason')]: e.kind }) };
  return {
    id: c.id,
    actor: { objectType: 'Agent', name: c.learnerName, account: { homePage: c.homePage, name: e.learnerId } },
    verb: { id: VERBS[verb], display: { 'en-US': verb } },
    object,
    ...(result && { result }),
    context: { platform: 'labrun', ...(stepId !== undefined && { contextActivities: { parent: [{ id: labActivity, objectType: 'Activity' as const }] } }), extensions },
    timestamp: new Date(e.at).toISOString(),
  };
}
