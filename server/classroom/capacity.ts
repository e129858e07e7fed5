// Capacity arithmetic for the warm pool: will N more sandboxes fit? Every limit that can stop a sandbox
// counts — memory, disk, network addresses (a trusted sandbox takes one bridge network from Docker's
// address pools), and process ids — and the smallest decides. Pure: the caller reads the host's
// numbers (host-resources.ts) and passes them in.

/**
 * Host memory one learner's sandbox costs while they work: ~100 MiB idle with the seed lab's
 * two-nginx stack up (RUNTIME-FACTS), doubled for the learner's shells and builds.
 */
export const SANDBOX_ESTIMATE_BYTES = 200 * 1024 ** 2;
/** Kept free for the host, dockerd and labrun itself. */
export const HOST_RESERVE_BYTES = 1024 ** 3;
/**
 * Host disk one isolated sandbox really uses: its disk image is sparse, a copy of the golden state
 * (~200 MB with the seed lab's image) plus what the learner writes. Its limit may be far larger.
 */
export const DISK_ESTIMATE_BYTES = 1024 ** 3;
/** Disk kept free for the host and the engines' own state. */
export const DISK_RESERVE_BYTES = 5 * 1024 ** 3;
/** Process ids kept free for the host. */
export const PID_RESERVE = 4096;
/** Above this share of what is free, the plan fits but leaves no room for surprises: warn. */
const WARN_SHARE = 0.8;

const MIB = 1024 ** 2;

/** One limit: how much a sandbox needs of it, and how much the host has. */
export interface Resource {
  name: 'memory' | 'disk' | 'addresses' | 'processes';
  unit: 'bytes' | 'count';
  perSandbox: number;
  available: number;
  reserve: number;
  /** A remark printed with the numbers (e.g. the most one sandbox may grow to). */
  note?: string;
  /**
   * A cap rather than what a sandbox uses (process ids: a sandbox uses tens, its limit is a thousand):
   * going over it only warns, since it matters only if many sandboxes hit their caps at once.
   */
  cap?: boolean;
}

export interface ResourcePlan {
  name: Resource['name'];
  level: 'ok' | 'warn' | 'refuse';
  needed: number;
  usable: number;
  fits: number;
  text: string;
}

export interface CapacityPlan {
  level: 'ok' | 'warn' | 'refuse';
  /** How many sandboxes fit: the smallest number over every limit. */
  fits: number;
  /** The limit that allows the fewest (the one to raise first). */
  tightest: Resource['name'] | undefined;
  resources: ResourcePlan[];
  message: string;
}

/** MemAvailable from /proc/meminfo, in bytes; undefined when absent (old kernels, other systems). */
export function parseMemAvailable(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+)\s+kB$/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

function amount(unit: Resource['unit'], n: number): string {
  return unit === 'bytes' ? `${Math.round(n / MIB)} MiB` : String(n);
}

function planOne(count: number, r: Resource): ResourcePlan {
  const needed = Math.max(0, count) * r.perSandbox;
  const usable = Math.max(0, r.available - r.reserve);
  const fits = r.perSandbox > 0 ? Math.floor(usable / r.perSandbox) : Number.MAX_SAFE_INTEGER;
  const over = needed > usable ? (r.cap ? 'warn' : 'refuse') : undefined;
  const level = over ?? (needed > usable * WARN_SHARE ? 'warn' : 'ok');
  const text =
    `${r.name}: ${count} × ${amount(r.unit, r.perSandbox)} = ${amount(r.unit, needed)}; ${amount(r.unit, r.available)} available, ` +
    `${amount(r.unit, usable)} usable after a ${amount(r.unit, r.reserve)} reserve (room for ${fits})${r.note ? `; ${r.note}` : ''}`;
  return { name: r.name, level, needed, usable, fits, text };
}

const WORDS = { refuse: 'not enough room', warn: 'room is tight', ok: 'fits' } as const;
const RANK = { ok: 0, warn: 1, refuse: 2 } as const;

/** Judges preparing `count` more sandboxes against every limit in `resources`. */
export function planCapacity(count: number, resources: readonly Resource[]): CapacityPlan {
  const plans = resources.map((r) => planOne(count, r));
  const level = plans.reduce<CapacityPlan['level']>((worst, p) => (RANK[p.level] > RANK[worst] ? p.level : worst), 'ok');
  const tightest = plans.reduce<ResourcePlan | undefined>((min, p) => (min === undefined || p.fits < min.fits ? p : min), undefined);
  const fits = tightest?.fits ?? Number.MAX_SAFE_INTEGER;
  const head = `${WORDS[level]} for ${count} sandbox${count === 1 ? '' : 'es'}`;
  const worst = plans.filter((p) => p.level === level && level !== 'ok');
  const shown = worst.length > 0 ? worst : plans;
  return { level, fits, tightest: tightest?.name, resources: plans, message: `${head}: ${shown.map((p) => p.text).join('; ')}` };
}
