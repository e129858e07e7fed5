// The routes a service's operators use, under the base path like everything else: /healthz (the
// process answers; no auth, for a load balancer), /readyz (new learners can get a sandbox: the
// engines answer, the images are there, no warm pool has stopped; 503 with the reasons otherwise; no
// auth, it names no learner) and /metrics (Prometheus text, only with --metrics-token as a bearer token).
import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import { Health, Readiness } from '../../shared/api.ts';
import type { Metrics } from '../service/metrics.ts';
import { HttpError } from './http-error.ts';
import { reply } from './reply.ts';

export interface ServiceContext {
  metrics: Metrics;
  /** undefined = /metrics is not served (it would tell anyone how many learners are where). */
  metricsToken: string | undefined;
  /** Sentences naming what stops new sandboxes now; empty = ready. */
  readiness: () => Promise<string[]>;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m?.[1]) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function serviceRouter(ctx: ServiceContext): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => reply(res, Health, { ok: true }));

  r.get('/readyz', async (_req, res) => {
    const problems = await ctx.readiness();
    res.setHeader('Cache-Control', 'no-store');
    reply(res, Readiness, { ready: problems.length === 0, problems }, problems.length === 0 ? 200 : 503);
  });

  r.get('/metrics', async (req, res) => {
    const token = ctx.metricsToken;
    if (token === undefined) throw new HttpError('metrics are off', 404, 'Start labrun serve with --metrics-token to serve them.');
    if (!bearerMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="labrun metrics"');
      throw new HttpError('metrics need the metrics token as a bearer token', 401);
    }
    res.setHeader('Content-Type', ctx.metrics.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(await ctx.metrics.text());
  });
  return r;
}
