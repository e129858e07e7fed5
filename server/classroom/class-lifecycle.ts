// A class's sandboxes across its life: at start, sandboxes an earlier server run left are handed
// back — a learner's to the learner (a pool sandbox's label still says "pool" after it was handed
// out, so the class store says to whom), an unassigned pool one back to its lab's pool while a class
// runs that lab — and at the end of a class every learner's session is stopped, its pool drained and
// its terminal recordings removed.
import type { Catalog } from '../labs/catalog.ts';
import { errorMessage, type Logger } from '../log.ts';
import type { LearnerSessions } from '../session/learner-sessions.ts';
import type { ClassEvents } from './class-events.ts';
import { classHeader } from './class-events.ts';
import type { ClassInfo, ClassStore } from './class-store.ts';
import { POOL_LEARNER, type WarmPool } from './warm-pool.ts';
import type { Recordings } from '../recording/recordings.ts';

export interface ClassLifecycleContext {
  catalog: Catalog;
  classes: ClassStore;
  sessions: LearnerSessions;
  pool: WarmPool;
  events: ClassEvents;
  logger: Logger;
  /** The class's terminal recordings, removed when it ends. */
  recordings?: Recordings;
}

export function activeClassesOf(classes: ClassStore, labId: string): ClassInfo[] {
  return classes.classes().filter((c) => c.labId === labId && c.endedAt === null);
}

/** Re-adopts the sandboxes of an earlier run; returns how many went back to learners. */
export function adoptEarlierSandboxes(ctx: ClassLifecycleContext): Promise<number> {
  return ctx.sessions.adoptExisting(
    (sb) => (sb.learnerId === POOL_LEARNER ? (ctx.classes.assignmentOf(sb.id)?.learnerId ?? null) : sb.learnerId),
    (sb) => {
      const lab = ctx.catalog.byId(sb.labId);
      if (lab && activeClassesOf(ctx.classes, lab.id).length > 0) ctx.pool.adopt(sb, lab);
      else void sb.destroy().catch((err: unknown) => ctx.logger.warn({ lab: sb.labId, sandbox: sb.id, err: errorMessage(err) }, 'could not remove an unused pool sandbox'));
    },
  );
}

/** Ends a class: no more joins, every learner's sandbox stopped (each told why), the lab's pool drained if no class uses it. */
export async function endClass(ctx: ClassLifecycleContext, cls: ClassInfo): Promise<{ destroyed: number }> {
  ctx.classes.end(cls.id);
  // Drain the pool first: it turns away learners still waiting for a seat, whose sessions would
  // otherwise keep their removal waiting.
  if (activeClassesOf(ctx.classes, cls.labId).length === 0) await ctx.pool.drain(cls.labId);
  const learners = ctx.classes.learners(cls.id).map((l) => l.learnerId);
  const failed = await ctx.sessions.stopAll(learners, cls.labId, 'class-ended');
  for (const learnerId of learners) ctx.events.publish(cls.id, { type: 'sandbox', learnerId, state: 'ended', at: Date.now() });
  await ctx.recordings?.removeClass(cls.id).catch((err: unknown) => ctx.logger.warn({ class: cls.id, err: errorMessage(err) }, 'could not remove the class\'s recordings'));
  if (failed > 0) ctx.logger.warn({ class: cls.id, lab: cls.labId, failed }, 'sandboxes of an ended class could not be removed; reaping at the next start will');
  ctx.events.publish(cls.id, { type: 'class', class: classHeader(ctx.classes.byId(cls.id) ?? cls, ctx.catalog) });
  return { destroyed: learners.length - failed };
}
