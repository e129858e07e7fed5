// The web app, wiring only: builds the long-lived parts (store, catalog, classes and their events,
// sandbox driver, warm pool, learner sessions, metrics, event feed), mounts the one router of every
// HTTP route and WebSocket upgrade (app-routes.ts) at the base path, listens, and disposes everything
// in one place. createServer() is what `labrun serve` runs and what tests start on port 0.
import { createServer as createHttpServer } from 'node:http';
import express from 'express';
import { adoptEarlierSandboxes, activeClassesOf } from '../classroom/class-lifecycle.ts';
import { ClassEvents } from '../classroom/class-events.ts';
import { ClassStore } from '../classroom/class-store.ts';
import { serverResources } from '../classroom/host-resources.ts';
import { WarmPool } from '../classroom/warm-pool.ts';
import type { ServerConfig } from '../config.ts';
import { ActivityFeed } from '../events/activity-feed.ts';
import { loadCatalog } from '../labs/catalog.ts';
import { DisposableStore, toDisposable } from '../lifetime.ts';
import { createLogger, errorMessage, lineLogger, type Logger } from '../log.ts';
import { driverFromConfig } from '../sandbox/from-config.ts';
import type { SandboxDriver } from '../sandbox/sandbox.ts';
import { Metrics } from '../service/metrics.ts';
import { readinessCheck } from '../service/readiness.ts';
import { LearnerSessions } from '../session/learner-sessions.ts';
import { Store } from '../store/store.ts';
import { appRoutes } from './app-routes.ts';
import { Auth, LOCAL_LEARNER } from './auth.ts';
import { outsideBasePath } from './base-path.ts';
import type { ClassroomContext } from './classroom-routes.ts';
import { CLIENT_DIR } from './client-bundle.ts';
import { errorHandler } from './http-error.ts';
import type { OriginPolicy } from './origin.ts';
import { hostGuard, securityHeaders } from './security.ts';
import { TrustedProxies } from './trusted-proxy.ts';
import { Recordings } from '../recording/recordings.ts';
import { WsUpgrades } from './ws-upgrade.ts';

export { CLIENT_DIR };

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
  /** Where the app is: scheme, listen address and port, and the base path (no trailing slash). */
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
  const isolation = config.isolation ?? 'isolated';
  let url = '';
  const metrics = new Metrics();
  const feed = new ActivityFeed({ catalog, store, classes, logFile: config.eventLog, homePage: () => config.publicUrl ?? url, logger, ...(config.webhook && { webhook: config.webhook }) });
  lifetime.add(toDisposable(() => store.close()));
  lifetime.add(feed);
  lifetime.add(toDisposable(events.tap(metrics.tap)));
  lifetime.add(toDisposable(events.tap(feed.tap)));
  const driver = metrics.timed(opts.driver ?? driverFromConfig(config));
  const recordings = new Recordings({ dataDir: config.dataDir, classes });
  lifetime.add(recordings);
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
  const auth = new Auth(config.token, (secret) => classes.memberBySecret(secret), config.basePath || '/');
  const policy: OriginPolicy = { boundHost: config.host, trustedOrigins: config.trustedOrigins };
  const proxies = new TrustedProxies(config.trustedProxies);
  const readiness = readinessCheck(driver, () => catalog.labs.flatMap((l) => l.images), pool);

  const app = express();
  const server = createHttpServer(app);
  const upgrades = new WsUpgrades(server, app);
  metrics.sample({ sessions, upgrades, pool, classes });
  // Disposed newest first: no new upgrades; the pool turns away learners waiting for a seat; sessions
  // stop the idle clock, close terminals (1001) and keep sandboxes for the next start; the remaining
  // WebSockets go (the listener's close waits for them); the listener closes; events; the feed; the store.
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
  app.set('trust proxy', proxies.trustFn);
  app.locals.basePath = config.basePath;
  app.use(securityHeaders(), hostGuard(policy, proxies));
  const service = { metrics, metricsToken: config.metricsToken, readiness };
  app.use(config.basePath || '/', appRoutes({ classroom, auth, policy, proxies, upgrades, service, rateLimits: config.rateLimits, isolation, secret: config.token, logger }));
  if (config.basePath) app.use(outsideBasePath(config.basePath));
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
  url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}${config.basePath}`;
  return { url, adopted, close: () => lifetime.dispose() };
}
