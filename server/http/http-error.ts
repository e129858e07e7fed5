// One error type for HTTP handlers and the one final error handler that turns any error into a
// response: JSON `{ error, hint? }` under /api, a short plain page elsewhere. 4xx messages are for the
// user and shown as is; 5xx details are logged and hidden unless the error says it is safe to show.
import type { ErrorRequestHandler, Response } from 'express';
import { SandboxError } from '../sandbox/sandbox.ts';
import type { Logger } from '../log.ts';
import { escapeHtml, page } from './pages.ts';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    message: string,
    readonly status: number,
    /** Extra guidance for the user ("what to do"), shown beside the message. */
    readonly hint?: string,
    /** Whether a 5xx message is written for users (e.g. "your sandbox could not start") and may be shown. */
    readonly expose = status < 500,
  ) {
    super(message);
  }
}

/** Statuses body-parser sets on errors about the request itself. */
const CLIENT_ERROR_MIN = 400;
const CLIENT_ERROR_MAX = 499;

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof SandboxError) return new HttpError(err.message, 503, err.hint, true);
  // body-parser marks its own errors with a 4xx status (bad JSON, too large, wrong charset).
  if (err instanceof Error && 'status' in err && typeof err.status === 'number') {
    if (err.status >= CLIENT_ERROR_MIN && err.status <= CLIENT_ERROR_MAX) {
      const message = err instanceof SyntaxError ? 'request body is not valid JSON' : err.message;
      return new HttpError(message, err.status);
    }
  }
  return new HttpError('internal error', 500, undefined, false);
}

export function sendError(res: Response, isApi: boolean, err: HttpError, base = ''): void {
  const message = err.expose ? err.message : 'internal error — the details are in the labrun server log';
  res.status(err.status);
  if (isApi) {
    res.json(err.hint && err.expose ? { error: message, hint: err.hint } : { error: message });
  } else {
    const hint = err.hint && err.expose ? `<p>${escapeHtml(err.hint)}</p>` : '';
    res.type('html').send(page(`Error ${err.status}`, `<h1>${escapeHtml(message)}</h1>${hint}`, base));
  }
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const httpErr = toHttpError(err);
    if (httpErr.status >= 500) {
      logger.error({ method: req.method, path: req.path, err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'request failed');
    }
    const base: unknown = req.app.locals.basePath;
    sendError(res, req.path.startsWith('/api/') || req.path.startsWith('/ws/'), httpErr, typeof base === 'string' ? base : '');
  };
}
