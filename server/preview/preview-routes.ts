// Port preview: any TCP port listening in a learner's sandbox (or in a compose service's namespace),
// opened in the browser through labrun. Two URL forms, both under the router's mount (`/preview`):
//
//   /preview/<lab>/<port>[@<service>]/<path>[?learner=<id>]   entry: checks the labrun cookie (the
//        learner themself, or the instructor naming a learner) and redirects to the ticketed form;
//   /preview/@<ticket>/<lab>/<port>[@<service>]/<path>        the app itself, proxied, for anyone
//        holding the ticket (preview-ticket.ts): plain HTTP, redirects, assets and WebSocket upgrades.
//
// The app's pages are served on labrun's origin, so every proxied answer carries a CSP `sandbox`
// without allow-same-origin: the page runs in an opaque origin, its requests carry none of labrun's
// cookies, and it cannot read labrun's API. labrun's cookies are never forwarded to the app and the
// app cannot set one of them (preview-rewrite.ts). Every redirect labrun writes is relative, so the
// preview works wherever a reverse proxy mounts labrun; the router lives in app-routes.ts, under
// --base-path, so the cookie paths it writes (req.baseUrl) carry the base path.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router, type Response } from 'express';
import { createProxyServer } from 'http-proxy-3';
import type { Catalog } from '../labs/catalog.ts';
import { errorMessage, type Logger } from '../log.ts';
import { SandboxError } from '../sandbox/sandbox.ts';
import type { LearnerSessions } from '../session/learner-sessions.ts';
import type { Auth } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import { basePathOf } from '../http/base-path.ts';
import { signedOutPage } from '../http/pages.ts';
import { isUpgrade, type WsUpgrades } from '../http/ws-upgrade.ts';
import { agentFor } from './preview-agent.ts';
import { expiredPage, noSandboxPage, nothingListensPage, unreachablePage } from './preview-pages.ts';
import { cookiesForApp, rewriteLocation, rewriteSetCookie } from './preview-rewrite.ts';
import { PreviewTickets, parseTarget, targetSegment, type PreviewTarget } from './preview-ticket.ts';

/**
 * The document runs in an opaque origin: scripts, forms, popups and dialogs work for the app, but
 * nothing it does counts as labrun's origin (no allow-same-origin, no allow-popups-to-escape-sandbox).
 */
export const PREVIEW_SANDBOX_CSP = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads';
/** Headers an app must not send on labrun's origin: they would wipe or widen what belongs to labrun. */
const DROPPED_RESPONSE_HEADERS = ['clear-site-data', 'service-worker-allowed'];

export interface PreviewContext {
  catalog: Catalog;
  sessions: LearnerSessions;
  auth: Auth;
  /** The server's secret (its token), from which the tickets' key is derived. */
  secret: string;
  upgrades: WsUpgrades;
  logger: Logger;
}

/** What the response rewriting needs to know of the request it answers. */
interface Proxied {
  /** The path under the preview root, e.g. `docs/a.html` (no leading slash). */
  rest: string;
  /** The preview root's absolute path as the browser sees it (for cookie paths). */
  rootPath: string;
}

function splitPath(path: string): string[] {
  return path.split('/').slice(1);
}

export function previewRouter(ctx: PreviewContext): Router {
  const tickets = new PreviewTickets(ctx.secret);
  const proxied = new WeakMap<IncomingMessage, Proxied>();
  const proxy = createProxyServer({ xfwd: true, changeOrigin: true, ws: true });
  proxy.on('proxyRes', (proxyRes, req) => {
    const p = proxied.get(req);
    if (!p) return;
    const h = proxyRes.headers;
    const own = h['content-security-policy'];
    h['content-security-policy'] = [PREVIEW_SANDBOX_CSP, ...(own === undefined ? [] : Array.isArray(own) ? own : [own])].join(', ');
    // The ticket is in the address: no Referer may carry it to another site.
    h['referrer-policy'] = 'no-referrer';
    for (const name of DROPPED_RESPONSE_HEADERS) delete h[name];
    // The app's page runs in an opaque origin, so its own fetches to its own address are cross-origin
    // (Origin: null): let them read the app's answers. Only the app's: labrun's API never says this.
    if (req.headers.origin === 'null') {
      h['access-control-allow-origin'] = 'null';
      h.vary = h.vary ? `${h.vary}, Origin` : 'Origin';
    }
    if (typeof h.location === 'string') h.location = rewriteLocation(h.location, p.rest);
    if (h['set-cookie']) h['set-cookie'] = h['set-cookie'].map((c) => rewriteSetCookie(c, p.rootPath)).filter((c): c is string => c !== undefined);
  });

  const r = Router();

  // Entry: the learner's cookie decides, once; then the ticketed URL carries the permission.
  r.use((req, res, next) => {
    const [first = '', targetPart = '', ...restParts] = splitPath(req.path);
    if (first.startsWith('@')) return next();
    if (isUpgrade(req)) throw new HttpError('a preview WebSocket needs the preview page\'s own address', 404);
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(`open the preview with GET, not ${req.method}`, 405);
    const target = parseTarget(targetPart);
    const lab = ctx.catalog.byId(first);
    if (!target || !lab) throw new HttpError(`no preview at ${req.originalUrl.split('?')[0] ?? ''}`, 404, 'A preview address is /preview/<lab>/<port>/ or /preview/<lab>/<port>@<service>/.');
    const me = ctx.auth.principalOf(req);
    if (!me) {
      res.status(401).type('html').send(signedOutPage(basePathOf(req)));
      return;
    }
    if (me.member && me.member.labId !== lab.id) throw new HttpError(`your class works on lab '${me.member.labId}', not '${lab.id}'`, 403);
    const asked = typeof req.query.learner === 'string' && req.query.learner !== '' ? req.query.learner : me.learnerId;
    if (asked !== me.learnerId && !me.owner) throw new HttpError('this is another learner\'s sandbox', 403);
    const ticket = tickets.issue(asked, lab.id, target);
    const query = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
    query.delete('learner');
    const search = query.size > 0 ? `?${query}` : '';
    // From <mount>/<lab>/<target>/<rest>: up to the mount, then the ticketed form of the same place.
    const ups = '../'.repeat(Math.max(0, (req.path.match(/\//g) ?? []).length - 1));
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, `${ups || './'}@${ticket}/${lab.id}/${targetSegment(target)}/${restParts.join('/')}${search}`);
  });

  // The app, for whoever holds a valid ticket.
  r.use(async (req, res) => {
    const [first = '', labId = '', targetPart = '', ...restParts] = splitPath(req.path);
    const target = parseTarget(targetPart);
    const lab = ctx.catalog.byId(labId);
    if (!target || !lab) throw new HttpError(`no preview at ${req.originalUrl.split('?')[0] ?? ''}`, 404);
    const verdict = tickets.verify(first.slice(1), lab.id, target);
    if (verdict === 'expired') return void res.status(403).type('html').send(expiredPage(target, basePathOf(req)));
    if (verdict === 'invalid') throw new HttpError('this preview link is not valid', 403, 'Open the port again from the workspace\'s Ports list.');
    // A browser signed in as some other learner is refused even with the link (it was shared).
    const me = ctx.auth.principalOf(req);
    if (me && !me.owner && me.learnerId !== verdict.learnerId) throw new HttpError('this is another learner\'s sandbox', 403);
    if (restParts.length === 0 && !req.path.endsWith('/')) {
      // `…/8080` → `…/8080/`, so the app's relative links resolve under the preview root.
      return void res.redirect(308, `./${targetPart}/${req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''}`);
    }
    if (req.method === 'OPTIONS' && req.headers.origin === 'null' && typeof req.headers['access-control-request-method'] === 'string') {
      // The preflight of the app's own non-simple requests (see the CORS note above): answered here,
      // as an app seldom expects one for what is, outside the preview, same-origin.
      res.setHeader('Access-Control-Allow-Origin', 'null');
      res.setHeader('Access-Control-Allow-Methods', req.headers['access-control-request-method']);
      const asked = req.headers['access-control-request-headers'];
      if (typeof asked === 'string') res.setHeader('Access-Control-Allow-Headers', asked);
      res.setHeader('Access-Control-Max-Age', '600');
      res.setHeader('Vary', 'Origin');
      return void res.status(204).end();
    }
    if (!ctx.sessions.has(verdict.learnerId, lab.id)) return void res.status(503).type('html').send(noSandboxPage(lab.id, basePathOf(req)));
    const sandbox = await ctx.sessions.ensure(verdict.learnerId, lab);

    const rest = restParts.join('/');
    const search = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    const rootPath = `${req.baseUrl}/${first}/${lab.id}/${targetPart}/`;
    proxied.set(req, { rest, rootPath });
    req.url = `/${rest}${search}`;
    const cookie = cookiesForApp(req.headers.cookie);
    if (cookie === undefined) delete req.headers.cookie;
    else req.headers.cookie = cookie;
    req.headers['x-forwarded-prefix'] = rootPath.slice(0, -1);
    const options = { target: `http://localhost:${target.port}`, agent: agentFor(sandbox, target) };

    if (isUpgrade(req)) {
      const raw = ctx.upgrades.hijack(req);
      if (!raw) return;
      proxy.ws(req, raw.socket, raw.head, options, (err) => {
        ctx.logger.info({ learner: verdict.learnerId, lab: lab.id, port: target.port, err: errorMessage(err) }, 'preview WebSocket failed');
        raw.socket.destroy();
      });
      return;
    }
    proxy.web(req, res, options, (err) => answerProxyError(res, target, err, { rest, base: basePathOf(req) }, ctx.logger));
  });
  return r;
}

/** The app could not be reached: a page that says why, never a bare proxy error. */
function answerProxyError(res: ServerResponse | Response, target: PreviewTarget, err: unknown, at: { rest: string; base: string }, logger: Logger): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const refused = err instanceof SandboxError && err.code === 'refused';
  if (!refused) logger.info({ port: target.port, service: target.service, path: at.rest, err: errorMessage(err) }, 'preview request failed');
  res.statusCode = 502;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(refused ? nothingListensPage(target, at.base) : unreachablePage(target, err instanceof SandboxError ? err.message : errorMessage(err), at.base));
}

/** The entry address of a port's preview, relative to labrun's root (for lesson links and the Ports list). */
export function previewEntryPath(labId: string, target: PreviewTarget): string {
  return `/preview/${encodeURIComponent(labId)}/${targetSegment(target)}/`;
}
