// The owner of every learner's session in a lab. Where is a learner's sandbox created, and when?
// Here: `ensure` makes it on first need — the terminal's connection (prepareTerminal), a check, a
// step opened, a classroom join — taking a warm one from the pool when the class has one, and
// replacing one that died. It goes away on one path only, `stop` (idle reclaim, the instructor ends the
// learner's session or the class) or `resetTo` (a fresh sandbox brought to a step), and in every case
// the learner's page is told why: a notice on their event stream and the terminal closed with a reason.
// Also owns the terminals (several tabs per session, see terminal-tabs.ts and server/terminal/), the idle clock, which steps' setup
// ran in the current sandbox, and the board's "sandbox" events. Keys come from session-key.ts only.
import type { LearnerEvent, SessionNoticeKind } from '../../shared/classroom-events.ts';
import type { ActivityDetail } from '../classroom/class-events.ts';
import { CloseCode, closeReason } from '../../shared/protocol.ts';
import type { WebSocket } from 'ws';
import { runStepChecks, runStepSolve, type StepResult } from '../checks/run-step.ts';
import type { Lab, Step } from '../labs/catalog.ts';
import { DisposableStore, toDisposable, type Disposable } from '../lifetime.ts';
import { errorMessage, silentLogger, type Logger } from '../log.ts';
import type { Sandbox, SandboxDriver } from '../sandbox/sandbox.ts';
import type { Store } from '../store/store.ts';
import { TerminalManager, type TerminalManagerOptions } from '../terminal/terminal-manager.ts';
import type { TerminalTap } from '../terminal/terminal-session.ts';
import { ENDED_MESSAGE, RECLAIMED_MESSAGE, leftText, warningMessage, type IdlePolicy } from './idle-policy.ts';
import { IdleReaper } from './idle-reaper.ts';
import { LabSessions, type SessionEvent, type SessionState, type SessionStatus } from './lab-sessions.ts';
import { sessionKey, terminalKey } from './session-key.ts';
import { TabError, TerminalTabs, type ActiveTab } from './terminal-tabs.ts';
import { DEFAULT_TERMINAL_ID, type TerminalTab } from '../../shared/api.ts';

export type { SessionState, SessionStatus, SessionEvent };

/** Why a session's sandbox is stopped; each has its own words for the learner. */
export type StopReason = 'idle-stopped' | 'ended' | 'class-ended';

const CLASS_ENDED_MESSAGE = 'Your instructor ended the class and stopped your sandbox. Your progress is kept.';

const STOP_MESSAGES: Record<StopReason, string> = {
  'idle-stopped': RECLAIMED_MESSAGE,
  ended: ENDED_MESSAGE,
  'class-ended': CLASS_ENDED_MESSAGE,
};

export function resetMessage(step: Step): string {
  return `Your instructor reset your sandbox to step ${step.index + 1} (${step.title}). Your progress is kept; the terminal reconnects to the fresh sandbox.`;
}

/** A notice for the learner's own pages (and their class's board). */
export interface SessionNotice {
  type: 'session';
  learnerId: string;
  kind: SessionNoticeKind;
  message: string;
  at: number;
}

/** Where the session owner reports what happened: ClassEvents in the app, a recorder in tests. */
export interface SessionEventSink {
  notice(e: SessionNotice, detail?: ActivityDetail): void;
  learner(e: LearnerEvent, detail?: ActivityDetail): void;
}

/** Records learners' terminals (server/recording/): a tap per terminal, told when the learner's step changes. */
export interface TerminalRecorder {
  /** A tap for a new terminal of the learner, or undefined when theirs is never recorded. */
  tap(learnerId: string, labId: string, cols: number, rows: number, stepId: string | undefined): TerminalTap | undefined;
  mark(learnerId: string, labId: string, stepId: string): void;
}

export interface LearnerSessionsOptions {
  driver: SandboxDriver;
  recorder?: TerminalRecorder;
  store: Store;
  events: SessionEventSink;
  idle: IdlePolicy;
  /** A source of ready-made sandboxes (the classroom's warm pool); see LabSessions. */
  seat?: (learnerId: string, lab: Lab) => Promise<Sandbox> | undefined;
  logger?: Logger;
  /** The idle clock's time source (tests inject one). */
  now?: () => number;
  healthTtlMs?: number;
  terminals?: TerminalManagerOptions;
  /** Terminal tabs per learner and lab (default MAX_TERMINALS). */
  maxTerminals?: number;
}

/** Connects an upgraded socket to the learner's terminal; never throws. */
export type TerminalAttach = (ws: WebSocket) => void;

export class LearnerSessions implements Disposable {
  readonly #opts: LearnerSessionsOptions;
  readonly #sandboxes: LabSessions;
  readonly #terminals: TerminalManager;
  /** The learner's terminal tabs (names, order, which tab is in front), kept in the store. */
  readonly tabs: TerminalTabs;
  /** The idle clock; public so a test (or a future admin route) can read deadlines and tick it. */
  readonly idle: IdleReaper;
  readonly #lastBoardState = new Map<string, SessionState>();
  readonly #resets = new Map<string, Promise<void>>();
  /** Steps whose foreground was typed, per sandbox: a fresh sandbox (reset, restart) types them again. */
  readonly #foregroundTyped = new WeakMap<Sandbox, Set<string>>();
  readonly #lifetime = new DisposableStore();

  constructor(opts: LearnerSessionsOptions) {
    this.#opts = opts;
    this.idle = new IdleReaper({
      policy: opts.idle,
      ...(opts.now && { now: opts.now }),
      logger: this.#logger,
      onWarn: (learnerId, _labId, msLeft) => this.#notice(learnerId, 'idle-warning', warningMessage(msLeft)),
      onReclaim: (learnerId, labId) => this.stop(learnerId, labId, 'idle-stopped'),
    });
    this.#sandboxes = new LabSessions({
      driver: opts.driver,
      logger: this.#logger,
      ...(opts.healthTtlMs !== undefined && { healthTtlMs: opts.healthTtlMs }),
      ...(opts.seat && { seat: opts.seat }),
      onActivity: (learnerId, labId) => this.idle.touch(learnerId, labId),
    });
    this.#terminals = new TerminalManager(opts.terminals);
    this.tabs = new TerminalTabs(opts.store.database, opts.maxTerminals);
    // Disposed newest first: the idle clock stops, then terminals close, then sandboxes are let go.
    this.#lifetime.add({
      dispose: async () => {
        const kept = await this.#sandboxes.dispose();
        if (kept > 0) this.#logger.info({ kept }, `kept ${kept} sandbox${kept === 1 ? '' : 'es'} running; the next labrun serve re-adopts ${kept === 1 ? 'it' : 'them'}`);
      },
    });
    this.#lifetime.add(this.#terminals);
    this.#lifetime.add(this.idle);
    this.#lifetime.add(toDisposable(this.#sandboxes.subscribe((e) => this.#onStatus(e))));
  }

  get #logger(): Logger {
    return this.#opts.logger ?? silentLogger;
  }

  #notice(learnerId: string, kind: SessionNoticeKind, message: string, labId?: string): void {
    this.#opts.events.notice({ type: 'session', learnerId, kind, message, at: Date.now() }, labId === undefined ? {} : { labId });
  }

  #onStatus(e: SessionEvent): void {
    // A sandbox that becomes a learner's starts its idle clock; one that goes away stops it.
    if (e.status.state === 'ready') this.idle.track(e.learnerId, e.labId);
    else if (e.status.state === 'none') this.idle.forget(e.learnerId, e.labId);
    // The board hears of state changes, not of every progress tick while a sandbox starts.
    const key = sessionKey(e.learnerId, e.labId);
    if (this.#lastBoardState.get(key) === e.status.state) return;
    this.#lastBoardState.set(key, e.status.state);
    this.#opts.events.learner({ type: 'sandbox', learnerId: e.learnerId, state: e.status.state, at: Date.now() });
  }

  /**
   * Re-adopts sandboxes an earlier run left (see LabSessions.adoptExisting) and starts their idle
   * clocks; returns how many went back to their learners.
   */
  async adoptExisting(ownerOf?: (sb: Sandbox) => string | null, unowned?: (sb: Sandbox) => void): Promise<number> {
    const adopted = await this.#sandboxes.adoptExisting(ownerOf, unowned);
    for (const s of this.#sandboxes.live()) this.idle.track(s.learnerId, s.labId);
    return adopted;
  }

  /** The learner's sandbox for the lab: the live one, else a new one (from the pool, or made now). */
  ensure(learnerId: string, lab: Lab): Promise<Sandbox> {
    return this.#sandboxes.ensure(learnerId, lab);
  }

  /** The learner's sandbox for the lab if one is up now, without making one (the instructor's read-only views). */
  current(learnerId: string, labId: string): Sandbox | undefined {
    return this.#sandboxes.current(learnerId, labId);
  }

  /** Whether the learner has a sandbox for the lab, or one is being made. */
  has(learnerId: string, labId: string): boolean {
    return this.#sandboxes.has(learnerId, labId);
  }

  status(learnerId: string, labId: string): SessionStatus {
    return this.#sandboxes.status(learnerId, labId);
  }

  /** How many sessions are in each state, and how many terminals are open (for the metrics). */
  counts(): { states: Map<SessionState, number>; terminals: number } {
    return { states: this.#sandboxes.stateCounts(), terminals: this.#terminals.size };
  }

  /** Calls `fn` on every sandbox status change; dispose the result to stop. */
  subscribe(fn: (e: SessionEvent) => void): Disposable {
    return toDisposable(this.#sandboxes.subscribe(fn));
  }

  /**
   * Readies a terminal connection before the WebSocket upgrade completes (the page shows the
   * session's status meanwhile): the learner's own terminal needs their sandbox up (after any reset
   * in flight); a read-only watcher (the instructor) needs nothing. Then `attach(ws)` connects the
   * socket, counts typing as activity and runs the setup of the step the learner is on.
   */
  async prepareTerminal(learnerId: string, lab: Lab, opts: { readOnly?: boolean; terminal?: string } = {}): Promise<TerminalAttach> {
    const terminal = opts.terminal ?? DEFAULT_TERMINAL_ID;
    const key = terminalKey(learnerId, lab.id, terminal);
    if (opts.readOnly) {
      return (ws) =>
        this.#terminals.attach(
          ws,
          key,
          () => {
            throw new Error('a watcher never starts a terminal');
          },
          { readOnly: true },
        );
    }
    // The default terminal can always be attached (a page that names none gets it); others are opened first.
    if (terminal !== DEFAULT_TERMINAL_ID && !this.tabs.has(learnerId, lab.id, terminal)) throw new TabError(`no terminal '${terminal}' in this session: open it first`, 'unknown');
    const session = sessionKey(learnerId, lab.id);
    await this.#resets.get(session)?.catch(() => undefined);
    let sandbox: Sandbox;
    try {
      sandbox = await this.ensure(learnerId, lab);
    } catch (err) {
      const message = errorMessage(err);
      return (ws) => ws.close(CloseCode.InternalError, closeReason(message));
    }
    return (ws) => {
      this.#terminals.attach(ws, key, (cols, rows) => sandbox.openTerminal(cols, rows), {
        group: session,
        // Typing is activity; resizes and flow-control acks are not (a streaming `watch` is not a learner).
        onInput: () => this.idle.touch(learnerId, lab.id),
        tap: (cols, rows) => this.#opts.recorder?.tap(learnerId, lab.id, cols, rows, this.#currentStep(learnerId, lab)?.id),
      });
      const step = this.#currentStep(learnerId, lab);
      if (step) this.openStep(learnerId, lab, step).catch((err: unknown) => this.#logger.warn({ learner: learnerId, lab: lab.id, step: step.id, err: errorMessage(err) }, 'step setup failed'));
    };
  }

  /** Opens a terminal tab (see TerminalTabs.open); its shell starts when a page connects to it. */
  openTerminal(learnerId: string, labId: string, want: { id?: string; title?: string } = {}): TerminalTab {
    return this.tabs.open(learnerId, labId, want);
  }

  /** Closes a terminal tab and ends its shell; its pages are told (4404: no reconnecting to a closed tab). */
  async closeTerminal(learnerId: string, labId: string, terminal: string): Promise<void> {
    this.tabs.close(learnerId, labId, terminal);
    await this.#terminals.end(terminalKey(learnerId, labId, terminal), { code: CloseCode.UnknownSession, reason: 'this terminal tab was closed' });
  }

  /** Whether the terminal has a live shell (attached or within its grace period). */
  terminalLive(learnerId: string, labId: string, terminal: string): boolean {
    return this.#terminals.has(terminalKey(learnerId, labId, terminal));
  }

  /** The learner put a workspace tab in front: remembered, and their class's board is told. */
  setActiveTab(learnerId: string, labId: string, tab: string, title: string): ActiveTab {
    const active = this.tabs.setActive(learnerId, labId, tab, title);
    this.#opts.events.learner({ type: 'tab', learnerId, tab: active.tab, title: active.title, at: active.at });
    return active;
  }

  #currentStep(learnerId: string, lab: Lab): Step | undefined {
    return lab.steps.find((s) => s.id === this.#opts.store.getProgress(learnerId, lab.id).currentStep) ?? lab.steps[0];
  }

  /**
   * The learner opened a step: activity, and the step's setup runs once per sandbox; then its
   * foreground, if any, is typed into the learner's terminal (once per sandbox, and only when a
   * terminal is open: attaching one opens the current step again).
   */
  async openStep(learnerId: string, lab: Lab, step: Step): Promise<Sandbox> {
    this.#opts.recorder?.mark(learnerId, lab.id, step.id);
    const sandbox = await this.#sandboxes.openStep(learnerId, lab, step);
    if (step.foreground !== undefined) this.#typeForeground(learnerId, lab, step, sandbox);
    return sandbox;
  }

  #typeForeground(learnerId: string, lab: Lab, step: Step, sandbox: Sandbox): void {
    const typed = this.#foregroundTyped.get(sandbox) ?? new Set<string>();
    this.#foregroundTyped.set(sandbox, typed);
    if (typed.has(step.id) || step.foreground === undefined) return;
    // Enter is \r on a terminal; each line runs as the learner would have typed it, in their first
    // terminal (imported scenarios have one).
    if (this.#terminals.type(terminalKey(learnerId, lab.id, DEFAULT_TERMINAL_ID), step.foreground.replace(/\r?\n/g, '\r'))) {
      typed.add(step.id);
      this.#logger.info({ learner: learnerId, lab: lab.id, step: step.id }, 'typed the step\'s foreground into the terminal');
    }
  }

  /** The Check button: runs the step's checks in the learner's sandbox, records the attempt, tells the board. */
  async check(learnerId: string, lab: Lab, step: Step, answers?: Record<string, string>): Promise<StepResult & { completedSteps: string[] }> {
    const sandbox = await this.openStep(learnerId, lab, step);
    const result = await runStepChecks(sandbox, lab, step, answers);
    this.#opts.store.recordAttempt(learnerId, lab.id, step.id, result.passed, result);
    const at = Date.now();
    const checks = result.checks.map((c) => ({ name: c.name, passed: c.passed }));
    this.#opts.events.learner({ type: 'check', learnerId, stepId: step.id, passed: result.passed, at }, { labId: lab.id, checks, durationMs: result.durationMs });
    if (result.passed) this.#opts.events.learner({ type: 'step-done', learnerId, stepId: step.id, at }, { labId: lab.id });
    return { ...result, completedSteps: this.#opts.store.getProgress(learnerId, lab.id).completedSteps };
  }

  /**
   * Stops the learner's sandbox for good (until their next visit): their pages are told why, their
   * terminal closes with that reason (4404: no reconnecting into a fresh sandbox behind their back),
   * then the sandbox goes. Progress stays.
   */
  async stop(learnerId: string, labId: string, reason: StopReason): Promise<void> {
    const message = STOP_MESSAGES[reason];
    this.#logger.info({ learner: learnerId, lab: labId, reason }, 'stopping the sandbox');
    this.idle.forget(learnerId, labId);
    this.#notice(learnerId, reason, message, labId);
    // The terminal first: a shell whose sandbox vanished would only say "shell exited".
    await this.#terminals.endGroup(sessionKey(learnerId, labId), { code: CloseCode.UnknownSession, reason: closeReason(message) });
    await this.#sandboxes.destroy(learnerId, labId);
  }

  /** Stops every listed learner's session in a lab (a class ended); resolves to how many could not be removed. */
  async stopAll(learnerIds: string[], labId: string, reason: StopReason): Promise<number> {
    const results = await Promise.allSettled(learnerIds.map((id) => this.stop(id, labId, reason)));
    return results.filter((r) => r.status === 'rejected').length;
  }

  /**
   * The instructor's "reset to step N": a fresh sandbox brought to the state step N expects — each
   * earlier step's setup (once, recorded like any other run) and solve, in order — with the learner on
   * step N. The terminal closes saying why and reconnects to the new sandbox. Progress stays.
   */
  resetTo(learnerId: string, lab: Lab, to: Step): Promise<void> {
    const key = sessionKey(learnerId, lab.id);
    const run = (async () => {
      const message = resetMessage(to);
      this.#logger.info({ learner: learnerId, lab: lab.id, step: to.id }, 'resetting the sandbox to a step');
      this.#notice(learnerId, 'reset', message);
      this.#opts.store.setCurrentStep(learnerId, lab.id, to.id);
      await this.#terminals.endGroup(key, { code: CloseCode.GoingAway, reason: closeReason(message) });
      await this.#sandboxes.destroy(learnerId, lab.id);
      const sandbox = await this.ensure(learnerId, lab);
      for (const step of lab.steps) {
        if (step.index >= to.index) break;
        await this.#sandboxes.setupOnce(learnerId, lab, step);
        await runStepSolve(sandbox, lab, step);
      }
      await this.openStep(learnerId, lab, to);
      this.#opts.events.learner({ type: 'step-opened', learnerId, stepId: to.id, at: Date.now() }, { labId: lab.id });
    })();
    this.#resets.set(key, run);
    return run.finally(() => {
      if (this.#resets.get(key) === run) this.#resets.delete(key);
    });
  }

  /**
   * The instructor's "extend": the idle clock starts over with `extraMs` more than the TTL, and the
   * learner is told. Null when the learner has no running sandbox; else the new deadline (null = never).
   */
  extend(learnerId: string, labId: string, extraMs: number): { deadline: number | null } | null {
    if (!this.idle.extend(learnerId, labId, extraMs)) return null;
    const deadline = this.idle.deadline(learnerId, labId);
    this.#notice(
      learnerId,
      'extended',
      deadline === null
        ? 'Your instructor extended your session.'
        : `Your instructor extended your session: your sandbox is kept for at least ${leftText(deadline - Date.now())} more, even if idle.`,
    );
    return { deadline };
  }

  /** Stops the idle clock, closes every terminal, and lets go of the sandboxes (kept for the next start); idempotent. */
  dispose(): Promise<void> {
    return this.#lifetime.dispose();
  }
}
