// The warm pool: sandboxes prepared before learners arrive (images preloaded, lab files copied,
// compose not yet up), so joining gives a prompt in about a second. The instructor sets the expected
// head count per lab; the pool prepares up to that many, two at a time (what two cores sustain),
// after checking they fit (memory, disk, addresses, process ids). Seating hands a ready sandbox to a learner — recorded in SQLite,
// since its Docker label stays "pool" — or queues the learner ("waiting for a seat") until one is ready.
import type { PoolStatus } from '../../shared/classroom-events.ts';
import { sandboxSpec, type Lab } from '../labs/catalog.ts';
import type { Sandbox, SandboxDriver } from '../sandbox/sandbox.ts';
import { planCapacity, type CapacityPlan, type Resource } from './capacity.ts';
import type { ClassStore } from './class-store.ts';
import { errorMessage, silentLogger, type Logger } from '../log.ts';

/** The learner label of sandboxes nobody has been handed yet. */
export const POOL_LEARNER = 'pool';
/** Sandboxes prepared at once: creation is CPU- and disk-bound, and two cores serve two (RUNTIME-FACTS). */
export const DEFAULT_PARALLELISM = 2;
/** Consecutive failed creations after which the pool stops trying and says so, instead of looping. */
const MAX_CONSECUTIVE_FAILURES = 3;

interface Waiter {
  learnerId: string;
  resolve: (sb: Sandbox) => void;
  reject: (err: Error) => void;
}

interface LabPool {
  lab: Lab;
  target: number;
  ready: Sandbox[];
  preparing: number;
  assigned: number;
  failed: number;
  consecutiveFailures: number;
  waiting: Waiter[];
  message?: string;
}

export interface ResizeResult {
  ok: boolean;
  capacity: CapacityPlan;
  message: string;
  status: PoolStatus;
}

export interface WarmPoolOptions {
  driver: SandboxDriver;
  classes: ClassStore;
  parallelism?: number;
  /** The host's limits a new sandbox draws on, with what is left of each (see host-resources.ts); none = unchecked. */
  resources?: () => Resource[];
  onStatus?: (labId: string, status: PoolStatus) => void;
  logger?: Logger;
}

export class WarmPool {
  private readonly pools = new Map<string, LabPool>();
  private readonly inFlight = new Set<Promise<void>>();
  private disposed = false;

  constructor(private readonly opts: WarmPoolOptions) {}

  private get logger(): Logger {
    return this.opts.logger ?? silentLogger;
  }

  private pool(lab: Lab): LabPool {
    let p = this.pools.get(lab.id);
    if (!p) {
      p = { lab, target: 0, ready: [], preparing: 0, assigned: 0, failed: 0, consecutiveFailures: 0, waiting: [] };
      this.pools.set(lab.id, p);
    }
    return p;
  }

  /** The labs that have a pool (sized at least once since start). */
  labs(): string[] {
    return [...this.pools.keys()];
  }

  status(labId: string): PoolStatus {
    const p = this.pools.get(labId);
    if (!p) return { target: 0, ready: 0, preparing: 0, assigned: 0, failed: 0, waiting: 0 };
    return {
      target: p.target,
      ready: p.ready.length,
      preparing: p.preparing,
      assigned: p.assigned,
      failed: p.failed,
      waiting: p.waiting.length,
      ...(p.message !== undefined && { message: p.message }),
    };
  }

  private changed(p: LabPool): void {
    this.opts.onStatus?.(p.lab.id, this.status(p.lab.id));
  }

  /**
   * Sets the expected head count for a lab and starts preparing what is missing, after a capacity
   * check (refused when it does not fit, unless `force`). Lowering it removes surplus ready sandboxes.
   */
  resize(lab: Lab, headCount: number, force = false): ResizeResult {
    const p = this.pool(lab);
    const have = p.ready.length + p.preparing + p.assigned;
    const toPrepare = Math.max(0, headCount - have);
    const capacity = planCapacity(toPrepare, this.opts.resources?.() ?? []);
    if (capacity.level === 'refuse' && !force) return { ok: false, capacity, message: capacity.message, status: this.status(lab.id) };
    p.target = headCount;
    p.consecutiveFailures = 0;
    p.message = undefined;
    while (p.ready.length > 0 && p.ready.length + p.preparing + p.assigned > headCount) {
      const surplus = p.ready.pop();
      if (surplus) this.track(surplus.destroy().catch((err: unknown) => this.logger.warn({ lab: lab.id, sandbox: surplus.id, err: errorMessage(err) }, 'could not remove a surplus pool sandbox')));
    }
    this.fill(p);
    this.changed(p);
    return { ok: true, capacity, message: capacity.message, status: this.status(lab.id) };
  }

  /**
   * A sandbox for a learner: undefined when the lab has no pool (make one on demand); otherwise a
   * ready one now, or a promise kept when the next one is ready (rejected if the pool shuts down).
   */
  take(learnerId: string, lab: Lab): Promise<Sandbox> | undefined {
    const p = this.pools.get(lab.id);
    if (this.disposed || !p || (p.target === 0 && p.ready.length === 0)) return undefined;
    // A pool that stopped after failures makes nobody wait: the learner's own sandbox is made on demand.
    if (p.ready.length === 0 && p.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) return undefined;
    const sb = p.ready.shift();
    if (sb) {
      this.handOut(p, sb, learnerId);
      return Promise.resolve(sb);
    }
    const waiting = new Promise<Sandbox>((resolve, reject) => p.waiting.push({ learnerId, resolve, reject }));
    // More learners than the head count: prepare one for this learner too (they wait meanwhile).
    this.fill(p);
    this.changed(p);
    return waiting;
  }

  /** Takes back a pool sandbox found at start (from an earlier run) that nobody was handed. */
  adopt(sb: Sandbox, lab: Lab): void {
    const p = this.pool(lab);
    p.target = Math.max(p.target, p.ready.length + p.assigned + p.preparing + 1);
    this.deliver(p, sb);
  }

  private handOut(p: LabPool, sb: Sandbox, learnerId: string): void {
    this.opts.classes.assignSandbox(sb.id, learnerId, p.lab.id);
    p.assigned++;
    this.logger.info({ learner: learnerId, lab: p.lab.id, sandbox: sb.id, ready: p.ready.length, preparing: p.preparing }, 'pool: sandbox handed out');
    this.changed(p);
  }

  private deliver(p: LabPool, sb: Sandbox): void {
    const waiter = p.waiting.shift();
    if (waiter) {
      this.handOut(p, sb, waiter.learnerId);
      waiter.resolve(sb);
    } else {
      p.ready.push(sb);
      this.changed(p);
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private fill(p: LabPool): void {
    const parallelism = this.opts.parallelism ?? DEFAULT_PARALLELISM;
    while (
      !this.disposed &&
      p.consecutiveFailures < MAX_CONSECUTIVE_FAILURES &&
      p.preparing < parallelism &&
      p.ready.length + p.preparing + p.assigned < Math.max(p.target, p.assigned + p.waiting.length)
    ) {
      p.preparing++;
      const { lab } = p;
      this.track(
        this.opts.driver
          .create(sandboxSpec(lab, POOL_LEARNER))
          .then(
            async (sb) => {
              p.preparing--;
              p.consecutiveFailures = 0;
              if (this.disposed) return; // kept running: the next start re-adopts it
              if (this.pools.get(lab.id) !== p) {
                await sb.destroy(); // the pool was drained meanwhile (its class ended)
                return;
              }
              if (p.ready.length + p.assigned >= p.target && p.waiting.length === 0) {
                await sb.destroy(); // the head count was lowered meanwhile
                return;
              }
              this.deliver(p, sb);
            },
            (err: unknown) => {
              p.preparing--;
              p.failed++;
              p.consecutiveFailures++;
              const message = err instanceof Error ? err.message : String(err);
              this.logger.error({ lab: lab.id, err: message }, 'pool: preparing a sandbox failed');
              if (p.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
                p.message = `stopped after ${MAX_CONSECUTIVE_FAILURES} failures in a row: ${message}`;
                // Nobody should wait for a seat that will not come: tell them why, now.
                for (const w of p.waiting.splice(0)) w.reject(new Error(`the warm pool could not prepare sandboxes: ${message}`));
              }
              this.changed(p);
            },
          )
          .finally(() => this.fill(p)),
      );
    }
  }

  /** Drops a lab's pool (its class ended): removes the ready sandboxes, turns waiting learners away. */
  async drain(labId: string): Promise<void> {
    const p = this.pools.get(labId);
    if (!p) return;
    this.pools.delete(labId);
    p.target = 0;
    for (const w of p.waiting.splice(0)) w.reject(new Error('the class has ended'));
    await Promise.allSettled(p.ready.splice(0).map((sb) => sb.destroy()));
  }

  /** Stops preparing, waits for creations in flight, turns waiting learners away; ready sandboxes stay for the next start. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.pools.values()) for (const w of p.waiting.splice(0)) w.reject(new Error('the server is shutting down'));
    await Promise.allSettled([...this.inFlight]);
  }
}
