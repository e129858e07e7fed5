// Terminal recordings over HTTP: a learner lists and downloads their own (`.cast`, asciicast v2); the
// instructor any learner's (`?learner=`), as for past check results. Anyone else gets 403. Turning
// recording on or off is a classroom route (classroom-routes.ts).
import { Router } from 'express';
import { RecordingList } from '../../shared/api.ts';
import type { Catalog } from '../labs/catalog.ts';
import type { Recordings } from '../recording/recordings.ts';
import type { ClassStore } from '../classroom/class-store.ts';
import { labOf } from './api-routes.ts';
import { HttpError } from './http-error.ts';
import { reply } from './reply.ts';
import { principalOf } from './security.ts';
import type { Request, Response } from 'express';

export interface RecordingContext {
  catalog: Catalog;
  classes: ClassStore;
  recordings: Recordings;
}

/** Whose recordings the request is about: the caller's own, or (instructor only) `?learner=`. */
function learnerAsked(req: Request, res: Response): string {
  const me = principalOf(res);
  const asked = req.query.learner;
  const learner = typeof asked === 'string' && asked !== '' ? asked : me.learnerId;
  if (learner !== me.learnerId && !me.owner) throw new HttpError('these are another learner\'s recordings', 403);
  return learner;
}

export function recordingRouter(ctx: RecordingContext): Router {
  const r = Router();

  r.get('/labs/:labId/recordings', (req, res) => {
    const lab = labOf(ctx, req, res);
    const learner = learnerAsked(req, res);
    const cls = ctx.classes.learner(learner);
    reply(res, RecordingList, { learnerId: learner, recording: cls !== undefined && ctx.recordings.isOn(cls.classId), recordings: ctx.recordings.list(learner, lab.id) });
  });

  r.get('/labs/:labId/recordings/:file', (req, res, next) => {
    const lab = labOf(ctx, req, res);
    const learner = learnerAsked(req, res);
    const name = String(req.params.file);
    const id = name.endsWith('.cast') ? name.slice(0, -'.cast'.length) : name;
    const file = ctx.recordings.file(learner, lab.id, id);
    if (!file) throw new HttpError(`no recording '${id}' of this learner in lab '${lab.id}'`, 404);
    res.setHeader('Cache-Control', 'no-store');
    // `?download` saves it as a file; without it the board's player reads it.
    if (req.query.download !== undefined) res.attachment(`${id}.cast`);
    res.type('application/x-asciicast');
    res.sendFile(file, (err) => err && next(err));
  });

  return r;
}
