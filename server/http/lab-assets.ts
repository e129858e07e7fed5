// A lab's `assets/` folder (images its lessons show), served to whoever may open the lab: the lesson
// page points a relative image at /api/labs/<id>/assets/<path>. Nothing outside assets/ is reachable:
// `..` segments and dotfiles are refused.
import path from 'node:path';
import type { Request, Response } from 'express';
import type { Lab } from '../labs/catalog.ts';
import { HttpError } from './http-error.ts';

/** Images change only when the lab is reloaded; a short cache keeps a lesson's images from refetching. */
const ASSET_MAX_AGE_MS = 5 * 60_000;

export function sendLabAsset(lab: Lab, req: Request, res: Response): Promise<void> {
  const segments: unknown = req.params.path;
  const rel = (Array.isArray(segments) ? segments.map(String) : [String(segments ?? '')]).join('/');
  if (!rel || rel.split('/').some((s) => s === '..' || s.startsWith('.'))) throw new HttpError(`no asset '${rel}' in lab '${lab.id}'`, 404);
  return new Promise((resolve, reject) => {
    res.sendFile(rel, { root: path.join(lab.dir, 'assets'), dotfiles: 'deny', maxAge: ASSET_MAX_AGE_MS }, (err) => {
      if (!err) resolve();
      else if (res.headersSent) resolve();
      else reject(new HttpError(`no asset '${rel}' in lab '${lab.id}'`, 404));
    });
  });
}
