// Classroom routes. Public: the join API a learner's browser calls from the join link (look a code up,
// join with a display name → own session cookie). Instructor only (the token's cookie): create a
// class, list classes, open/close its join code, end it (destroying its sandboxes), broadcast a
// message, size its warm pool, download its results (CSV, JSON), reset a learner to a step, extend a learner's idle time or end their session. Anyone signed in: /api/me, who the browser is.
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Catalog, Lab } from '../labs/catalog.ts';
import type { LearnerSessions } from '../session/learner-sessions.ts';
import type { Store } from '../store/store.ts';
import { classHeader, type ClassEvents } from '../classroom/class-events.ts';
import { endClass } from '../classroom/class-lifecycle.ts';
import type { ClassInfo, ClassStore } from '../classroom/class-store.ts';
import { MAX_DISPLAY_NAME, cleanDisplayName, normalizeJoinCode } from '../classroom/join-code.ts';
import type { WarmPool } from '../classroom/warm-pool.ts';
import type { Recordings } from '../recording/recordings.ts';
import { readClassResults, formatResults, resultsFileName } from '../classroom/results-export.ts';
import { Broadcast, ClassList, ClassResults, ClassView, EndedClass, JoinInfo, Joined, LearnerEnded, LearnerExtended, LearnerReset, Me, PoolPlan } from '../../shared/api.ts';
import { errorMessage, type Logger } from '../log.ts';
import type { Auth } from './auth.ts';
import { basePathOf } from './base-path.ts';
import { reply } from './reply.ts';
import { HttpError } from './http-error.ts';
import { parseBody } from './api-routes.ts';
import { principalOf, requireInstructor } from './security.ts';

/** Longest broadcast: a sentence or two on every learner's screen. */
const MAX_BROADCAST = 500;
const MAX_CLASS_NAME = 80;

export interface ClassroomContext {
  catalog: Catalog;
  store: Store;
  classes: ClassStore;
  sessions: LearnerSessions;
  events: ClassEvents;
  pool: WarmPool;
  recordings: Recordings;
  logger: Logger;
}

const JoinBody = z.strictObject({ name: z.string().max(MAX_DISPLAY_NAME * 4) });
const CreateBody = z.strictObject({ labId: z.string().min(1), name: z.string().max(MAX_CLASS_NAME).optional() });
const JoinOpenBody = z.strictObject({ open: z.boolean() });
const RecordingBody = z.strictObject({ on: z.boolean() });
const BroadcastBody = z.strictObject({ message: z.string().trim().min(1).max(MAX_BROADCAST) });
const ResetBody = z.strictObject({ stepId: z.string().min(1) });
/** Longest single extension: a whole workshop day. */
const MAX_EXTEND_MINUTES = 8 * 60;
const ExtendBody = z.strictObject({ minutes: z.number().int().min(0).max(MAX_EXTEND_MINUTES).optional() });
const PoolBody = z.strictObject({ size: z.number().int().min(0).max(500), force: z.boolean().optional() });

/** The join link as the instructor's browser reached us: through a trusted proxy, its scheme and host (req.protocol, req.host). */
function joinUrl(req: Request, code: string): string {
  return `${req.protocol}://${req.host ?? 'localhost'}${basePathOf(req)}/join/${code}`;
}

function classJson(req: Request, ctx: ClassroomContext, c: ClassInfo): ClassView {
  const lab = ctx.catalog.byId(c.labId);
  return { ...c, labTitle: lab?.title ?? c.labId, joinUrl: joinUrl(req, c.joinCode), learnerCount: ctx.classes.learners(c.id).length };
}

function classByCode(ctx: ClassroomContext, raw: string): ClassInfo {
  const code = normalizeJoinCode(raw);
  const cls = code === null ? undefined : ctx.classes.byCode(code);
  if (!cls) throw new HttpError(`no class has the join code '${raw}'`, 404, 'Check the code with your instructor.');
  return cls;
}

function classById(ctx: ClassroomContext, req: Request): ClassInfo {
  const cls = ctx.classes.byId(String(req.params.classId));
  if (!cls) throw new HttpError(`no class '${String(req.params.classId)}'`, 404);
  return cls;
}

/** Starts getting a learner their sandbox (a warm one from the pool, else one made on demand) in the background. */
function seatLearner(ctx: ClassroomContext, learnerId: string, lab: Lab): void {
  if (ctx.sessions.has(learnerId, lab.id)) return;
  ctx.sessions.ensure(learnerId, lab).catch((err: unknown) => ctx.logger.warn({ learner: learnerId, lab: lab.id, err: errorMessage(err) }, 'seating a learner failed'));
}

/** Routes that work without signing in: the join page's API. Mount before requireAuth, after the CSRF guard. */
export function joinRouter(ctx: ClassroomContext, auth: Auth): Router {
  const r = Router();

  r.get('/:code', (req, res) => {
    const cls = classByCode(ctx, String(req.params.code));
    const member = auth.principalOf(req)?.member;
    reply(res, JoinInfo, {
      className: cls.name,
      labTitle: ctx.catalog.byId(cls.labId)?.title ?? cls.labId,
      labId: cls.labId,
      joinOpen: cls.joinOpen,
      ended: cls.endedAt !== null,
      you: member && member.classId === cls.id ? { learnerId: member.learnerId, name: ctx.classes.learner(member.learnerId)?.displayName ?? '' } : null,
    });
  });

  r.post('/:code', (req, res) => {
    const cls = classByCode(ctx, String(req.params.code));
    if (cls.endedAt !== null) throw new HttpError('this class has ended', 410);
    const lab = ctx.catalog.byId(cls.labId);
    if (!lab) throw new HttpError(`the class's lab '${cls.labId}' is not on this server`, 404);
    const member = auth.principalOf(req)?.member;
    // The same browser joining again is the same learner: same sandbox, same progress.
    if (member && member.classId === cls.id) {
      seatLearner(ctx, member.learnerId, lab);
      reply(res, Joined, { learnerId: member.learnerId, labId: cls.labId, resumed: true });
      return;
    }
    if (!cls.joinOpen) throw new HttpError('this class is not taking new learners', 403, 'Ask your instructor to open the join code.');
    const body = parseBody(JoinBody, req.body);
    const name = cleanDisplayName(body.name);
    if (name === null) throw new HttpError('name: enter the name the instructor should see', 400);
    // A new browser is always a new learner, even with a name already taken: names are labels, not keys.
    const { learner, secret } = ctx.classes.addLearner(cls.id, name);
    res.setHeader('Set-Cookie', auth.learnerCookieHeader(secret, req.secure));
    ctx.events.learner({ type: 'joined', learnerId: learner.learnerId, name, at: learner.joinedAt }, { labId: cls.labId });
    seatLearner(ctx, learner.learnerId, lab);
    reply(res, Joined, { learnerId: learner.learnerId, labId: cls.labId, resumed: false }, 201);
  });

  return r;
}

/** Routes for signed-in callers; the class management ones for the instructor only. */
export function classroomRouter(ctx: ClassroomContext): Router {
  const r = Router();

  r.get('/me', (_req, res) => {
    const p = principalOf(res);
    const cls = p.member ? ctx.classes.byId(p.member.classId) : undefined;
    reply(res, Me, {
      learnerId: p.learnerId,
      instructor: p.owner,
      name: p.member ? (ctx.classes.learner(p.learnerId)?.displayName ?? null) : null,
      class: cls ? { id: cls.id, name: cls.name, labId: cls.labId } : null,
    });
  });

  const instructor = Router();
  instructor.use(requireInstructor());

  instructor.get('/', (req, res) => {
    reply(res, ClassList, { classes: ctx.classes.classes().map((c) => classJson(req, ctx, c)) });
  });

  instructor.post('/', (req, res) => {
    const body = parseBody(CreateBody, req.body);
    const lab = ctx.catalog.byId(body.labId);
    if (!lab) throw new HttpError(`labId: no lab '${body.labId}'`, 400);
    const name = body.name?.trim() || `${lab.title} — ${new Date().toISOString().slice(0, 10)}`;
    const cls = ctx.classes.createClass(lab.id, name);
    ctx.logger.info({ class: cls.id, lab: lab.id, joinCode: cls.joinCode }, 'class created');
    reply(res, ClassView, classJson(req, ctx, cls), 201);
  });

  instructor.get('/:classId', (req, res) => {
    reply(res, ClassView, classJson(req, ctx, classById(ctx, req)));
  });

  // The class's results as a download (the board's two links): one row per learner and step.
  for (const format of ['csv', 'json'] as const) {
    instructor.get(`/:classId/results.${format}`, (req, res) => {
      const cls = classById(ctx, req);
      const results = readClassResults(ctx.store, ctx.classes, cls, ctx.catalog.byId(cls.labId));
      res.setHeader('Content-Disposition', `attachment; filename="${resultsFileName(cls, format)}"`);
      res.setHeader('Cache-Control', 'no-store');
      if (format === 'json') return reply(res, ClassResults, results);
      res.type('text/csv; charset=utf-8').send(formatResults(results, 'csv'));
    });
  }

  instructor.post('/:classId/join', (req, res) => {
    const cls = classById(ctx, req);
    const body = parseBody(JoinOpenBody, req.body);
    if (cls.endedAt !== null && body.open) throw new HttpError('the class has ended; create a new one', 409);
    ctx.classes.setJoinOpen(cls.id, body.open);
    const updated = ctx.classes.byId(cls.id) ?? cls;
    publishHeader(ctx, updated);
    reply(res, ClassView, classJson(req, ctx, updated));
  });

  // Recording of the class's terminals: on from the next output of each learner's terminal; off at once.
  instructor.post('/:classId/recording', async (req, res) => {
    const cls = classById(ctx, req);
    const body = parseBody(RecordingBody, req.body);
    if (cls.endedAt !== null && body.on) throw new HttpError('the class has ended', 409);
    await ctx.recordings.setRecording(cls.id, body.on);
    ctx.logger.info({ class: cls.id, recording: body.on }, `recording turned ${body.on ? 'on' : 'off'}`);
    const updated = ctx.classes.byId(cls.id) ?? cls;
    publishHeader(ctx, updated);
    reply(res, ClassView, classJson(req, ctx, updated));
  });

  instructor.post('/:classId/end', async (req, res) => {
    const cls = classById(ctx, req);
    const { destroyed } = await endClass(ctx, cls);
    reply(res, EndedClass, { ...classJson(req, ctx, ctx.classes.byId(cls.id) ?? cls), destroyed });
  });

  instructor.post('/:classId/broadcast', (req, res) => {
    const cls = classById(ctx, req);
    const body = parseBody(BroadcastBody, req.body);
    ctx.events.publish(cls.id, { type: 'broadcast', message: body.message, at: Date.now() });
    reply(res, Broadcast, { sent: true });
  });

  instructor.post('/:classId/learners/:learnerId/reset', async (req, res) => {
    const cls = classById(ctx, req);
    if (cls.endedAt !== null) throw new HttpError('the class has ended', 409);
    const learner = ctx.classes.learner(String(req.params.learnerId));
    if (!learner || learner.classId !== cls.id) throw new HttpError(`no learner '${String(req.params.learnerId)}' in this class`, 404);
    const lab = ctx.catalog.byId(cls.labId);
    if (!lab) throw new HttpError(`the class's lab '${cls.labId}' is not on this server`, 404);
    const body = parseBody(ResetBody, req.body);
    const step = lab.steps.find((s) => s.id === body.stepId);
    if (!step) throw new HttpError(`stepId: lab '${lab.id}' has no step '${body.stepId}'`, 400);
    await ctx.sessions.resetTo(learner.learnerId, lab, step);
    reply(res, LearnerReset, { learnerId: learner.learnerId, currentStep: step.id });
  });

  const learnerOfClass = (req: Request, cls: ClassInfo): string => {
    const learner = ctx.classes.learner(String(req.params.learnerId));
    if (!learner || learner.classId !== cls.id) throw new HttpError(`no learner '${String(req.params.learnerId)}' in this class`, 404);
    return learner.learnerId;
  };

  // Extend: the learner's idle clock starts over, with `minutes` more than the TTL.
  instructor.post('/:classId/learners/:learnerId/extend', (req, res) => {
    const cls = classById(ctx, req);
    const learnerId = learnerOfClass(req, cls);
    const body = parseBody(ExtendBody, req.body);
    const extraMs = (body.minutes ?? 0) * 60_000;
    const extended = ctx.sessions.extend(learnerId, cls.labId, extraMs);
    if (!extended) throw new HttpError('this learner has no running sandbox to extend', 409, 'It starts again when they open the lab.');
    reply(res, LearnerExtended, { learnerId, idleDeadline: extended.deadline });
  });

  // End: the learner's sandbox goes; their progress and their seat in the class stay (a reload starts a fresh one).
  instructor.post('/:classId/learners/:learnerId/end', async (req, res) => {
    const cls = classById(ctx, req);
    const learnerId = learnerOfClass(req, cls);
    await ctx.sessions.stop(learnerId, cls.labId, 'ended');
    reply(res, LearnerEnded, { learnerId, ended: true });
  });

  instructor.post('/:classId/pool', (req, res) => {
    const cls = classById(ctx, req);
    const lab = ctx.catalog.byId(cls.labId);
    if (!lab) throw new HttpError(`the class's lab '${cls.labId}' is not on this server`, 404);
    if (cls.endedAt !== null) throw new HttpError('the class has ended', 409);
    const body = parseBody(PoolBody, req.body);
    const plan = ctx.pool.resize(lab, body.size, body.force ?? false);
    if (!plan.ok) throw new HttpError(plan.message, 409, 'Lower the head count, free memory on the server, or prepare anyway (force).');
    ctx.logger.info({ class: cls.id, lab: lab.id, headCount: body.size }, `pool sized: ${plan.message}`);
    reply(res, PoolPlan, plan);
  });

  r.use('/classes', instructor);
  return r;
}

function publishHeader(ctx: ClassroomContext, cls: ClassInfo): void {
  ctx.events.publish(cls.id, { type: 'class', class: classHeader(cls, ctx.catalog) });
}
