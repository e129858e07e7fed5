// The web app: builds every long-lived part (store, catalog, sandbox sessions, terminals, the
// classroom's classes, events and warm pool), wires the express routes and the WebSocket upgrades
// (terminals and the classroom event stream), listens, and owns shutdown. createServer() is what
// `labrun serve` runs and what tests start on port 0.
import { existsSync } from 'node:fs';
import { STATUS_CODES, createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import express from 'express';
import { WebSocketServer } from 'ws';
import type { ClassEvent } from '../../shared/classroom-events.ts';
import { CloseCode, closeReason, parseClientFrame } from '../../shared/protocol.ts';
import type { WebSocket } from 'ws';
import { ClassEvents, classHistory, sandboxState } from '../classroom/class-events.ts';
import { ClassStore } from '../classroom/class-store.ts';
import { IdleReaper } from '../classroom/idle-reaper.ts';
import { ENDED_MESSAGE, RECLAIMED_MESSAGE, warningMessage } from '../classroom/idle-policy.ts';
import { POOL_LEARNER, WarmPool } from '../classroom/warm-pool.ts';
import type { ServerConfig } from '../config.ts';
import { loadCatalog } from '../labs/catalog.ts';
import { DEFAULT_DISK_BYTES, DEFAULT_LIMITS, DindDriver } from '../sandbox/dind.ts';
import { hostResources } from '../classroom/host-resources.ts';
import type { Sandbox, SandboxDriver } from '../sandbox/sandbox.ts';
import { LabSessions } from '../session/lab-sessions.ts';
import { Store } from '../store/store.ts';
import { TerminalManager } from '../terminal/terminal-manager.ts';
import { apiRouter } from './api-routes.ts';
import { CLIENT_DIR } from './client-bundle.ts';
import { Auth, type Principal } from './auth.ts';
import { classroomRouter, joinRouter, type ClassroomContext } from './classroom-routes.ts';
import { HttpError, errorHandler } from './http-error.ts';
import { isAllowedOrigin, type OriginPolicy } from './origin.ts';
import { csrfGuard, hostGuard, requireAuth, requireInstructor, securityHeaders, tokenExchange } from './security.ts';

export { CLIENT_DIR };
/** Largest JSON body: answers and a step id; anything bigger is a mistake or an attack. */
const JSON_LIMIT = '64kb';
/** Largest WebSocket message: a generous paste into the terminal. */
const WS_MAX_PAYLOAD = 1024 * 1024;
/** WebSocket close code for "the server could not provide what the socket is for" (RFC 6455). */
const WS_INTERNAL_ERROR = 1011;
/** The bundle and its source map: public, they hold no data, and the join page needs them before sign-in. */
const PUBLIC_ASSETS = ['app.js', 'app.js.map', 'app.css.map'];

export interface ServerOptions {
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

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Answers an upgrade request with a plain HTTP status and closes the socket. */
function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.destroy();
}

export async function createServer(config: ServerConfig, opts: ServerOptions = {}): Promise<ServerHandle> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const catalog = await loadCatalog(config.labsDir);
  const store = new Store(config.dataDir);
  const learner = 'local';
  store.ensureLearner(learner);
  const classes = new ClassStore(store.database);
  const events = new ClassEvents(classes);

  const isolation = config.isolation ?? 'isolated';
  const driver =
    opts.driver ??
    new DindDriver({
      stateDir: path.join(config.dataDir, 'sandboxes'),
      limits: config.limits,
      isolation,
      ...(isolation === 'isolated' && { engineUrl: config.sandboxEngine }),
      ...(config.diskBytes !== undefined && { diskBytes: config.diskBytes }),
    });
  const activeClassesOf = (labId: string) => classes.classes().filter((c) => c.labId === labId && c.endedAt === null);
  const pool = new WarmPool({
    driver,
    classes,
    log,
    resources: () =>
      hostResources({
        isolation,
        stateDir: config.dataDir,
        pidsLimit: config.limits.pidsLimit ?? DEFAULT_LIMITS.pidsLimit,
        diskBytes: config.diskBytes ?? DEFAULT_DISK_BYTES,
      }),
    onStatus: (labId, status) => {
      for (const c of activeClassesOf(labId)) events.publish(c.id, { type: 'pool', pool: status });
    },
  });
  // Live terminal sockets per `${learnerId}:${labId}`, so a stopped session's page is told why.
  const terminalSockets = new Map<string, Set<WebSocket>>();
  const closeTerminals = (learnerId: string, labId: string, message: string): void => {
    // 4404: the session is gone, so the page must not reconnect into a fresh sandbox behind the learner's back.
    for (const ws of terminalSockets.get(`${learnerId}:${labId}`) ?? []) ws.close(CloseCode.UnknownSession, closeReason(message));
  };
  /** Stops a learner's sandbox (idle, or the instructor ended it): progress stays; the page says why. */
  const stopSession = async (learnerId: string, labId: string, kind: 'idle-stopped' | 'ended'): Promise<void> => {
    const message = kind === 'ended' ? ENDED_MESSAGE : RECLAIMED_MESSAGE;
    log(`${kind === 'ended' ? 'ending' : 'reclaiming the idle sandbox of'} ${learnerId} in ${labId}`);
    idle.forget(learnerId, labId);
    events.notice({ type: 'session', learnerId, kind, message, at: Date.now() });
    closeTerminals(learnerId, labId, message);
    await sessions.destroy(learnerId, labId);
  };
  const idle = new IdleReaper({
    policy: { ttlMs: config.idleTtlMs, warningMs: config.idleWarningMs },
    log,
    onWarn: (learnerId, _labId, msLeft) => events.notice({ type: 'session', learnerId, kind: 'idle-warning', message: warningMessage(msLeft), at: Date.now() }),
    onReclaim: (learnerId, labId) => stopSession(learnerId, labId, 'idle-stopped'),
  });
  const sessions = new LabSessions({
    driver,
    log,
    seat: (learnerId, lab) => (learnerId === learner ? undefined : pool.take(learnerId, lab)),
    onActivity: (learnerId, labId) => idle.touch(learnerId, labId),
  });
  // A sandbox that becomes a learner's starts its idle clock; one that goes away stops it.
  sessions.subscribe((e) => {
    if (e.status.state === 'ready') idle.track(e.learnerId, e.labId);
    else if (e.status.state === 'none') idle.forget(e.learnerId, e.labId);
  });
  // The board hears of sandbox state changes, not of every progress tick while one starts.
  const lastState = new Map<string, string>();
  sessions.subscribe((e) => {
    const key = `${e.learnerId}:${e.labId}`;
    if (lastState.get(key) === e.status.state) return;
    lastState.set(key, e.status.state);
    events.learner({ type: 'sandbox', learnerId: e.learnerId, state: sandboxState(e.status.state), at: Date.now() });
  });
  let adopted = 0;
  if (opts.adopt ?? true) {
    try {
      // A pool sandbox's label still says "pool" after it was handed out: the class store knows to whom.
      adopted = await sessions.adoptExisting(
        (sb) => (sb.learnerId === POOL_LEARNER ? (classes.assignmentOf(sb.id)?.learnerId ?? null) : sb.learnerId),
        (sb) => {
          const lab = catalog.byId(sb.labId);
          if (lab && activeClassesOf(lab.id).length > 0) pool.adopt(sb, lab);
          else void sb.destroy().catch((err: unknown) => log(`warning: could not remove unused pool sandbox ${sb.id}: ${String(err)}`));
        },
      );
    } catch (err) {
      log(`warning: could not look for sandboxes from an earlier run: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  for (const s of sessions.live()) idle.track(s.learnerId, s.labId);
  // The first learner should not wait for the labs' images to be prepared for sandboxes.
  const preparing = opts.prepareImages
    ? driver.prepare?.(catalog.labs.map((l) => l.images)).catch((err: unknown) => log(`warning: could not prepare the labs' images for sandboxes: ${err instanceof Error ? err.message : String(err)}`))
    : undefined;
  const terminals = new TerminalManager();
  const auth = new Auth(config.token, (secret) => {
    const member = classes.learnerBySecret(secret);
    const cls = member && classes.byId(member.classId);
    // An ended class's cookies prove nobody any more: its sandboxes are gone.
    if (!member || !cls || cls.endedAt !== null) return undefined;
    return { learnerId: member.learnerId, classId: cls.id, labId: cls.labId };
  });
  const classroom: ClassroomContext = { catalog, store, classes, sessions, events, pool, idle, stopSession, log };
  const policy: OriginPolicy = { boundHost: config.host, trustedOrigins: config.trustedOrigins };

  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders());
  app.use(hostGuard(policy));
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(tokenExchange(auth));
  // The stylesheet is public so the "open the printed URL" page is styled; it holds no data.
  app.get('/app.css', (_req, res, next) => {
    res.sendFile(path.join(CLIENT_DIR, 'app.css'), (err) => err && next());
  });
  for (const file of PUBLIC_ASSETS) {
    app.get(`/${file}`, (_req, res, next) => {
      res.sendFile(path.join(CLIENT_DIR, file), (err) => err && next());
    });
  }
  const sendIndex: express.RequestHandler = (_req, res) => {
    const index = path.join(CLIENT_DIR, 'index.html');
    // `labrun serve` builds the bundle before it listens; only a server started some other way (a
    // test, a bench) without `npm run build` gets here.
    if (!existsSync(index)) throw new HttpError('the web client is not built', 500, 'Run `npm run build`, then reload.', true);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  };
  // The join page and its API come before sign-in: following the join link is how a learner signs in.
  app.get('/join/:code', sendIndex);
  app.use('/api/join', csrfGuard(policy), express.json({ limit: JSON_LIMIT }), joinRouter(classroom, auth));
  app.use(requireAuth(auth));
  app.use(csrfGuard(policy));
  app.use(express.json({ limit: JSON_LIMIT }));
  app.use('/api', classroomRouter(classroom));
  app.use('/api', apiRouter({ catalog, store, sessions, log, isolation, emit: (e) => events.learner(e) }));
  app.use('/api', (req) => {
    throw new HttpError(`no API route ${req.method} ${req.originalUrl}`, 404);
  });
  app.use(express.static(CLIENT_DIR, { index: false }));
  app.get('/', sendIndex);
  app.get('/instructor', requireInstructor(), sendIndex);
  app.get('/instructor/classes/:classId', requireInstructor(), sendIndex);
  app.get('/labs/:labId', (req, res, next) => {
    if (!catalog.byId(req.params.labId)) throw new HttpError(`no lab '${req.params.labId}'`, 404);
    sendIndex(req, res, next);
  });
  app.use((req) => {
    throw new HttpError(`nothing at ${req.path}`, 404);
  });
  app.use(errorHandler(log));

  const server = createHttpServer(app);
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  const upgrading = new Set<Duplex>();
  let closing = false;

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://labrun.invalid');
    if (url.pathname !== '/ws/terminal' && url.pathname !== '/ws/events') return rejectUpgrade(socket, 404, `no WebSocket at ${url.pathname}`);
    const origin = req.headers.origin;
    if (!isAllowedOrigin(origin, req.headers.host, policy)) {
      log(`refused WebSocket from origin '${origin ?? '(none)'}' (host '${req.headers.host ?? ''}')`);
      return rejectUpgrade(socket, 403, 'origin not allowed');
    }
    const principal = auth.principalOf(req);
    if (principal === null) return rejectUpgrade(socket, 401, 'not signed in: open the URL printed by labrun serve');
    if (url.pathname === '/ws/events') return eventsUpgrade(req, socket, head, url, principal);
    const lab = catalog.byId(url.searchParams.get('lab') ?? '');
    if (!lab) return rejectUpgrade(socket, 404, `no lab '${url.searchParams.get('lab') ?? ''}'`);
    if (principal.member && principal.member.labId !== lab.id) return rejectUpgrade(socket, 403, 'your class works on another lab');

    // ?learner= names whose terminal: another learner's only for the instructor, and only to watch.
    const asked = url.searchParams.get('learner');
    if (asked !== null && asked !== principal.learnerId) {
      if (!principal.owner) return rejectUpgrade(socket, 403, 'this is another learner\'s terminal');
      if (closing) return void socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => {
        terminals.attach(
          ws,
          `${asked}:${lab.id}`,
          () => {
            throw new Error('a watcher never starts a terminal');
          },
          { readOnly: true },
        );
      });
      return;
    }
    const learnerId = principal.learnerId;

    // The upgrade completes only once the sandbox is up; meanwhile the page shows the session status.
    let sandbox: Sandbox | undefined;
    let failure: string | undefined;
    try {
      sandbox = await sessions.ensure(learnerId, lab);
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    if (closing) return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!sandbox) {
        ws.close(WS_INTERNAL_ERROR, closeReason(failure ?? 'sandbox unavailable'));
        return;
      }
      const sb = sandbox;
      const key = `${learnerId}:${lab.id}`;
      let sockets = terminalSockets.get(key);
      if (!sockets) terminalSockets.set(key, (sockets = new Set()));
      const mine = sockets;
      mine.add(ws);
      ws.on('close', () => {
        mine.delete(ws);
        if (mine.size === 0 && terminalSockets.get(key) === mine) terminalSockets.delete(key);
      });
      // Typing is activity; resizes and flow-control acks are not (a streaming `watch` is not a learner).
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const frame = parseClientFrame(String(data));
        if (frame.ok && frame.frame.type === 'input') idle.touch(learnerId, lab.id);
      });
      terminals.attach(ws, key, (cols, rows) => sb.openTerminal(cols, rows));
      // The sandbox is up: run the setup of the step the learner is on (once per sandbox).
      const step = lab.steps.find((s) => s.id === store.getProgress(learnerId, lab.id).currentStep) ?? lab.steps[0];
      if (step) sessions.openStep(learnerId, lab, step).catch((err: unknown) => log(`setup of ${lab.id}/${step.id} failed: ${err instanceof Error ? err.message : String(err)}`));
    });
  }

  /**
   * `/ws/events?class=<id>`: the instructor gets the class's history, then every event live; a learner
   * of the class gets only what is meant for everyone (the class header and broadcasts).
   * `/ws/events` with no class: the caller's own session notices, live.
   */
  function eventsUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, principal: Principal): void {
    // No class: the caller's own session notices (idle warnings, a stopped sandbox), in any mode.
    if (!url.searchParams.has('class')) {
      if (closing) return void socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => {
        const unsubscribe = events.subscribeLearner(principal.learnerId, (e) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(e));
        });
        ws.on('close', unsubscribe);
        ws.on('error', () => ws.terminate());
      });
      return;
    }
    const cls = classes.byId(url.searchParams.get('class') ?? '');
    if (!cls) return rejectUpgrade(socket, 404, `no class '${url.searchParams.get('class') ?? ''}'`);
    const member = principal.member?.classId === cls.id;
    if (!principal.owner && !member) return rejectUpgrade(socket, 403, 'not your class');
    const instructor = principal.owner;
    if (closing) return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const send = (e: ClassEvent): void => {
        if (!instructor && e.type !== 'class' && e.type !== 'broadcast') return;
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(e));
      };
      const unsubscribe = events.subscribe(cls.id, send);
      ws.on('close', unsubscribe);
      ws.on('error', () => ws.terminate());
      // Nothing comes from the client on this socket: any message is a mistake; ignore it.
      for (const e of classHistory(cls, { catalog, store, classes, sessions })) send(e);
      if (instructor) send({ type: 'pool', pool: pool.status(cls.labId) });
    });
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgrading.add(socket);
    socket.once('close', () => upgrading.delete(socket));
    upgrade(req, socket, head)
      .catch((err: unknown) => {
        log(`error: WebSocket upgrade failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        if (!socket.destroyed) rejectUpgrade(socket, 500, 'internal error');
      })
      .finally(() => upgrading.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${urlHost(config.host)}:${port}`;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      closing = true;
      idle.dispose();
      for (const s of upgrading) s.destroy();
      await pool.dispose();
      await terminals.dispose();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await preparing;
      const kept = await sessions.dispose();
      if (kept > 0) log(`kept ${kept} sandbox${kept === 1 ? '' : 'es'} running; the next labrun serve re-adopts ${kept === 1 ? 'it' : 'them'}`);
      events.dispose();
      store.close();
    })());

  return { url, adopted, close };
}
