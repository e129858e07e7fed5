// Rate limits on the routes a stuck client or a script could hammer (express-rate-limit, in memory:
// one server process): sign-in (a ?token= exchange) and joining a class per client address — through
// a trusted proxy, the address it reports (req.ip) — and the Check button per learner (their cookie),
// so one classroom behind one NAT address does not share a single learner's allowance. Over the
// limit: 429 with Retry-After, in the same error shape as every other refusal.
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { RateLimitName, RateLimits } from '../config.ts';
import { HttpError } from './http-error.ts';
import { principalOf } from './security.ts';

const WHAT: Record<RateLimitName, string> = {
  'sign-in': 'sign-in attempts from this address',
  join: 'join requests from this address',
  check: 'check runs',
};

/** One route's limiter; `perLearner` keys it by the signed-in learner (after requireAuth), else by address. */
export function rateLimiter(name: RateLimitName, limits: RateLimits, opts: { perLearner?: boolean; skip?: (req: Request) => boolean } = {}): RequestHandler {
  const { max, windowMs } = limits[name];
  if (max === 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs,
    limit: max,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: name,
    keyGenerator: (req, res) => (opts.perLearner ? `learner:${principalOf(res).learnerId}` : ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? '')),
    ...(opts.skip && { skip: opts.skip }),
    handler: (_req, res, next) => {
      const wait = res.getHeader('Retry-After');
      next(new HttpError(`too many ${WHAT[name]}: at most ${max} per ${Math.round(windowMs / 1000)} s`, 429, `Try again in ${String(wait ?? Math.ceil(windowMs / 1000))} s.`));
    },
  });
}
