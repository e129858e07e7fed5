// The workspace API under /api/labs/:labId: the Ports list, the file tree, and the editor's read and
// save. The caller's own sandbox, or (instructor, reading only) a learner's via ?learner=. Nothing here
// starts a sandbox: without one the answer says to open the lab first.
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Catalog, Lab } from '../labs/catalog.ts';
import { previewEntryPath } from '../preview/preview-routes.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import type { LearnerSessions } from '../session/learner-sessions.ts';
import { labOf } from '../http/api-routes.ts';
import { HttpError } from '../http/http-error.ts';
import { reply } from '../http/reply.ts';
import { principalOf } from '../http/security.ts';
import { FileConflict, FileContent, FileSaved, FileTree, MAX_EDITOR_FILE_BYTES, PortList } from '../../shared/workspace-api.ts';
import { WorkspaceFileError, listWorkspace, readWorkspaceFile, writeWorkspaceFile } from './workspace-files.ts';

export interface WorkspaceContext {
  catalog: Catalog;
  sessions: LearnerSessions;
}

/** The learner whose sandbox is meant: the caller, or for the instructor (reads only) the one named. */
function learnerFor(req: Request, res: Response, write: boolean): string {
  const me = principalOf(res);
  const asked = typeof req.query.learner === 'string' && req.query.learner !== '' ? req.query.learner : me.learnerId;
  if (asked === me.learnerId) return asked;
  if (!me.owner) throw new HttpError('this is another learner\'s sandbox', 403);
  if (write) throw new HttpError('the instructor\'s view of a learner\'s files is read-only', 403);
  return asked;
}

async function sandboxOf(ctx: WorkspaceContext, lab: Lab, learnerId: string): Promise<Sandbox> {
  if (!ctx.sessions.has(learnerId, lab.id)) throw new HttpError('the sandbox is not running', 409, 'Open the lab: its terminal starts the sandbox.');
  return ctx.sessions.ensure(learnerId, lab);
}

function pathParam(req: Request): string {
  const p = req.query.path;
  if (typeof p !== 'string') throw new HttpError('path: give the file as ?path=<relative path>', 400);
  return p;
}

/** Refusals of the file layer as answers: 409 with the current version, the others as errors. */
function fileError(res: Response, err: unknown): void {
  if (!(err instanceof WorkspaceFileError)) throw err;
  if (err.status === 409) return reply(res, FileConflict, { error: err.message, ...(err.hint && { hint: err.hint }), currentVersion: err.currentVersion ?? null }, 409);
  throw new HttpError(err.message, err.status, err.hint);
}

export function workspaceRouter(ctx: WorkspaceContext): Router {
  const r = Router();

  r.get('/labs/:labId/ports', async (req, res) => {
    const lab = labOf(ctx, req, res);
    const sandbox = await sandboxOf(ctx, lab, learnerFor(req, res, false));
    const ports = await sandbox.listeningPorts();
    reply(res, PortList, {
      ports: ports.map((p) => ({ ...p, preview: previewEntryPath(lab.id, { port: p.port, ...(p.service !== undefined && { service: p.service }) }) })),
    });
  });

  r.get('/labs/:labId/files', async (req, res) => {
    const lab = labOf(ctx, req, res);
    const sandbox = await sandboxOf(ctx, lab, learnerFor(req, res, false));
    try {
      const tree = await listWorkspace(sandbox);
      reply(res, FileTree, { root: sandbox.workspacePath, ...tree });
    } catch (err) {
      fileError(res, err);
    }
  });

  r.get('/labs/:labId/files/content', async (req, res) => {
    const lab = labOf(ctx, req, res);
    const sandbox = await sandboxOf(ctx, lab, learnerFor(req, res, false));
    try {
      reply(res, FileContent, await readWorkspaceFile(sandbox, pathParam(req)));
    } catch (err) {
      fileError(res, err);
    }
  });

  // The body is the file's bytes (not JSON: the API's JSON limit is far below the editor's), and
  // `?base=` the version it was loaded at (empty: a new file).
  r.put(
    '/labs/:labId/files/content',
    express.raw({ type: () => true, limit: MAX_EDITOR_FILE_BYTES }),
    (err: unknown, _req: Request, _res: Response, next: NextFunction) => {
      if (err instanceof Error && 'type' in err && err.type === 'entity.too.large') {
        next(new HttpError(`the file is larger than ${MAX_EDITOR_FILE_BYTES / 1024 / 1024} MiB: too large for the editor`, 413));
      } else next(err);
    },
    async (req: Request, res: Response) => {
      const lab = labOf(ctx, req, res);
      const sandbox = await sandboxOf(ctx, lab, learnerFor(req, res, true));
      const base = typeof req.query.base === 'string' ? req.query.base : undefined;
      if (base === undefined) throw new HttpError('base: give the version you loaded as ?base= (empty for a new file)', 400);
      const body: unknown = req.body;
      const content = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
      try {
        reply(res, FileSaved, await writeWorkspaceFile(sandbox, pathParam(req), content, base));
      } catch (err) {
        fileError(res, err);
      }
    },
  );

  return r;
}
