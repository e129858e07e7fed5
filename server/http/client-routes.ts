// The web client's files and page routes. Public: the bundle (and its split-off chunks), its stylesheet and source maps (they
// hold no data, and the sign-in and join pages need them) and the join page. Signed in: the catalog,
// a lesson, and (instructor only) the instructor pages — all one index.html; the client routes itself.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { Router, type RequestHandler } from 'express';
import type { Catalog } from '../labs/catalog.ts';
import { basePathOf, htmlUnderBase } from './base-path.ts';
import { CLIENT_DIR } from './client-bundle.ts';
import { HttpError } from './http-error.ts';
import { PLAYER_CONTENT_SECURITY_POLICY, requireInstructor } from './security.ts';

const PUBLIC_ASSETS = ['app.js', 'app.js.map', 'app.css', 'app.css.map'];

/** index.html with the base path written in (base-path.ts), so the client finds its prefix and its files. */
export const sendIndex: RequestHandler = async (req, res) => {
  const index = path.join(CLIENT_DIR, 'index.html');
  // `labrun serve` builds the bundle before it listens; only a server started some other way (a
  // test, a bench) without `npm run build` gets here.
  if (!existsSync(index)) throw new HttpError('the web client is not built', 500, 'Run `npm run build`, then reload.', true);
  res.setHeader('Cache-Control', 'no-cache');
  res.type('html').send(htmlUnderBase(await readFile(index, 'utf8'), basePathOf(req)));
};

/** Before sign-in: the public assets and the join page (following the join link is how a learner signs in). */
export function publicClientRouter(): Router {
  const r = Router();
  for (const file of PUBLIC_ASSETS) {
    r.get(`/${file}`, (_req, res, next) => {
      res.sendFile(path.join(CLIENT_DIR, file), (err) => err && next());
    });
  }
  // The bundle's split-off parts (loaded by app.js, the join page's included): code, no data.
  r.use('/chunks', express.static(path.join(CLIENT_DIR, 'chunks'), { index: false }));
  r.get('/join/:code', sendIndex);
  return r;
}

/** After sign-in: the rest of the client's files and its pages. */
export function clientRouter(catalog: Catalog): Router {
  const r = Router();
  r.use(express.static(CLIENT_DIR, { index: false }));
  r.get('/', sendIndex);
  r.get('/instructor', requireInstructor(), sendIndex);
  // The board plays recordings (see PLAYER_CONTENT_SECURITY_POLICY).
  r.get('/instructor/classes/:classId', requireInstructor(), (req, res, next) => {
    res.setHeader('Content-Security-Policy', PLAYER_CONTENT_SECURITY_POLICY);
    sendIndex(req, res, next);
  });
  r.get('/labs/:labId', (req, res, next) => {
    if (!catalog.byId(req.params.labId)) throw new HttpError(`no lab '${req.params.labId}'`, 404);
    sendIndex(req, res, next);
  });
  return r;
}
