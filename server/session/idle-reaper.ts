// Idle reclaiming, the clock (single-user and classroom alike): keeps one idle clock per live learner sandbox (learner, lab), hears of
// activity, and on its one timer asks the pure policy what to do — warn the learner, or have their
// sandbox reclaimed. Pool spares never get a clock: only sandboxes a learner holds are tracked.
// Owns that timer; dispose() stops it.
import { decideIdle, idleDeadline, type IdleClock, type IdlePolicy } from './idle-policy.ts';
import { sessionKey as key } from './session-key.ts';
import { errorMessage, type Logger } from '../log.ts';

/** Slowest tick: a warning or reclaim is at most this late. */
const MAX_TICK_MS = 5000;
/** Fastest tick, for the seconds-long TTLs tests use. */
const MIN_TICK_MS = 200;

export interface IdleReaperOptions {
  policy: IdlePolicy;
  /** The clock (tests inject one). */
  now?: () => number;
  onWarn: (learnerId: string, labId: string, msLeft: number) => void;
  /** Removes the sandbox; the clock is dropped whether it resolves or rejects. */
  onReclaim: (learnerId: string, labId: string) => Promise<void>;
  logger?: Logger;
}

interface Tracked extends IdleClock {
  learnerId: string;
  labId: string;
  reclaiming: boolean;
}

export class IdleReaper {
  private readonly clocks = new Map<string, Tracked>();
  private readonly now: () => number;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly opts: IdleReaperOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.policy.ttlMs > 0) {
      const tickMs = Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, Math.floor(opts.policy.warningMs / 4) || MIN_TICK_MS));
      this.timer = setInterval(() => this.tick(), tickMs);
      // The timer alone must not keep a finished process alive.
      this.timer.unref();
    }
  }

  /** Starts (or restarts) the clock of a sandbox that just became the learner's. */
  track(learnerId: string, labId: string): void {
    this.clocks.set(key(learnerId, labId), { learnerId, labId, lastActivity: this.now(), extraMs: 0, warned: false, reclaiming: false });
  }

  forget(learnerId: string, labId: string): void {
    this.clocks.delete(key(learnerId, labId));
  }

  /** The learner did something: their clock starts over. Unknown sessions are ignored. */
  touch(learnerId: string, labId: string): void {
    const c = this.clocks.get(key(learnerId, labId));
    if (!c || c.reclaiming) return;
    c.lastActivity = this.now();
    c.warned = false;
  }

  /** The instructor's "extend": the clock starts over with `extraMs` more than the TTL. False if not tracked. */
  extend(learnerId: string, labId: string, extraMs: number): boolean {
    const c = this.clocks.get(key(learnerId, labId));
    if (!c || c.reclaiming) return false;
    c.lastActivity = this.now();
    c.extraMs = extraMs;
    c.warned = false;
    return true;
  }

  /** When the learner's sandbox is reclaimed if nothing happens; null when not tracked or never. */
  deadline(learnerId: string, labId: string): number | null {
    const c = this.clocks.get(key(learnerId, labId));
    const d = c ? idleDeadline(c, this.opts.policy) : Infinity;
    return Number.isFinite(d) ? d : null;
  }

  /** One pass over every clock; the timer calls it, tests may too. */
  tick(): void {
    const now = this.now();
    for (const [k, c] of this.clocks) {
      if (c.reclaiming) continue;
      const d = decideIdle(c, this.opts.policy, now);
      if (d.action === 'warn') {
        c.warned = true;
        this.opts.onWarn(c.learnerId, c.labId, d.msLeft);
      } else if (d.action === 'reclaim') {
        c.reclaiming = true;
        this.opts
          .onReclaim(c.learnerId, c.labId)
          .catch((err: unknown) => this.opts.logger?.warn({ learner: c.learnerId, lab: c.labId, err: errorMessage(err) }, 'could not reclaim an idle sandbox'))
          .finally(() => {
            if (this.clocks.get(k) === c) this.clocks.delete(k);
          });
      }
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clocks.clear();
  }
}

