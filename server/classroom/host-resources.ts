// The host's numbers for the warm pool's capacity check (capacity.ts): free memory, free disk where
// sandboxes keep their state, free bridge networks (trusted sandboxes take one each) and free process
// ids. Read synchronously: the check runs when an instructor sets a head count, a few times a class.
import { execFileSync } from 'node:child_process';
import { readFileSync, statfsSync } from 'node:fs';
import type { ServerConfig } from '../config.ts';
import { DEFAULT_DISK_BYTES, DEFAULT_LIMITS } from '../sandbox/dind.ts';
import type { Isolation } from '../sandbox/engines.ts';
import {
  DISK_ESTIMATE_BYTES,
  DISK_RESERVE_BYTES,
  HOST_RESERVE_BYTES,
  PID_RESERVE,
  SANDBOX_ESTIMATE_BYTES,
  parseMemAvailable,
  type Resource,
} from './capacity.ts';

/**
 * Docker's default address pools: 172.17–172.31 as /16s and 192.168.0.0/16 as /20s, one network each;
 * docker0 takes the first. A trusted sandbox's own bridge network takes one more.
 */
const DEFAULT_POOL_NETWORKS = 15 + 16 - 1;

export interface HostFacts {
  isolation: Isolation;
  /** Where sandbox disks and volumes grow: the data folder. */
  stateDir: string;
  pidsLimit: number;
  diskBytes: number;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every limit a new sandbox draws on, with what this host has left of it now. */
export function hostResources(f: HostFacts): Resource[] {
  const resources: Resource[] = [];
  const mem = parseMemAvailable(read('/proc/meminfo') ?? '');
  if (mem !== undefined) resources.push({ name: 'memory', unit: 'bytes', perSandbox: SANDBOX_ESTIMATE_BYTES, available: mem, reserve: HOST_RESERVE_BYTES });
  try {
    const fs = statfsSync(f.stateDir);
    resources.push({
      name: 'disk',
      unit: 'bytes',
      perSandbox: DISK_ESTIMATE_BYTES,
      available: fs.bavail * fs.bsize,
      reserve: DISK_RESERVE_BYTES,
      note: f.isolation === 'isolated' ? `each sandbox may grow to ${Math.round(f.diskBytes / 1024 ** 3)} GiB, its disk limit` : 'trusted sandboxes have no disk limit',
    });
  } catch {
    // No data folder yet: nothing to measure against.
  }
  if (f.isolation === 'trusted') {
    const used = userBridgeNetworks();
    if (used !== undefined) resources.push({ name: 'addresses', unit: 'count', perSandbox: 1, available: Math.max(0, DEFAULT_POOL_NETWORKS - used), reserve: 0, note: "one bridge network each from Docker's default address pools" });
  }
  const pidMax = Number(read('/proc/sys/kernel/pid_max'));
  const threads = Number(/\d+\/(\d+)/.exec(read('/proc/loadavg') ?? '')?.[1]);
  if (pidMax > 0 && threads > 0) {
    resources.push({ name: 'processes', unit: 'count', perSandbox: f.pidsLimit, available: pidMax - threads, reserve: PID_RESERVE, cap: true, note: 'counts each sandbox\'s --pids limit against kernel.pid_max' });
  }
  return resources;
}

/** Bridge networks other than docker0 on the host engine, each holding one address pool. */
function userBridgeNetworks(): number | undefined {
  try {
    const out = execFileSync('docker', ['network', 'ls', '--filter', 'driver=bridge', '--format', '{{.Name}}'], { timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.toString().split('\n').filter((n) => n && n !== 'bridge').length;
  } catch {
    return undefined;
  }
}

/** What a server with this configuration checks a pool's head count against. */
export function serverResources(config: ServerConfig): () => Resource[] {
  return () =>
    hostResources({
      isolation: config.isolation ?? 'isolated',
      stateDir: config.dataDir,
      pidsLimit: config.limits.pidsLimit ?? DEFAULT_LIMITS.pidsLimit,
      diskBytes: config.diskBytes ?? DEFAULT_DISK_BYTES,
    });
}
