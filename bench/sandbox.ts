// Sandbox speed and memory, the isolated level beside the trusted one in one run (prints numbers,
// asserts nothing): golden state build; create→ready one at a time without and with the seed lab's
// image preloaded; several created in parallel; host memory per idle sandbox with the seed stack up;
// check latency through the Engine API (and `docker-compose exec -T` as the slow baseline). Ends with
// a verdict per goal: isolation costs at most 20% in start time and memory against trusted, and a cold
// sandbox with the seed lab's images is ready in under 3 s.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { DindDriver } from '../server/sandbox/dind.ts';
import { isolatedHostConfig, probePrivilege, securityHostConfig } from '../server/sandbox/dind-container.ts';
import { remapIdsOf, type Isolation } from '../server/sandbox/engines.ts';
import { ensureGolden } from '../server/sandbox/golden.ts';
import { resourceName } from '../server/sandbox/naming.ts';
import type { ExecRequest, Sandbox } from '../server/sandbox/sandbox.ts';
import { SANDBOX_IMAGE } from '../server/images/ensure-images.ts';
import { measure, reportUnmeasured } from './support/measure.ts';

/** Sandboxes per measurement; LABRUN_BENCH_ROUNDS=1 makes .ci/run's quick pass. */
const ROUNDS = Number(process.env.LABRUN_BENCH_ROUNDS ?? 5);
const EXEC_RUNS = 20;
const IMAGES = ['nginx:latest'];
const LAB_ID = `bench-sandbox-${randomBytes(3).toString('hex')}`;
/** Let freshly started stacks settle (page cache, nginx workers) before reading memory. */
const SETTLE_MS = 5_000;
/** The goals. */
const MAX_ISOLATION_COST = 0.2;
const COLD_READY_GOAL_MS = 3_000;
const LEVELS: Isolation[] = ['isolated', 'trusted'];

const root = await mkdtemp(join(tmpdir(), 'lrb-sb-'));
const files = await mkdtemp(join(tmpdir(), 'lrb-seed-'));
await copyFile('docker-compose.yaml', join(files, 'docker-compose.yaml'));
const spec = (learnerId: string, images: string[]) => ({ labId: LAB_ID, learnerId, workspace: 'linuxnetworks', filesDir: files, images });
const drivers = new Map(LEVELS.map((l) => [l, new DindDriver({ stateDir: join(root, l[0] ?? l), isolation: l })]));
const results = new Map<string, number>();
const rows: Array<[string, string, string]> = [];

const median = (xs: number[]) => pct(xs, 50);
function pct(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;

function record(level: Isolation, what: string, value: number, shown: string): void {
  results.set(`${level}:${what}`, value);
  rows.push([what, level, shown]);
  console.log(`${level.padEnd(9)} ${what.padEnd(66)} ${shown}`);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
}

async function memAvailable(): Promise<number> {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'));
  return Number(m?.[1] ?? NaN) * 1024;
}

/** A sandbox container's own memory use, from its cgroup (steadier than MemAvailable on a busy host). */
async function cgroupMemory(driver: DindDriver, sb: Sandbox): Promise<number> {
  const id = (await driver.engine.getContainer(resourceName(sb.id)).inspect()).Id;
  for (const path of [`/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`, `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.current`]) {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined) return Number(text.trim());
  }
  throw new Error(`no memory cgroup found for container ${id}`);
}

async function must(sb: Sandbox, req: ExecRequest): Promise<void> {
  const r = await sb.exec(req);
  if (r.exitCode !== 0) throw new Error(`${req.argv.join(' ')} failed in ${sb.id}: ${r.stderr}`);
}

async function benchLevel(level: Isolation, driver: DindDriver): Promise<void> {
  await measure(`${level}: golden state build`, async () => {
    const engine = driver.engine;
    const build =
      level === 'isolated'
        ? { hostConfig: isolatedHostConfig(), disk: { sizeBytes: 10 * 1024 ** 3, owner: (await remapIdsOf(engine)) ?? { uid: 0, gid: 0 } } }
        : { hostConfig: securityHostConfig(await probePrivilege(engine, SANDBOX_IMAGE)) };
    // The first create copies the sandbox image to the sandbox engine when it is not there yet.
    const warm = await driver.create(spec('warm-up', []));
    await warm.destroy();
    const [, ms] = await timed(() => ensureGolden(engine, { goldenDir: join(root, level[0] ?? level, 'golden'), sandboxImage: SANDBOX_IMAGE, images: IMAGES, imageEngine: new Docker(), build }));
    record(level, 'golden state with nginx:latest (once per image set)', ms, secs(ms));
  });

  for (const images of [[], IMAGES]) {
    const what = `create→ready one at a time, ${images.length ? 'nginx preloaded' : 'no images'} (median of ${ROUNDS})`;
    await measure(`${level}: ${what}`, async () => {
      const times: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const [sb, ms] = await timed(() => driver.create(spec(`seq-${i}`, images)));
        times.push(ms);
        await sb.destroy();
      }
      record(level, what, median(times), secs(median(times)));
    });
  }

  const made: Sandbox[] = [];
  try {
    await measure(`${level}: ${ROUNDS} in parallel and memory`, async () => {
      const before = await memAvailable();
      const [, ms] = await timed(() => Promise.all(Array.from({ length: ROUNDS }, async (_, i) => made.push(await driver.create(spec(`par-${i}`, IMAGES))))));
      record(level, `${ROUNDS} created in parallel, nginx preloaded (total)`, ms, secs(ms));
      await Promise.all(made.map((sb) => must(sb, { argv: ['docker', 'compose', 'up', '-d'], timeoutMs: 120_000 })));
      await sleep(SETTLE_MS);
      const delta = (before - (await memAvailable())) / made.length;
      record(level, 'host memory per idle sandbox, seed stack up (MemAvailable Δ)', delta, mib(delta));
      const cgroups = await Promise.all(made.map((sb) => cgroupMemory(driver, sb)));
      record(level, 'host memory per idle sandbox, seed stack up (cgroup, median)', median(cgroups), mib(median(cgroups)));
    });

    const sb = made[0];
    if (!sb) return;
    const latency = async (what: string, req: ExecRequest) => {
      await measure(`${level}: ${what}`, async () => {
        await must(sb, req); // warm-up
        const times: number[] = [];
        for (let i = 0; i < EXEC_RUNS; i++) times.push((await timed(() => must(sb, req)))[1]);
        record(level, `${what} p50 (${EXEC_RUNS} runs)`, median(times), `${median(times).toFixed(0)} ms (p95 ${pct(times, 95).toFixed(0)})`);
      });
    };
    await latency('check: getent hosts nginx_b in nginx_a via the Engine API', { service: 'nginx_a', argv: ['getent', 'hosts', 'nginx_b'] });
    await latency('baseline: the same through docker-compose exec -T', { argv: ['docker-compose', 'exec', '-T', 'nginx_a', 'getent', 'hosts', 'nginx_b'] });
  } finally {
    await Promise.all(made.map((sb) => sb.destroy()));
  }
}

try {
  for (const level of LEVELS) {
    const driver = drivers.get(level);
    if (driver) await benchLevel(level, driver);
  }
} finally {
  for (const driver of drivers.values()) await driver.reap((labels) => labels['labrun.lab'] !== LAB_ID);
  await rm(root, { recursive: true, force: true });
  await rm(files, { recursive: true, force: true });
}

console.log('\n| measurement | level | value |\n|---|---|---|');
for (const [what, level, value] of rows) console.log(`| ${what} | ${level} | ${value} |`);

console.log('\nGoals (isolated against trusted, same run):');
const verdict = (goal: string, met: boolean | undefined, detail: string) =>
  console.log(`  ${met === undefined ? 'NOT MEASURED' : met ? 'met    ' : 'NOT met'}  ${goal}: ${detail}`);
const ratio = (what: string): [number, number] | undefined => {
  const iso = results.get(`isolated:${what}`);
  const tru = results.get(`trusted:${what}`);
  return iso === undefined || tru === undefined ? undefined : [iso, tru];
};
for (const [what, goal] of [
  [`create→ready one at a time, nginx preloaded (median of ${ROUNDS})`, 'start time'],
  [`${ROUNDS} created in parallel, nginx preloaded (total)`, 'start time, in parallel'],
  ['host memory per idle sandbox, seed stack up (cgroup, median)', 'memory'],
] as const) {
  const r = ratio(what);
  const label = `isolation costs ≤ ${MAX_ISOLATION_COST * 100}% in ${goal}`;
  if (!r) verdict(label, undefined, 'missing');
  else verdict(label, r[0] / r[1] - 1 <= MAX_ISOLATION_COST, `${((r[0] / r[1] - 1) * 100).toFixed(0)}% (${r[0].toFixed(0)} vs ${r[1].toFixed(0)})`);
}
const cold = results.get(`isolated:create→ready one at a time, nginx preloaded (median of ${ROUNDS})`);
verdict(`cold isolated sandbox with nginx ready in < ${COLD_READY_GOAL_MS / 1000} s`, cold === undefined ? undefined : cold < COLD_READY_GOAL_MS, cold === undefined ? 'missing' : secs(cold));
reportUnmeasured();
