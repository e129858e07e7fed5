// The sub-path the whole app lives under (--base-path, e.g. /labrun): app.ts mounts one router
// there, so every route — pages, assets, API, WebSockets, and routes other features add — inherits
// it; this module holds what must know the prefix outside that router: the page the client reads it
// from (index.html gets <meta name="labrun-base"> and prefixed asset links; client/paths.ts reads the
// meta), the server-rendered pages' stylesheet link, and the answer to requests outside the prefix.
import type { Request, RequestHandler } from 'express';
import { HttpError } from './http-error.ts';

/** The base path of the app serving this request ('' at the root); app.ts stores it in app.locals. */
export function basePathOf(req: Request): string {
  const base: unknown = req.app.locals.basePath;
  return typeof base === 'string' ? base : '';
}

/**
 * index.html as served under `base`: the meta tag the client reads its prefix from, and every
 * root-relative href/src (the bundle, the stylesheet) prefixed. Pure; `base` is '' or '/a/b'.
 */
export function htmlUnderBase(html: string, base: string): string {
  const meta = `<meta name="labrun-base" content="${base}">`;
  const prefixed = base === '' ? html : html.replace(/\b(href|src)="\/(?!\/)/g, `$1="${base}/`);
  return prefixed.includes('<meta charset="utf-8">') ? prefixed.replace('<meta charset="utf-8">', `<meta charset="utf-8">\n  ${meta}`) : prefixed.replace('<head>', `<head>\n  ${meta}`);
}

/**
 * Requests outside the base path: the bare root sends the browser to the app (someone typed the
 * host only), anything else is a 404 naming where the app is.
 */
export function outsideBasePath(base: string): RequestHandler {
  return (req, res) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && req.path === '/') return res.redirect(302, `${base}/`);
    throw new HttpError(`nothing at ${req.path}: labrun is served under ${base}/`, 404);
  };
}
