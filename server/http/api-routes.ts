// The JSON API under /api: catalog, one lab with its steps and the learner's progress, the sandbox
// session's status, the current step, and the Check button. Every body is parsed with zod; the
// learner comes from the auth middleware (res.locals.learnerId), never from the request body.
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { runStepChecks } from '../checks/run-step.ts';
import type { Catalog, Lab, Step } from '../labs/catalog.ts';
import type { LabSessions } from '../session/lab-sessions.ts';
import type { Store } from '../store/store.ts';
import { HttpError } from './http-error.ts';

/** Longest answer accepted to a step question: an IP or a name, never an essay. */
const MAX_ANSWER_LENGTH = 500;

export interface ApiContext {
  catalog: Catalog;
  store: Store;
  sessions: LabSessions;
  log: (line: string) => void;
}

const CheckBody = z.strictObject({
  answers: z.record(z.string(), z.string().max(MAX_ANSWER_LENGTH)).optional(),
});
const ProgressBody = z.strictObject({ currentStep: z.string().min(1) });

/** Parses a request body with a schema; a mismatch is a 400 naming the first bad field. */
function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length ? issue.path.join('.') : 'body';
  throw new HttpError(`${where}: ${issue?.message ?? 'invalid'}`, 400);
}

export function learnerOf(res: Response): string {
  const id = z.string().safeParse(res.locals.learnerId);
  if (!id.success) throw new HttpError('not signed in', 401);
  return id.data;
}

function labOf(ctx: ApiContext, req: Request): Lab {
  const id = String(req.params.labId);
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
    res.json({
      labs: ctx.catalog.labs.map((lab) => {
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
    const lab = labOf(ctx, req);
    const p = ctx.store.getProgress(learnerOf(res), lab.id);
    res.json({
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
    });
  });

  r.get('/labs/:labId/session', (req, res) => {
    const lab = labOf(ctx, req);
    res.json(ctx.sessions.status(learnerOf(res), lab.id));
  });

  r.put('/labs/:labId/progress', (req, res) => {
    const lab = labOf(ctx, req);
    const learner = learnerOf(res);
    const body = parseBody(ProgressBody, req.body);
    const step = stepOf(lab, body.currentStep);
    if (!step) throw new HttpError(`currentStep: lab '${lab.id}' has no step '${body.currentStep}'`, 400);
    ctx.store.setCurrentStep(learner, lab.id, step.id);
    // Run the step's setup now if the learner has a sandbox (or one is starting); otherwise the
    // terminal's connection starts the sandbox and runs the current step's setup then.
    if (ctx.sessions.status(learner, lab.id).state !== 'none') {
      ctx.sessions.openStep(learner, lab, step).catch((err: unknown) => {
        ctx.log(`setup of ${lab.id}/${step.id} for ${learner} failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
    const p = ctx.store.getProgress(learner, lab.id);
    res.json({ currentStep: p.currentStep, completedSteps: p.completedSteps });
  });

  r.post('/labs/:labId/steps/:stepId/check', async (req, res) => {
    const lab = labOf(ctx, req);
    const learner = learnerOf(res);
    const step = stepOf(lab, String(req.params.stepId));
    if (!step) throw new HttpError(`lab '${lab.id}' has no step '${String(req.params.stepId)}'`, 404);
    const body = parseBody(CheckBody, req.body);
    const known = new Set(step.questions.map((q) => q.id));
    for (const id of Object.keys(body.answers ?? {})) {
      if (!known.has(id)) throw new HttpError(`answers.${id}: step '${step.id}' has no question '${id}'`, 400);
    }
    const sandbox = await ctx.sessions.openStep(learner, lab, step);
    const result = await runStepChecks(sandbox, lab, step, body.answers);
    ctx.store.recordAttempt(learner, lab.id, step.id, result.passed, result);
    const p = ctx.store.getProgress(learner, lab.id);
    res.json({ ...result, stepId: step.id, completedSteps: p.completedSteps });
  });

  return r;
}
