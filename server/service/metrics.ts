// Prometheus metrics (prom-client, on a registry of this server's own so two servers in one process
// never share counters): what is sampled when Prometheus scrapes — sandboxes by state, terminals,
// WebSocket clients, the warm pools, learners per class, host memory headroom as the pool's capacity
// check sees it — and what is counted as it happens: sandbox creation and check latency histograms,
// checks passed/failed per lab and step (from the one activity tap in ClassEvents).
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SessionState } from '../../shared/api.ts';
import { HOST_RESERVE_BYTES, SANDBOX_ESTIMATE_BYTES, parseMemAvailable, planCapacity } from '../classroom/capacity.ts';
import type { ActivityTap } from '../classroom/class-events.ts';
import type { PoolStatus } from '../../shared/api.ts';
import type { SandboxDriver } from '../sandbox/sandbox.ts';

/** Sandbox creation: about 2 s from a golden image, tens of seconds on a loaded host, minutes at worst. */
const CREATE_BUCKETS = [0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300];
/** A step's checks: ~0.1–0.2 s per exec through a sandbox, a few execs per step, long ones time out at 30 s. */
const CHECK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
const POOL_FIELDS = ['ready', 'preparing', 'assigned', 'failed', 'waiting'] as const;

/** The server's long-lived parts that are sampled at scrape time. */
export interface MetricSources {
  sessions: { counts(): { states: Map<SessionState, number>; terminals: number } };
  upgrades: { readonly clients: number };
  pool: { labs(): string[]; status(labId: string): PoolStatus };
  classes: { classes(): { id: string; labId: string; endedAt: number | null }[]; learners(classId: string): unknown[] };
  /** /proc/meminfo's text; undefined where there is none. */
  meminfo?: () => string | undefined;
}

const NO_SESSIONS = { states: new Map<SessionState, number>(), terminals: 0 };

function procMeminfo(): string | undefined {
  try {
    return readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return undefined;
  }
}

export class Metrics {
  readonly registry = new Registry();
  readonly #createSeconds: Histogram<'result'>;
  readonly #checkSeconds: Histogram<'lab'>;
  readonly #checks: Counter<'lab' | 'step' | 'result'>;
  #sources: MetricSources | undefined;

  /** Starts sampling these parts (the server makes them after the metrics: the driver is timed by them). */
  sample(sources: MetricSources): void {
    this.#sources = sources;
  }

  constructor() {
    const registers = [this.registry];
    const source = (): MetricSources | undefined => this.#sources;
    const sessions = () => source()?.sessions.counts() ?? NO_SESSIONS;
    const pools = () => {
      const pool = source()?.pool;
      return pool ? pool.labs().map((labId) => ({ labId, status: pool.status(labId) })) : [];
    };
    collectDefaultMetrics({ register: this.registry });
    this.#createSeconds = new Histogram({ name: 'labrun_sandbox_create_seconds', help: 'Time to create a sandbox (to a ready inner engine with the lab images)', labelNames: ['result'], buckets: CREATE_BUCKETS, registers });
    this.#checkSeconds = new Histogram({ name: 'labrun_check_seconds', help: "Time to run a step's checks", labelNames: ['lab'], buckets: CHECK_BUCKETS, registers });
    this.#checks = new Counter({ name: 'labrun_checks_total', help: 'Check runs by lab, step and result (passed or failed)', labelNames: ['lab', 'step', 'result'], registers });
    new Gauge({
      name: 'labrun_sandboxes',
      help: 'Learner sessions by sandbox state',
      labelNames: ['state'],
      registers,
      collect() {
        const { states } = sessions();
        for (const state of SessionState.options) if (state !== 'none') this.set({ state }, states.get(state) ?? 0);
      },
    });
    new Gauge({ name: 'labrun_terminal_sessions', help: 'Terminals live now', registers, collect() { this.set(sessions().terminals); } });
    new Gauge({ name: 'labrun_websocket_clients', help: 'WebSockets open now', registers, collect() { this.set(source()?.upgrades.clients ?? 0); } });
    new Gauge({
      name: 'labrun_pool_target',
      help: 'Head count a warm pool is sized for, by lab',
      labelNames: ['lab'],
      registers,
      collect() {
        this.reset();
        for (const p of pools()) this.set({ lab: p.labId }, p.status.target);
      },
    });
    new Gauge({
      name: 'labrun_pool_sandboxes',
      help: 'Warm pool sandboxes by lab and state (ready = the fill; waiting = learners waiting for a seat)',
      labelNames: ['lab', 'state'],
      registers,
      collect() {
        this.reset();
        for (const p of pools()) for (const state of POOL_FIELDS) this.set({ lab: p.labId, state }, p.status[state]);
      },
    });
    new Gauge({
      name: 'labrun_class_learners',
      help: 'Learners who joined each running class',
      labelNames: ['class', 'lab'],
      registers,
      collect() {
        this.reset();
        const classes = source()?.classes;
        for (const c of classes?.classes() ?? []) if (c.endedAt === null) this.set({ class: c.id, lab: c.labId }, classes?.learners(c.id).length ?? 0);
      },
    });
    const memory = (): { usable: number; fits: number } | undefined => {
      const available = parseMemAvailable((source()?.meminfo ?? procMeminfo)() ?? '');
      if (available === undefined) return undefined;
      const plan = planCapacity(0, [{ name: 'memory', unit: 'bytes', perSandbox: SANDBOX_ESTIMATE_BYTES, available, reserve: HOST_RESERVE_BYTES }]);
      return { usable: plan.resources[0]?.usable ?? 0, fits: plan.fits };
    };
    new Gauge({ name: 'labrun_host_memory_headroom_bytes', help: "Host memory free for sandboxes after the capacity check's reserve", registers, collect() { const m = memory(); if (m) this.set(m.usable); } });
    new Gauge({ name: 'labrun_host_memory_sandboxes_fit', help: 'More sandboxes the host memory has room for, by the capacity check\'s estimate', registers, collect() { const m = memory(); if (m) this.set(m.fits); } });
  }

  /** Counts what learners do; give it to ClassEvents.tap. */
  readonly tap: ActivityTap = (e, detail) => {
    if (e.type !== 'check' || detail.labId === undefined) return;
    this.#checks.inc({ lab: detail.labId, step: e.stepId, result: e.passed ? 'passed' : 'failed' });
    if (detail.durationMs !== undefined) this.#checkSeconds.observe({ lab: detail.labId }, detail.durationMs / 1000);
  };

  /** The driver, with each create() timed. */
  timed(driver: SandboxDriver): SandboxDriver {
    const histogram = this.#createSeconds;
    return {
      async create(spec, onProgress) {
        const end = histogram.startTimer();
        try {
          const sb = await driver.create(spec, onProgress);
          end({ result: 'ok' });
          return sb;
        } catch (err) {
          end({ result: 'failed' });
          throw err;
        }
      },
      adoptExisting: () => driver.adoptExisting(),
      ...(driver.prepare && { prepare: driver.prepare.bind(driver) }),
      ...(driver.readiness && { readiness: driver.readiness.bind(driver) }),
    };
  }

  /** The text Prometheus scrapes. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
