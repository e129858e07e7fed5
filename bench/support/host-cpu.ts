// Where the machine's CPU went over a span, by program: every process's user and system time (its
// own and its waited-for children's, so a short-lived `seq` shows up in its shell) read from /proc
// before and after. Tells which side of a benchmark held the cores when the measured page waited.
import { readdir, readFile } from 'node:fs/promises';

/** The unit of /proc's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_S = 100;

export interface HostCpuSnapshot {
  /** pid → [program name, CPU ticks so far]. */
  processes: Map<number, [string, number]>;
  /** The machine's busy and idle ticks so far, all cores (from /proc/stat). */
  busyTicks: number;
  idleTicks: number;
}

export interface HostCpuSpan {
  busyMs: number;
  idleMs: number;
  /** Programs by CPU used in the span, most first. */
  byProgram: Array<[string, number]>;
}

/** A process's name and CPU ticks so far from /proc/<pid>/stat: its own, and its reaped children's. */
async function readProcessStat(pid: number | string): Promise<{ comm: string; ownTicks: number; childTicks: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  // utime, stime, cutime, cstime (fields 14-17 of proc(5)).
  const [utime = NaN, stime = NaN, cutime = NaN, cstime = NaN] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(11, 15).map(Number);
  return { comm, ownTicks: utime + stime, childTicks: cutime + cstime };
}

const ticksToMs = (ticks: number): number => (ticks * 1000) / CLOCK_TICKS_PER_S;

/** User and system CPU of one process so far (all its threads), in ms; NaN when it cannot be read. */
export async function processCpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  try {
    return ticksToMs((await readProcessStat(pid)).ownTicks);
  } catch {
    return NaN;
  }
}

export async function hostCpuSnapshot(): Promise<HostCpuSnapshot> {
  const processes = new Map<number, [string, number]>();
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const { comm, ownTicks, childTicks } = await readProcessStat(pid);
        processes.set(Number(pid), [comm, ownTicks + childTicks]);
      } catch {
        // Gone between the listing and the read.
      }
    }),
  );
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal …
  const idleTicks = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const busyTicks = cpu.slice(0, 8).reduce((a, b) => a + b, 0) - idleTicks;
  return { processes, busyTicks, idleTicks };
}

/** Kernel worker threads are named per CPU and job ("kworker/u8:1-events_unbound"): one program. */
export const programOf = (comm: string): string => comm.replace(/\/.*$/, '');

export function hostCpuSince(before: HostCpuSnapshot, after: HostCpuSnapshot): HostCpuSpan {
  const totals = new Map<string, number>();
  for (const [pid, [comm, ticks]] of after.processes) {
    const earlier = before.processes.get(pid);
    // A pid reused by another program meanwhile: all of the new one's time is in the span.
    const used = ticks - (earlier?.[0] === comm ? earlier[1] : 0);
    if (used <= 0) continue;
    const name = programOf(comm);
    totals.set(name, (totals.get(name) ?? 0) + used);
  }
  return {
    busyMs: ticksToMs(after.busyTicks - before.busyTicks),
    idleMs: ticksToMs(after.idleTicks - before.idleTicks),
    byProgram: [...totals].map(([name, ticks]): [string, number] => [name, ticksToMs(ticks)]).sort((a, b) => b[1] - a[1]),
  };
}

/** "busy 1200 ms, idle 300 ms: chrome 600, dockerd 200, …" with the top `n` programs. */
export function describeHostCpu(span: HostCpuSpan, n = 8): string {
  const top = span.byProgram.slice(0, n).map(([name, ms]) => `${name} ${Math.round(ms)}`);
  return `machine busy ${Math.round(span.busyMs)} ms, idle ${Math.round(span.idleMs)} ms (${top.join(', ') || 'nothing'})`;
}
