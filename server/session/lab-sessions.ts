// The sandbox part of a learner's session (LearnerSessions owns the whole): which sandbox belongs to which (learner, lab). Creates a sandbox on first need,
// reports its progress while it starts, re-adopts sandboxes left by an earlier server run, runs each
// step's setup once when the learner opens it, and replaces a sandbox that died (progress lives in the
// store, so nothing the learner earned is lost). Owns the session map; sandboxes outlive it on purpose.
import type { SessionState } from '../../shared/api.ts';
import { sandboxSpec, type Lab, type Step } from '../labs/catalog.ts';
import { runStepSetup } from '../checks/run-step.ts';
import { errorMessage, silentLogger, type Logger } from '../log.ts';
import { sessionKey } from './session-key.ts';
import { SandboxError, type Sandbox, type SandboxDriver, type SandboxProgress } from '../sandbox/sandbox.ts';

/**
 * How long a health answer is trusted. A check or a new terminal within this window skips the probe
 * (~70 ms, a docker exec); a sandbox that dies inside it is caught by the next request after it.
 */
const HEALTH_TTL_MS = 5000;

export type { SessionState };

export interface SessionStatus {
  state: SessionState;
  /** Latest creation progress while starting (and the final 'ready' step after). */
  progress: SandboxProgress | null;
  error?: string;
  hint?: string;
  /** Something the learner should know, e.g. that their sandbox was replaced. */
  notice?: string;
}

export interface SessionEvent {
  learnerId: string;
  labId: string;
  status: SessionStatus;
}

interface Entry {
  learnerId: string;
  labId: string;
  sandbox?: Sandbox;
  pending?: Promise<Sandbox>;
  healthyAt: number;
  status: SessionStatus;
  /** Steps whose setup already ran in the current sandbox (reset when the sandbox is replaced). */
  setupDone: Set<string>;
  setupRunning: Map<string, Promise<void>>;
}

const REPLACED_NOTICE =
  'Your sandbox had stopped, so labrun started a fresh one. Your progress is kept, but containers and ' +
  'files you made in the old sandbox are gone: rerun earlier commands this step depends on.';

const WAITING_NOTICE =
  'Waiting for a seat: every prepared sandbox is taken. Yours starts as soon as one is free — no need to reload.';

export class LabSessions {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(e: SessionEvent) => void>();
  private disposed = false;

  constructor(
    private readonly opts: {
      driver: SandboxDriver;
      logger?: Logger;
      /** How long a health answer is trusted (default HEALTH_TTL_MS). */
      healthTtlMs?: number;
      /**
       * A source of ready-made sandboxes (the classroom's warm pool). Undefined = none for this lab, so
       * one is made on demand; a promise = wait for it (the learner is "waiting for a seat").
       */
      seat?: (learnerId: string, lab: Lab) => Promise<Sandbox> | undefined;
      /** Called when the learner opens a step or runs a check (both go through openStep): idle tracking. */
      onActivity?: (learnerId: string, labId: string) => void;
    },
  ) {}

  private get logger(): Logger {
    return this.opts.logger ?? silentLogger;
  }

  private entry(learnerId: string, labId: string): Entry {
    const key = sessionKey(learnerId, labId);
    let e = this.entries.get(key);
    if (!e) {
      e = {
        learnerId,
        labId,
        healthyAt: 0,
        status: { state: 'none', progress: null },
        setupDone: new Set(),
        setupRunning: new Map(),
      };
      this.entries.set(key, e);
    }
    return e;
  }

  private setStatus(e: Entry, status: SessionStatus): void {
    e.status = status;
    for (const fn of this.listeners) fn({ learnerId: e.learnerId, labId: e.labId, status });
  }

  /**
   * Re-adopts the sandboxes an earlier run of the server left behind; returns how many were given to
   * learners. `ownerOf` says whose a sandbox is (default: its learner label); a sandbox it answers
   * null for (a warm-pool sandbox nobody was handed) goes to `unowned` instead, or is kept untouched.
   */
  async adoptExisting(
    ownerOf: (sb: Sandbox) => string | null = (sb) => sb.learnerId,
    unowned: (sb: Sandbox) => void = () => {},
  ): Promise<number> {
    const found = await this.opts.driver.adoptExisting();
    let adopted = 0;
    for (const sb of found) {
      const owner = ownerOf(sb);
      if (owner === null) {
        unowned(sb);
        continue;
      }
      const e = this.entry(owner, sb.labId);
      if (e.sandbox) {
        // Two sandboxes for one (learner, lab) can only be a crash mid-replacement: keep the first.
        await sb.destroy().catch((err: unknown) => this.logger.warn({ learner: owner, lab: sb.labId, sandbox: sb.id, err: errorMessage(err) }, 'could not remove a duplicate sandbox'));
        continue;
      }
      e.sandbox = sb;
      e.healthyAt = Date.now();
      e.status = { state: 'ready', progress: null };
      adopted++;
    }
    return adopted;
  }

  /** Whether the learner has a sandbox for the lab, or one is being made. */
  has(learnerId: string, labId: string): boolean {
    const e = this.entries.get(sessionKey(learnerId, labId));
    return e !== undefined && (e.sandbox !== undefined || e.pending !== undefined);
  }

  /** Removes the learner's sandbox for the lab (a class ended); waits for a creation in flight first. */
  async destroy(learnerId: string, labId: string): Promise<void> {
    const key = sessionKey(learnerId, labId);
    const e = this.entries.get(key);
    if (!e) return;
    await e.pending?.catch(() => undefined);
    const sb = e.sandbox;
    e.sandbox = undefined;
    e.setupDone.clear();
    this.entries.delete(key);
    if (sb) await sb.destroy();
    for (const fn of this.listeners) fn({ learnerId, labId, status: { state: 'none', progress: null } });
  }

  /** The learner's sandbox for the lab if one is up now; never makes one (a watcher must not start a learner's sandbox). */
  current(learnerId: string, labId: string): Sandbox | undefined {
    return this.entries.get(sessionKey(learnerId, labId))?.sandbox;
  }

  /** How many sessions are in each state now (for the metrics). */
  stateCounts(): Map<SessionState, number> {
    const out = new Map<SessionState, number>();
    for (const e of this.entries.values()) out.set(e.status.state, (out.get(e.status.state) ?? 0) + 1);
    return out;
  }

  /** The sessions that hold a sandbox now (adopted ones included). */
  live(): { learnerId: string; labId: string }[] {
    return [...this.entries.values()].filter((e) => e.sandbox).map((e) => ({ learnerId: e.learnerId, labId: e.labId }));
  }

  status(learnerId: string, labId: string): SessionStatus {
    return this.entries.get(sessionKey(learnerId, labId))?.status ?? { state: 'none', progress: null };
  }

  /** Calls `fn` on every status change of any session; returns the unsubscribe function. */
  subscribe(fn: (e: SessionEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The learner's sandbox for a lab: the live one, or a new one (replacing a dead one). */
  ensure(learnerId: string, lab: Lab): Promise<Sandbox> {
    if (this.disposed) return Promise.reject(new Error('the server is shutting down'));
    const e = this.entry(learnerId, lab.id);
    // One probe or creation at a time per session, so two tabs never start two sandboxes.
    e.pending ??= this.ensureNow(e, lab).finally(() => {
      e.pending = undefined;
    });
    return e.pending;
  }

  private async ensureNow(e: Entry, lab: Lab): Promise<Sandbox> {
    let notice: string | undefined;
    if (e.sandbox) {
      if (Date.now() - e.healthyAt < (this.opts.healthTtlMs ?? HEALTH_TTL_MS)) return e.sandbox;
      if (await e.sandbox.isHealthy()) {
        e.healthyAt = Date.now();
        return e.sandbox;
      }
      this.logger.warn({ learner: e.learnerId, lab: e.labId, sandbox: e.sandbox.id }, 'sandbox is not healthy; replacing it');
      const dead = e.sandbox;
      e.sandbox = undefined;
      e.setupDone.clear();
      await dead.destroy().catch((err: unknown) => this.logger.warn({ learner: e.learnerId, lab: e.labId, sandbox: dead.id, err: errorMessage(err) }, 'could not remove a dead sandbox'));
      notice = REPLACED_NOTICE;
    }
    const seat = this.opts.seat?.(e.learnerId, lab);
    if (seat) {
      this.setStatus(e, { state: 'waiting', progress: null, notice: notice ?? WAITING_NOTICE });
      const sb = await seat.catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.setStatus(e, { state: 'failed', progress: null, error: message, hint: 'Reload the page to ask for a seat again.' });
        throw err;
      });
      e.sandbox = sb;
      e.healthyAt = Date.now();
      this.setStatus(e, { state: 'ready', progress: null, ...(notice && { notice }) });
      return sb;
    }
    this.setStatus(e, { state: 'starting', progress: null, ...(notice && { notice }) });
    try {
      const sb = await this.opts.driver.create(
        sandboxSpec(lab, e.learnerId),
        (progress) => this.setStatus(e, { ...e.status, progress }),
      );
      e.sandbox = sb;
      e.healthyAt = Date.now();
      this.setStatus(e, { state: 'ready', progress: e.status.progress, ...(notice && { notice }) });
      return sb;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const hint =
        err instanceof SandboxError ? err.hint : 'Check that Docker is running on the server, then reload the page.';
      this.logger.error({ learner: e.learnerId, lab: e.labId, err: message }, 'sandbox failed to start');
      this.setStatus(e, { state: 'failed', progress: e.status.progress, error: message, hint });
      throw err instanceof SandboxError ? err : new SandboxError(`your sandbox could not start: ${message}`, hint);
    }
  }

  /** Called when the learner opens a step (or checks it): activity, then the step's setup, once per sandbox. */
  async openStep(learnerId: string, lab: Lab, step: Step): Promise<Sandbox> {
    this.opts.onActivity?.(learnerId, lab.id);
    return this.setupOnce(learnerId, lab, step);
  }

  /**
   * Makes sure the sandbox exists and the step's setup has run in it — once per sandbox, whoever asks
   * (the learner opening the step, or a reset bringing a fresh sandbox to a later step). Concurrent
   * calls for the same step share one run.
   */
  async setupOnce(learnerId: string, lab: Lab, step: Step): Promise<Sandbox> {
    const sb = await this.ensure(learnerId, lab);
    const e = this.entry(learnerId, lab.id);
    if (e.setupDone.has(step.id)) return sb;
    let running = e.setupRunning.get(step.id);
    if (!running) {
      const run = runStepSetup(sb, lab, step)
        .then(() => {
          if (e.sandbox === sb) e.setupDone.add(step.id);
        })
        .finally(() => e.setupRunning.delete(step.id));
      e.setupRunning.set(step.id, run);
      running = run;
    }
    await running;
    return sb;
  }

  /**
   * Forgets all sessions after letting sandbox creations in flight settle (a half-made sandbox would be
   * left for the next start to clean up). Sandboxes keep running so the next start re-adopts them.
   * Idempotent; returns how many sandboxes were kept.
   */
  async dispose(): Promise<number> {
    if (this.disposed) return 0;
    this.disposed = true;
    await Promise.allSettled([...this.entries.values()].map((e) => e.pending));
    const kept = [...this.entries.values()].filter((e) => e.sandbox).length;
    this.entries.clear();
    this.listeners.clear();
    return kept;
  }
}
