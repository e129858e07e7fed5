// The learner's workspace tabs under /api/labs/:labId: their terminal tabs (list, open, rename,
// close — closing ends the shell) and which tab they have in front, which their class's board shows.
// The instructor may list another learner's tabs (?learner=) to watch one; only the learner changes them.
import { Router } from 'express';
import { z } from 'zod';
import { ActiveTab, TerminalTab, TerminalTabs, MAX_TAB_TITLE } from '../../shared/api.ts';
import { TabError, type TabErrorKind } from '../session/terminal-tabs.ts';
import type { LearnerSessions } from '../session/learner-sessions.ts';
import type { Catalog } from '../labs/catalog.ts';
import { labOf, learnerOf, parseBody } from './api-routes.ts';
import { HttpError } from './http-error.ts';
import { reply } from './reply.ts';
import { principalOf } from './security.ts';

const TAB_ERROR_STATUS: Record<TabErrorKind, number> = { 'bad-id': 400, 'bad-title': 400, limit: 409, unknown: 404 };

function toHttp(err: unknown): unknown {
  return err instanceof TabError ? new HttpError(err.message, TAB_ERROR_STATUS[err.kind]) : err;
}

/** Runs `fn`, turning a refused tab operation (thrown or rejected) into the HTTP error the learner reads. */
export function withTabErrors<T>(fn: () => T): T {
  try {
    const out = fn();
    if (out instanceof Promise) return out.catch((err: unknown) => Promise.reject(toHttp(err))) as T;
    return out;
  } catch (err) {
    throw toHttp(err);
  }
}

/** A workspace tab id as pages report it: `term:2`, `ports`, `editor`… */
const PanelId = z.string().regex(/^[a-z0-9][a-z0-9:_-]{0,63}$/, 'a tab id is 1-64 lowercase letters, digits, ":", "-" or "_"');
const OpenBody = z.strictObject({ id: z.string().max(64).optional(), title: z.string().max(MAX_TAB_TITLE * 4).optional() });
const RenameBody = z.strictObject({ title: z.string().max(MAX_TAB_TITLE * 4) });
const ActiveBody = z.strictObject({ tab: PanelId, title: z.string().max(MAX_TAB_TITLE * 4) });

export function terminalRouter(ctx: { catalog: Catalog; sessions: LearnerSessions }): Router {
  const r = Router();
  const tabsOf = (learnerId: string, labId: string): TerminalTabs => {
    const active = ctx.sessions.tabs.active(learnerId, labId);
    return { terminals: ctx.sessions.tabs.list(learnerId, labId), active: active && { tab: active.tab, title: active.title }, limit: ctx.sessions.tabs.limit };
  };

  r.get('/labs/:labId/terminals', (req, res) => {
    const lab = labOf(ctx, req, res);
    const me = principalOf(res);
    const asked = typeof req.query.learner === 'string' && req.query.learner !== '' ? req.query.learner : me.learnerId;
    if (asked !== me.learnerId && !me.owner) throw new HttpError("these are another learner's terminals", 403);
    reply(res, TerminalTabs, tabsOf(asked, lab.id));
  });

  r.post('/labs/:labId/terminals', (req, res) => {
    const lab = labOf(ctx, req, res);
    const body = parseBody(OpenBody, req.body);
    const tab = withTabErrors(() => ctx.sessions.openTerminal(learnerOf(res), lab.id, { ...(body.id !== undefined && { id: body.id }), ...(body.title !== undefined && { title: body.title }) }));
    reply(res, TerminalTab, tab, 201);
  });

  r.patch('/labs/:labId/terminals/:terminalId', (req, res) => {
    const lab = labOf(ctx, req, res);
    const body = parseBody(RenameBody, req.body);
    reply(res, TerminalTab, withTabErrors(() => ctx.sessions.tabs.rename(learnerOf(res), lab.id, String(req.params.terminalId), body.title)));
  });

  r.delete('/labs/:labId/terminals/:terminalId', async (req, res) => {
    const lab = labOf(ctx, req, res);
    const learner = learnerOf(res);
    const id = String(req.params.terminalId);
    // Validated before the shell is touched: an unknown tab is a 404 and nothing ends.
    withTabErrors(() => {
      if (!ctx.sessions.tabs.has(learner, lab.id, id)) throw new TabError(`no terminal '${id}' in this session`, 'unknown');
    });
    await ctx.sessions.closeTerminal(learner, lab.id, id);
    reply(res, TerminalTabs, tabsOf(learner, lab.id));
  });

  r.put('/labs/:labId/workspace/active', (req, res) => {
    const lab = labOf(ctx, req, res);
    const body = parseBody(ActiveBody, req.body);
    const active = withTabErrors(() => ctx.sessions.setActiveTab(learnerOf(res), lab.id, body.tab, body.title));
    reply(res, ActiveTab, { tab: active.tab, title: active.title });
  });

  return r;
}
