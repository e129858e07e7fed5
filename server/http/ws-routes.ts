// The WebSocket routes under /ws, behind the same guards as the API (see ws-upgrade.ts):
// `/ws/terminal?lab=<id>[&term=<id>][&learner=<id>]` — one of the caller's own terminal tabs in a lab
// (default the first), or (instructor only) another learner's, read-only; `/ws/events` — the caller's own session notices; and
// `/ws/events?class=<id>` — a class's board stream (history, then live) for its instructor, or only
// what is meant for everyone (the class header, broadcasts) for a learner of the class;
// `/ws/topology?lab=<id>[&learner=<id>]` — the live topology model of the caller's own sandbox, or
// (instructor only) another learner's, under the same rule as the terminal.
import { type Request, type Response, Router } from 'express';
import type { WebSocket } from 'ws';
import type { ClassEvent } from '../../shared/classroom-events.ts';
import { classHistory } from '../classroom/class-events.ts';
import { composeProjectName } from '../sandbox/naming.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { TopologyFeeds } from '../topology/topology-feeds.ts';
import { closeReason } from '../../shared/protocol.ts';
import { errorMessage } from '../log.ts';
import { labFor } from './api-routes.ts';
import type { ClassroomContext } from './classroom-routes.ts';
import { HttpError } from './http-error.ts';
import { assertInstructor, principalOf } from './security.ts';
import { isUpgrade, type WsUpgrades } from './ws-upgrade.ts';
import { withTabErrors } from './terminal-routes.ts';
import { DEFAULT_TERMINAL_ID, TERMINAL_ID_RE } from '../../shared/api.ts';

/** The classroom routes' parts (without their logger), plus the upgrade dispatcher. */
export interface WsContext extends Omit<ClassroomContext, 'logger'> {
  upgrades: WsUpgrades;
}

/** Streams events to a socket until it closes; the subscription is dropped by the same code that made it. */
function stream(ws: WebSocket, subscribe: (send: (e: ClassEvent) => void) => () => void, filter: (e: ClassEvent) => boolean = () => true): (e: ClassEvent) => void {
  const send = (e: ClassEvent): void => {
    if (filter(e) && ws.readyState === ws.OPEN) ws.send(JSON.stringify(e));
  };
  const unsubscribe = subscribe(send);
  ws.once('close', unsubscribe);
  return send;
}

/** Close code for "nothing to show yet" (no sandbox, or it went): the page retries. */
const TOPOLOGY_GONE = 4404;

export function wsRouter(ctx: WsContext): Router {
  const r = Router();
  // Feeds live as long as their sockets: each closes with its last subscriber, and the server's
  // shutdown terminates every socket.
  const topology = new TopologyFeeds();
  /** The lab and learner a socket is for: the caller's own, or (instructor only) `?learner=`'s, read-only. */
  const whose = (req: Request, res: Response, what: string) => {
    const lab = labFor(ctx, typeof req.query.lab === 'string' ? req.query.lab : '', res);
    const me = principalOf(res);
    const asked = typeof req.query.learner === 'string' ? req.query.learner : me.learnerId;
    const watching = asked !== me.learnerId;
    if (watching) assertInstructor(res, `this is another learner's ${what}`);
    return { lab, asked, watching };
  };
  r.use((req, _res, next) => {
    if (!isUpgrade(req)) throw new HttpError(`${req.path} is a WebSocket endpoint`, 426);
    next();
  });

  r.get('/terminal', async (req, res) => {
    const { lab, asked, watching } = whose(req, res, 'terminal');
    // The upgrade completes only once the sandbox is up; meanwhile the page shows the session status.
    const terminal = typeof req.query.term === 'string' ? req.query.term : DEFAULT_TERMINAL_ID;
    if (!TERMINAL_ID_RE.test(terminal)) throw new HttpError(`term: '${terminal.slice(0, 40)}' is not a terminal id`, 400);
    const attach = await withTabErrors(() => ctx.sessions.prepareTerminal(asked, lab, { readOnly: watching, terminal }));
    const ws = await ctx.upgrades.accept(req);
    if (ws) attach(ws);
  });

  r.get('/topology', async (req, res) => {
    const { lab, asked, watching } = whose(req, res, 'topology');
    // The learner's own panel may start their sandbox (as their terminal does); a watcher never does.
    let sandbox: Sandbox | undefined;
    let why = 'this learner has no running sandbox right now';
    if (watching) sandbox = ctx.sessions.current(asked, lab.id);
    else sandbox = await ctx.sessions.ensure(asked, lab).catch((err: unknown) => void (why = `the sandbox could not start: ${errorMessage(err)}`));
    const ws = await ctx.upgrades.accept(req);
    if (!ws) return;
    if (!sandbox) {
      ws.send(JSON.stringify({ type: 'unavailable', message: why }));
      ws.close(TOPOLOGY_GONE, closeReason(why));
      return;
    }
    const sub = topology.subscribe(sandbox, composeProjectName(lab.workspace), {
      send: (frame) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
      },
      end: (reason) => ws.close(TOPOLOGY_GONE, closeReason(reason)),
    });
    ws.once('close', () => sub.dispose());
  });

  r.get('/events', async (req, res) => {
    const me = principalOf(res);
    const classId = req.query.class;
    if (classId === undefined) {
      const ws = await ctx.upgrades.accept(req);
      if (ws) stream(ws, (send) => ctx.events.subscribeLearner(me.learnerId, send));
      return;
    }
    const cls = ctx.classes.byId(String(classId));
    if (!cls) throw new HttpError(`no class '${String(classId)}'`, 404);
    if (!me.owner && me.member?.classId !== cls.id) throw new HttpError('not your class', 403);
    const ws = await ctx.upgrades.accept(req);
    if (!ws) return;
    // Nothing comes from the client on this socket: any message is a mistake and is ignored.
    const send = stream(ws, (fn) => ctx.events.subscribe(cls.id, fn), (e) => me.owner || e.type === 'class' || e.type === 'broadcast');
    for (const e of classHistory(cls, ctx)) send(e);
    if (me.owner) send({ type: 'pool', pool: ctx.pool.status(cls.labId) });
  });

  r.use((req) => {
    throw new HttpError(`no WebSocket at ${req.originalUrl.split('?')[0] ?? ''}`, 404);
  });
  return r;
}
