// The web app, wiring only: builds the long-lived parts (store, catalog, classes and their events,
// sandbox driver, warm pool, learner sessions), puts every HTTP route and WebSocket upgrade behind one
// chain of guards, listens, and disposes everything in one place. createServer() is what
// `labrun serve` runs and what tests start on port 0. What each part does lives in its own module.
import { createServer as createHttpServer } from 'node:http';
import express from 'express';
import { adoptEarlierSandboxes, activeClassesOf } from '../classroom/class-lifecycle.ts';
import { ClassEvents } from '../classroom/class-events.ts';
import { ClassStore } from '../classroom/class-store.ts';
import { serverResources } from '../classroom/host-resources.ts';
import { WarmPool } from '../classroom/warm-pool.ts';
import type { ServerConfig } from '../config.ts';
import { loadCatalog } from '../labs/catalog.ts';
import { DisposableStore, toDisposable } from '../lifetime.ts';
import { createLogger, errorMessage, lineLogger, type Logger } from '../log.ts';
import { driverFromConfig } from '../sandbox/from-config.ts';
import type { SandboxDriver } from '../sandbox/sandbox.ts';
import { LearnerSessions } from '../session/learner-sessions.ts';
import { Store } from '../store/store.ts';
import { apiRouter } from './api-routes.ts';
import { Health } from '../../shared/api.ts';
import { Auth, LOCAL_LEARNER } from './auth.ts';
import { classroomRouter, joinRouter, type ClassroomContext } from './classroom-routes.ts';
import { CLIENT_DIR } from './client-bundle.ts';
import { clientRouter, publicClientRouter } from './client-routes.ts';
import { HttpError, errorHandler } from './http-error.ts';
import type { OriginPolicy } from './origin.ts';
import { csrfGuard, hostGuard, requireAuth, securityHeaders, tokenExchange, upgradeOriginGuard } from './security.ts';
import { reply } from './reply.ts';
import { Recordings } from '../recording/recordings.ts';
import { recordingRouter } from './recording-routes.ts';
import { WsUpgrades, upgradesOnlyUnder } from './ws-upgrade.ts';
import { wsRouter } from './ws-routes.ts';

export { CLIENT_DIR };
/** Largest JSON body: answers and a step id; anything bigger is a mistake or an attack. */
const JSON_LIMIT = '64kb';

export interface ServerOptions {
  /** Where log lines go; default the structured logger on stdout (JSON unless a terminal). */
  logger?: Logger;
  /** Or: a callback for each JSON line (tests silence the log with `() => {}`). */
  log?: (line: string) => void;
  /** The sandbox driver; default a DindDriver keeping its state in `<data>/sandboxes`. */
  driver?: SandboxDriver;
  /** Re-adopt sandboxes left by an earlier run (default true). */
  adopt?: boolean;
  /** Prepare the labs' images for sandboxes in the background at start (what `labrun serve` does). */
  prepareImages?: boolean;
}

export interface ServerHandle {
  url: string;
  /** Sandboxes re-adopted from an earlier run at start. */
  adopted: number;
  close(): Promise<void>;
}

export async function createServer(config: ServerConfig, opts: ServerOptions = {}): Promise<ServerHandle> {
  const logger = opts.logger ?? (opts.log ? lineLogger(opts.log) : createLogger());
  const lifetime = new DisposableStore((err) => logger.warn({ err: errorMessage(err) }, 'during shutdown'));
  const catalog = await loadCatalog(config.labsDir);
  const store = new Store(config.dataDir);
  store.ensureLearner(LOCAL_LEARNER);
  const classes = new ClassStore(store.database);
  const events = new ClassEvents(classes);
  const recordings = new Recordings({ dataDir: config.dataDir, classes });
  const driver = opts.driver ?? driverFromConfig(config);
  const pool = new WarmPool({
    driver,
    classes,
    logger,
    resources: serverResources(config),
    onStatus: (labId, status) => {
      for (const c of activeClassesOf(classes, labId)) events.publish(c.id, { type: 'pool', pool: status });
    },
  });
  const sessions = new LearnerSessions({
    driver, store, events, logger, recorder: recordings,
    idle: { ttlMs: config.idleTtlMs, warningMs: config.idleWarningMs },
    // The local learner never waits for a seat; a classroom learner gets one from the pool when it has any.
    seat: (learnerId, lab) => (learnerId === LOCAL_LEARNER ? undefined : pool.take(learnerId, lab)),
  });
  const classroom: ClassroomContext = { catalog, store, classes, sessions, events, pool, recordings, logger };
  let adopted = 0;
  if (opts.adopt ?? true) {
    adopted = await adoptEarlierSandboxes(classroom).catch((err: unknown) => {
      logger.warn({ err: errorMessage(err) }, 'could not look for sandboxes from an earlier run');
      return 0;
    });
  }
  // The first learner should not wait for the labs' images to be prepared for sandboxes.
  const preparation = new AbortController();
  const preparing = opts.prepareImages ? driver.prepare?.(catalog.labs.map((l) => l.images), (line) => logger.info(line), preparation.signal).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, "could not prepare the labs' images for sandboxes")) : undefined;
  const auth = new Auth(config.token, (secret) => classes.memberBySecret(secret));
  const policy: OriginPolicy = { boundHost: config.host, trustedOrigins: config.trustedOrigins };

  const app = express();
  const server = createHttpServer(app);
  const upgrades = new WsUpgrades(server, app);
  // Disposed newest first: no new upgrades; the pool turns away learners waiting for a seat; sessions
  // stop the idle clock, close terminals (1001) and keep sandboxes for the next start; the remaining
  // WebSockets go (the listener's close waits for them); the listener closes; events; the store.
  lifetime.add(toDisposable(() => store.close()));
  lifetime.add(recordings);
  lifetime.add(events);
  lifetime.add(toDisposable(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  })));
  lifetime.add(upgrades);
  lifetime.add(sessions);
  lifetime.add(toDisposable(() => { preparation.abort(); return preparing; }));
  lifetime.add(pool);
  lifetime.add(toDisposable(() => upgrades.refuse()));
  app.disable('x-powered-by');
  app.use(securityHeaders(), hostGuard(policy), upgradesOnlyUnder('/ws/'));
  app.get('/healthz', (_req, res) => reply(res, Health, { ok: true }));
  app.use(tokenExchange(auth));
  app.use(publicClientRouter());
  app.use('/api/join', csrfGuard(policy), express.json({ limit: JSON_LIMIT }), joinRouter(classroom, auth));
  // Every other route, WebSocket upgrades included: Origin (upgrades), then the cookie, then CSRF (writes).
  app.use(upgradeOriginGuard(policy, (origin, host) => logger.warn({ origin, host }, 'refused a WebSocket from another origin')));
  app.use(requireAuth(auth), csrfGuard(policy), express.json({ limit: JSON_LIMIT }));
  app.use('/ws', wsRouter({ ...classroom, upgrades }));
  app.use('/api', classroomRouter(classroom), recordingRouter(classroom), apiRouter({ catalog, store, sessions, logger, isolation: config.isolation ?? 'isolated', emit: (e) => events.learner(e) }));
  app.use('/api', (req) => {
    throw new HttpError(`no API route ${req.method} ${req.originalUrl}`, 404);
  });
  app.use(clientRouter(catalog));
  app.use((req) => {
    throw new HttpError(`nothing at ${req.path}`, 404);
  });
  app.use(errorHandler(logger));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    await lifetime.dispose();
    throw err;
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return { url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`, adopted, close: () => lifetime.dispose() };
}
