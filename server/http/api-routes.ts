// The JSON API under /api: catalog, one lab with its steps and the learner's progress, the sandbox
// session's status, the current step, the Check button, past check results and the lab's images. Every body is parsed
// with zod; the learner comes from the auth middleware (principalOf), never from the request body.
// A classroom learner sees only their class's lab; only the instructor may read another learner's results.
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Catalog, Lab, Step } from '../labs/catalog.ts';
import type { Isolation } from '../sandbox/engines.ts';
import type { LearnerSessions } from '../session/learner-sessions.ts';
import type { Store } from '../store/store.ts';
import type { LearnerEvent } from '../../shared/classroom-events.ts';
import type { ActivityDetail } from '../classroom/class-events.ts';
import { Attempts, LabList, LabView, Progress, SessionStatus, StepResult } from '../../shared/api.ts';
import { reply } from './reply.ts';
import { errorMessage, type Logger } from '../log.ts';
import { HttpError } from './http-error.ts';
import { principalOf } from './security.ts';
import { terminalRouter } from './terminal-routes.ts';
import { sendLabAsset } from './lab-assets.ts';

/** Longest answer accepted to a step question: an IP or a name, never an essay. */
const MAX_ANSWER_LENGTH = 500;

export interface ApiContext {
  catalog: Catalog;
  store: Store;
  sessions: LearnerSessions;
  logger: Logger;
  /** How sandboxes are isolated; the lesson page warns a learner whose sandbox is not. */
  isolation: Isolation;
  /** Tells the classroom what a learner did (opened a step, ran a check). */
  emit?: (e: LearnerEvent, detail: ActivityDetail) => void;
}

const CheckBody = z.strictObject({
  answers: z.record(z.string(), z.string().max(MAX_ANSWER_LENGTH)).optional(),
});
const ProgressBody = z.strictObject({ currentStep: z.string().min(1) });

/** Parses a request body with a schema; a mismatch is a 400 naming the first bad field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'body';
  throw new HttpError(`${where}: ${issue?.message ?? 'invalid'}`, 400);
}

export function learnerOf(res: Response): string {
  return principalOf(res).learnerId;
}

/** The lab named in the path, if it exists and the caller may use it (a class member: their class's lab only). */
export function labOf(ctx: { catalog: Catalog }, req: Request, res: Response): Lab {
  return labFor(ctx, String(req.params.labId), res);
}

/** The lab rule, for HTTP routes and WebSocket upgrades alike: the lab exists and the caller may use it. */
export function labFor(ctx: { catalog: Catalog }, id: string, res: Response): Lab {
  const member = principalOf(res).member;
  if (member && member.labId !== id) throw new HttpError(`your class works on lab '${member.labId}', not '${id}'`, 403);
  const lab = ctx.catalog.byId(id);
  if (!lab) throw new HttpError(`no lab '${id}'`, 404, 'Go back to the lab list and pick one that exists.');
  return lab;
}

function stepOf(lab: Lab, id: string): Step | undefined {
  return lab.steps.find((s) => s.id === id);
}

export function apiRouter(ctx: ApiContext): Router {
  const r = Router();

  r.get('/labs', (_req, res) => {
    const progress = ctx.store.allProgress(learnerOf(res));
    const member = principalOf(res).member;
    reply(res, LabList, {
      labs: ctx.catalog.labs.filter((lab) => !member || member.labId === lab.id).map((lab) => {
        const p = progress.get(lab.id);
        const done = new Set(p?.completedSteps);
        return {
          id: lab.id,
          title: lab.title,
          summary: lab.summary,
          minutes: lab.minutes,
          stepCount: lab.steps.length,
          completedCount: lab.steps.filter((s) => done.has(s.id)).length,
          currentStep: p?.currentStep ?? null,
        };
      }),
    });
  });

  r.get('/labs/:labId', (req, res) => {
    const lab = labOf(ctx, req, res);
    const p = ctx.store.getProgress(learnerOf(res), lab.id);
    reply(res, LabView, {
      id: lab.id,
      title: lab.title,
      summary: lab.summary,
      minutes: lab.minutes,
      workspace: lab.workspace,
      steps: lab.steps.map((s) => ({
        id: s.id,
        index: s.index,
        title: s.title,
        html: s.html,
        hints: s.hints,
        questions: s.questions,
        checkCount: s.checks.length,
      })),
      progress: { currentStep: p.currentStep, completedSteps: p.completedSteps },
      isolation: ctx.isolation,
    });
  });

  // Images a lesson shows (the page points relative image paths here).
  r.get('/labs/:labId/assets/*path', (req, res) => sendLabAsset(labOf(ctx, req, res), req, res));

  r.get('/labs/:labId/session', (req, res) => {
    const lab = labOf(ctx, req, res);
    reply(res, SessionStatus, ctx.sessions.status(learnerOf(res), lab.id));
  });

  r.put('/labs/:labId/progress', (req, res) => {
    const lab = labOf(ctx, req, res);
    const learner = learnerOf(res);
    const body = parseBody(ProgressBody, req.body);
    const step = stepOf(lab, body.currentStep);
    if (!step) throw new HttpError(`currentStep: lab '${lab.id}' has no step '${body.currentStep}'`, 400);
    const before = ctx.store.getProgress(learner, lab.id).currentStep;
    ctx.store.setCurrentStep(learner, lab.id, step.id);
    if (before !== step.id) ctx.emit?.({ type: 'step-opened', learnerId: learner, stepId: step.id, at: Date.now() }, { labId: lab.id });
    // Run the step's setup now if the learner has a sandbox (or one is starting); otherwise the
    // terminal's connection starts the sandbox and runs the current step's setup then.
    if (ctx.sessions.status(learner, lab.id).state !== 'none') {
      ctx.sessions.openStep(learner, lab, step).catch((err: unknown) => {
        ctx.logger.warn({ learner, lab: lab.id, step: step.id, err: errorMessage(err) }, 'step setup failed');
      });
    }
    const p = ctx.store.getProgress(learner, lab.id);
    reply(res, Progress, { currentStep: p.currentStep, completedSteps: p.completedSteps });
  });

  r.post('/labs/:labId/steps/:stepId/check', async (req, res) => {
    const lab = labOf(ctx, req, res);
    const learner = learnerOf(res);
    const step = stepOf(lab, String(req.params.stepId));
    if (!step) throw new HttpError(`lab '${lab.id}' has no step '${String(req.params.stepId)}'`, 404);
    const body = parseBody(CheckBody, req.body);
    const known = new Set(step.questions.map((q) => q.id));
    for (const id of Object.keys(body.answers ?? {})) {
      if (!known.has(id)) throw new HttpError(`answers.${id}: step '${step.id}' has no question '${id}'`, 400);
    }
    const result = await ctx.sessions.check(learner, lab, step, body.answers);
    reply(res, StepResult, { ...result, stepId: step.id });
  });

  // Past check results: your own, or (instructor only) any learner's via ?learner=.
  r.get('/labs/:labId/attempts', (req, res) => {
    const lab = labOf(ctx, req, res);
    const me = principalOf(res);
    const asked = req.query.learner;
    const learner = typeof asked === 'string' && asked !== '' ? asked : me.learnerId;
    if (learner !== me.learnerId && !me.owner) throw new HttpError('these are another learner\'s results', 403);
    reply(res, Attempts, { learnerId: learner, attempts: ctx.store.attempts(learner, lab.id) });
  });

  r.use(terminalRouter(ctx));
  return r;
}
