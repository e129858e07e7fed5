// The app's one router, mounted at the base path (app.ts): every route and WebSocket upgrade in one
// chain of guards — Host, the service routes (health, readiness, metrics), the token exchange, the
// public client files and join API, then for everything else the WebSocket Origin rule, the cookie,
// the CSRF rule and the body parser. The port preview comes first: it checks the cookie itself at its
// entry and then admits whoever holds its ticket (server/preview/), and a previewed app's own
// `?token=` or bodies are not labrun's to read. Routes any feature adds here inherit the base path and guards.
import express, { Router } from 'express';
import type { RateLimits } from '../config.ts';
import type { Isolation } from '../sandbox/engines.ts';
import type { Logger } from '../log.ts';
import { previewRouter } from '../preview/preview-routes.ts';
import { workspaceRouter } from '../workspace/workspace-routes.ts';
import { apiRouter } from './api-routes.ts';
import type { Auth } from './auth.ts';
import { classroomRouter, joinRouter, type ClassroomContext } from './classroom-routes.ts';
import { clientRouter, publicClientRouter } from './client-routes.ts';
import { HttpError, errorHandler } from './http-error.ts';
import type { OriginPolicy } from './origin.ts';
import { rateLimiter } from './rate-limits.ts';
import { csrfGuard, requireAuth, tokenExchange, upgradeOriginGuard } from './security.ts';
import { serviceRouter, type ServiceContext } from './service-routes.ts';
import type { TrustedProxies } from './trusted-proxy.ts';
import { upgradesOnlyUnder, type WsUpgrades } from './ws-upgrade.ts';
import { wsRouter } from './ws-routes.ts';
import { recordingRouter } from './recording-routes.ts';

/** Largest JSON body: answers and a step id; anything bigger is a mistake or an attack. */
const JSON_LIMIT = '64kb';

export interface AppRoutesContext {
  classroom: ClassroomContext;
  auth: Auth;
  policy: OriginPolicy;
  proxies: TrustedProxies;
  upgrades: WsUpgrades;
  service: ServiceContext;
  rateLimits: RateLimits;
  isolation: Isolation;
  /** The server's secret (its token), from which the preview tickets' key is derived. */
  secret: string;
  logger: Logger;
}

export function appRoutes(ctx: AppRoutesContext): Router {
  const { classroom, auth, policy, proxies, logger } = ctx;
  const r = Router();
  const { catalog, store, sessions, events } = classroom;
  r.use(upgradesOnlyUnder('/ws/', '/preview/'));
  r.use('/preview', previewRouter({ catalog, sessions, auth, secret: ctx.secret, upgrades: ctx.upgrades, logger }));
  r.use(serviceRouter(ctx.service));
  r.use(rateLimiter('sign-in', ctx.rateLimits, { skip: (req) => req.query.token === undefined }), tokenExchange(auth));
  r.use(publicClientRouter());
  r.use('/api/join', rateLimiter('join', ctx.rateLimits), csrfGuard(policy, proxies), express.json({ limit: JSON_LIMIT }), joinRouter(classroom, auth));
  // Every other route, WebSocket upgrades included: Origin (upgrades), then the cookie, then CSRF (writes).
  r.use(upgradeOriginGuard(policy, (origin, host) => logger.warn({ origin, host }, 'refused a WebSocket from another origin'), proxies));
  r.use(requireAuth(auth), csrfGuard(policy, proxies), express.json({ limit: JSON_LIMIT }));
  r.use('/ws', wsRouter({ ...classroom, upgrades: ctx.upgrades }));
  r.post('/api/labs/:labId/steps/:stepId/check', rateLimiter('check', ctx.rateLimits, { perLearner: true }));
  r.use('/api', classroomRouter(classroom), recordingRouter(classroom), apiRouter({ catalog, store, sessions, logger, isolation: ctx.isolation, emit: (e, d) => events.learner(e, d) }), workspaceRouter({ catalog, sessions }));
  r.use('/api', (req) => {
    throw new HttpError(`no API route ${req.method} ${req.originalUrl}`, 404);
  });
  r.use(clientRouter(catalog));
  r.use((req) => {
    throw new HttpError(`nothing at ${req.path}`, 404);
  });
  r.use(errorHandler(logger));
  return r;
}
