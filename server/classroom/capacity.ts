// Capacity arithmetic for the warm pool: will N sandboxes fit in the host's memory? Pure: the caller
// reads /proc/meminfo and passes the text in.

/**
 * Host memory one learner's sandbox costs while they work: ~100 MiB idle with the seed lab's
 * two-nginx stack up (RUNTIME-FACTS), doubled for the learner's shells and builds.
 */
export const SANDBOX_ESTIMATE_BYTES = 200 * 1024 ** 2;
/** Kept free for the host, dockerd and labrun itself. */
export const HOST_RESERVE_BYTES = 1024 ** 3;
/** Above this share of what is free, the plan fits but leaves no room for surprises: warn. */
const WARN_SHARE = 0.8;

const MIB = 1024 ** 2;

/** MemAvailable from /proc/meminfo, in bytes; undefined when absent (old kernels, other systems). */
export function parseMemAvailable(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+)\s+kB$/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

export interface CapacityPlan {
  level: 'ok' | 'warn' | 'refuse';
  /** Bytes the new sandboxes need and bytes usable for them (available minus the reserve). */
  neededBytes: number;
  usableBytes: number;
  /** How many sandboxes would fit in what is usable. */
  fits: number;
  message: string;
}

/** Judges preparing `count` more sandboxes against `availableBytes` (MemAvailable) of free memory. */
export function planCapacity(
  count: number,
  availableBytes: number,
  perSandboxBytes = SANDBOX_ESTIMATE_BYTES,
  reserveBytes = HOST_RESERVE_BYTES,
): CapacityPlan {
  const neededBytes = Math.max(0, count) * perSandboxBytes;
  const usableBytes = Math.max(0, availableBytes - reserveBytes);
  const fits = Math.floor(usableBytes / perSandboxBytes);
  const numbers = `${count} sandbox${count === 1 ? '' : 'es'} × ${Math.round(perSandboxBytes / MIB)} MiB = ${Math.round(neededBytes / MIB)} MiB; ` +
    `${Math.round(availableBytes / MIB)} MiB available, ${Math.round(usableBytes / MIB)} MiB usable after a ${Math.round(reserveBytes / MIB)} MiB reserve (room for ${fits})`;
  if (neededBytes > usableBytes) return { level: 'refuse', neededBytes, usableBytes, fits, message: `not enough memory: ${numbers}` };
  if (neededBytes > usableBytes * WARN_SHARE) return { level: 'warn', neededBytes, usableBytes, fits, message: `memory is tight: ${numbers}` };
  return { level: 'ok', neededBytes, usableBytes, fits, message: `fits: ${numbers}` };
}
