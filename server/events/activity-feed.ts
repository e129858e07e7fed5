// The event feed: every learner event the feed reports (joined, step opened, check run, step done,
// session ended — see xapi.ts) becomes one xAPI statement, appended to the JSON-lines log and handed
// to the webhook, if any. It listens on ClassEvents' activity tap, the one place learner activity is
// reported, and never throws into the learner's request: a feed that fails logs and carries on.
import { randomUUID } from 'node:crypto';
import type { LearnerEvent } from '../../shared/classroom-events.ts';
import type { ActivityDetail, ActivityTap } from '../classroom/class-events.ts';
import type { ClassStore } from '../classroom/class-store.ts';
import { learnerStepResults } from '../classroom/results.ts';
import type { Catalog } from '../labs/catalog.ts';
import type { Disposable } from '../lifetime.ts';
import { errorMessage, silentLogger, type Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { EventLog } from './event-log.ts';
import { WebhookDelivery } from './webhook.ts';
import { toStatement, verbOf, type Statement } from './xapi.ts';

export interface ActivityFeedOptions {
  catalog: Catalog;
  store: Store;
  classes: ClassStore;
  /** The JSON-lines log's path. */
  logFile: string;
  /** The server's public URL with its base path (activity ids and the actors' account home). */
  homePage: () => string;
  webhook?: { url: string; secret: string };
  logger?: Logger;
}

export class ActivityFeed implements Disposable {
  readonly #opts: ActivityFeedOptions;
  readonly #log: EventLog;
  readonly #webhook: WebhookDelivery | undefined;

  constructor(opts: ActivityFeedOptions) {
    this.#opts = opts;
    this.#log = new EventLog(opts.logFile);
    this.#webhook = opts.webhook && new WebhookDelivery({ ...opts.webhook, log: this.#log, cursorFile: `${opts.logFile}.webhook-cursor`, ...(opts.logger && { logger: opts.logger }) });
  }

  readonly tap: ActivityTap = (e, detail) => {
    if (!verbOf(e)) return;
    try {
      const statement = this.#statement(e, detail);
      if (!statement) return;
      const range = this.#log.append(statement);
      this.#webhook?.enqueue(range);
    } catch (err) {
      (this.#opts.logger ?? silentLogger).warn({ learner: e.learnerId, event: e.type, err: errorMessage(err) }, 'could not write an event to the event log');
    }
  };

  #statement(e: LearnerEvent, detail: ActivityDetail): Statement | undefined {
    const { catalog, store, classes } = this.#opts;
    const member = classes.learner(e.learnerId);
    const classId = member?.classId;
    const labId = detail.labId ?? (classId !== undefined ? classes.byId(classId)?.labId : undefined);
    // An event about no lab (a local learner's session notice) has no activity to name.
    if (labId === undefined) return undefined;
    const lab = catalog.byId(labId);
    const stepId = 'stepId' in e ? e.stepId : undefined;
    const step = lab?.steps.find((s) => s.id === stepId);
    let timeOnStepMs: number | undefined;
    if (e.type === 'step-done' && lab) {
      const rows = learnerStepResults(lab.steps, store.getProgress(e.learnerId, labId), store.attempts(e.learnerId, labId), member?.joinedAt);
      const seconds = rows.find((r) => r.stepId === e.stepId)?.timeOnStepSeconds;
      if (seconds !== null && seconds !== undefined) timeOnStepMs = seconds * 1000;
    }
    return toStatement(e, {
      id: randomUUID(),
      homePage: this.#opts.homePage(),
      learnerName: member?.displayName ?? e.learnerId,
      labId,
      labTitle: lab?.title ?? labId,
      ...(step && { stepTitle: step.title }),
      ...(classId !== undefined && { classId }),
      ...(timeOnStepMs !== undefined && { timeOnStepMs }),
      ...(detail.checks && { checks: detail.checks }),
      ...(detail.durationMs !== undefined && { durationMs: detail.durationMs }),
    });
  }

  /** Stops the webhook (its backlog resumes at the next start) and closes the log; idempotent. */
  dispose(): void {
    this.#webhook?.dispose();
    this.#log.dispose();
  }
}
