// WebSocket upgrades through the same express chain as HTTP routes (code-server's wsRouter): the
// server's 'upgrade' event hands the request to the express app with a response bound to the raw
// socket, so the Host and Origin rules, requireAuth, the lab rule and the instructor rule run as for
// any route, and a refusal is an ordinary HTTP response written on that socket. A route that takes
// the connection calls `accept(req)`, which completes the WebSocket handshake.
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Request, RequestHandler } from 'express';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Disposable } from '../lifetime.ts';
import { HttpError } from './http-error.ts';

/** Largest WebSocket message: a generous paste into the terminal. */
const WS_MAX_PAYLOAD = 1024 * 1024;

/** An express app called as a function: (req, res, done). */
type ExpressLike = (req: IncomingMessage, res: ServerResponse, done: (err?: unknown) => void) => void;

interface Pending {
  socket: Duplex;
  head: Buffer;
}

/** Upgrade requests in flight; a WeakMap, so nothing outside this module can mark a request as one. */
const pending = new WeakMap<IncomingMessage, Pending>();

/** Whether the request is a WebSocket upgrade (not yet accepted). */
export function isUpgrade(req: IncomingMessage): boolean {
  return pending.has(req);
}

/** Upgrades go only to routes under `prefix`; anything else is a 404 before any other rule runs. */
export function upgradesOnlyUnder(prefix: string): RequestHandler {
  return (req, _res, next) => {
    if (isUpgrade(req) && !req.path.startsWith(prefix)) throw new HttpError(`no WebSocket at ${req.path}`, 404);
    next();
  };
}

export class WsUpgrades implements Disposable {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  readonly #sockets = new Set<Duplex>();
  readonly #server: Server;
  readonly #app: ExpressLike;
  #closing = false;

  constructor(server: Server, app: ExpressLike) {
    this.#server = server;
    this.#app = app;
    server.on('upgrade', this.#onUpgrade);
  }

  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    if (this.#closing) return void socket.destroy();
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    pending.set(req, { socket, head });
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    // The response goes out on the upgrade's socket: a guard's 401 or 403 is a normal HTTP answer.
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.end());
    this.#app(req, res, () => {
      // The chain ends in a 404 and an error handler; reaching here means nothing answered.
      if (pending.has(req)) socket.destroy();
    });
  };

  /**
   * Completes the handshake of an upgrade request a route accepted. Undefined when the socket went
   * away meanwhile (the client gave up while its sandbox started) or the server is closing.
   */
  accept(req: Request): Promise<WebSocket | undefined> {
    const p = pending.get(req);
    pending.delete(req);
    if (!p) throw new Error('accept() of a request that is not a WebSocket upgrade');
    const { socket, head } = p;
    if (this.#closing || socket.destroyed || !socket.writable) {
      socket.destroy();
      return Promise.resolve(undefined);
    }
    // The handshake writes on the socket itself: the response object must never write there again.
    req.res?.detachSocket(socket as Socket);
    return new Promise((resolve) => {
      socket.once('close', () => resolve(undefined));
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        this.#sockets.delete(socket);
        ws.on('error', () => ws.terminate());
        resolve(ws);
      });
    });
  }

  /** WebSockets open now (terminals, event streams, and any other feature's). */
  get clients(): number {
    return this.#wss.clients.size;
  }

  /** Refuses new upgrades and drops the ones in flight; open WebSockets stay until dispose(). Idempotent. */
  refuse(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#server.off('upgrade', this.#onUpgrade);
    for (const s of this.#sockets) s.destroy();
  }

  /** Refuses new upgrades and terminates every WebSocket still open; idempotent. */
  dispose(): void {
    this.refuse();
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }
}
