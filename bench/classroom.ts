// Classroom numbers (prints, asserts nothing): for a class of N (default 60; LABRUN_BENCH_CLASS=N),
// the time to fill the warm pool, join → first shell prompt from the pool as p50/p95 — a few learners
// arriving one at a time, then the rest all at once — host memory per learner (MemAvailable delta:
// idle pool sandbox, then with the seed lab's two-nginx stack up in every sandbox), and the server's RSS.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { parseClassEvent } from '../shared/classroom-events.ts';
import { encodeClientFrame } from '../shared/protocol.ts';
import { parseMemAvailable } from '../server/classroom/capacity.ts';
import { parseConfig } from '../server/config.ts';
import { createServer } from '../server/http/app.ts';
import { DindDriver } from '../server/sandbox/dind.ts';
import { LABEL } from '../server/sandbox/naming.ts';
import { measure, reportUnmeasured, unmeasured } from './support/measure.ts';

const N = Number(process.env.LABRUN_BENCH_CLASS ?? 60);
/** Learners who arrive one after another before the rest of the class bursts in. */
const ONE_BY_ONE = Math.min(5, N);
const TOKEN = 'bench-token-0123456789abcdef';
/** Let page cache and freshly started daemons settle before reading MemAvailable. */
const SETTLE_MS = 5000;
const PROMPT_TIMEOUT_MS = 300_000;
/** Two at a time, ~1.5 s each on two cores (isolated): a class of 60 fills in about a minute; far past that, something is stuck. */
const POOL_TIMEOUT_MS = 20 * 60_000;
const MIB = 1024 ** 2;

const memAvailable = (): number => parseMemAvailable(readFileSync('/proc/meminfo', 'utf8')) ?? NaN;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: MIB, GiB: 1024 * MIB, kB: 1000, MB: 1e6, GB: 1e9 };
/**
 * Memory the lab's sandbox containers use by their own cgroups (docker stats; nested containers
 * included), averaged: steadier than MemAvailable deltas on a machine others use too.
 */
function cgroupMemoryPerSandbox(lab: string): number {
  // Isolated sandboxes live on labrun's own engine, trusted ones on the default one: ask both.
  for (const host of [config.sandboxEngine, undefined]) {
    const docker = (args: string[]): string => execFileSync('docker', [...(host ? ['-H', host] : []), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    let names: string[];
    try {
      names = docker(['ps', '--filter', `label=${LABEL.lab}=${lab}`, '--format', '{{.Names}}']).split('\n').filter(Boolean);
    } catch {
      continue; // that engine does not answer
    }
    if (names.length === 0) continue;
    let total = 0;
    for (const line of docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', ...names]).split('\n').filter(Boolean)) {
      const m = /^([\d.]+)\s*([KMG]i?B|B|kB)/.exec(line.trim());
      if (m) total += Number(m[1]) * (UNITS[m[2] ?? 'B'] ?? 1);
    }
    return total / names.length;
  }
  return NaN;
}

/** "N MiB by the containers' cgroups", or why that could not be measured. */
function cgroupText(lab: string): string {
  const bytes = cgroupMemoryPerSandbox(lab);
  return Number.isFinite(bytes) ? `${(bytes / MIB).toFixed(0)} MiB by the containers' cgroups` : "the containers' cgroups could not be read (no sandbox found on either engine)";
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const root = mkdtempSync(path.join(tmpdir(), 'lrc-'));
const labId = `linux-networks-class${process.pid}`;
cpSync('labs/linux-networks', path.join(root, 'labs', labId), { recursive: true });
const dataDir = path.join(root, 'data');
const config = parseConfig(['--port', '0', '--labs', path.join(root, 'labs'), '--data', dataDir, '--token', TOKEN], {});
const server = await createServer(config, { adopt: false, log: () => {} });
const { url } = server;
const wsBase = url.replace('http', 'ws');
const sockets: WebSocket[] = [];
try {
  const signIn = await fetch(`${url}/?token=${TOKEN}`, { redirect: 'manual' });
  const owner = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const post = async (route: string, body: unknown, cookie?: string): Promise<{ status: number; body: unknown; setCookie: string | null }> => {
    const res = await fetch(url + route, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie && { cookie }) }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json(), setCookie: res.headers.get('set-cookie') };
  };
  const created = await post('/api/classes', { labId }, owner);
  const classId = String(Reflect.get(Object(created.body), 'id'));
  const code = String(Reflect.get(Object(created.body), 'joinCode'));

  let ready = 0;
  let poolMessage: string | undefined;
  const events = new WebSocket(`${wsBase}/ws/events?class=${classId}`, { headers: { Origin: url, Cookie: owner } });
  sockets.push(events);
  events.on('message', (d) => {
    const e = parseClassEvent(String(d));
    if (e?.type === 'pool') {
      ready = e.pool.ready;
      poolMessage = e.pool.message;
    }
  });
  await new Promise((r) => events.once('open', r));

  const memBefore = memAvailable();
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const sized = await post(`/api/classes/${classId}/pool`, { size: N, force: true }, owner);
  console.log(`capacity check (${((performance.now() - t0) / 1000).toFixed(1)} s): ${String(Reflect.get(Object(sized.body), "message"))}`);
  let lastReport = performance.now();
  const poolDeadline = performance.now() + POOL_TIMEOUT_MS;
  while (ready < N && poolMessage === undefined && performance.now() < poolDeadline) {
    await sleep(200);
    if (performance.now() - lastReport > 15_000) {
      lastReport = performance.now();
      console.log(`  pool: ${ready}/${N} ready after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
  // What limits a class on this host (say, no address pool left for one more sandbox network) is a
  // result too: say it, and measure the rest with the seats that did fill.
  const seats = ready;
  if (poolMessage === undefined && ready < N) poolMessage = `not full after ${POOL_TIMEOUT_MS / 60_000} min`;
  if (poolMessage !== undefined) {
    unmeasured(`a warm pool of ${N}`, `it stopped at ${ready}/${N} after ${((performance.now() - t0) / 1000).toFixed(0)} s: ${poolMessage}; the rest is measured with the ${seats} ready`);
  } else {
    console.log(`warm pool of ${N}: ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (2 at a time)`);
  }
  await sleep(SETTLE_MS);
  const memPool = memAvailable();
  if (seats > 0) console.log(`host memory per idle pool sandbox: ${((memBefore - memPool) / seats / MIB).toFixed(0)} MiB by MemAvailable (${(memBefore / MIB).toFixed(0)} → ${(memPool / MIB).toFixed(0)} MiB), ${cgroupText(labId)}`);

  // A learner arrives: join, then open the terminal and wait for the prompt.
  const arrive = async (i: number): Promise<{ ws: WebSocket; ms: number }> => {
      const start = performance.now();
      const joined = await post(`/api/join/${code}`, { name: `learner ${i}` });
      const cookie = (joined.setCookie ?? '').split(';')[0] ?? '';
      const ws = new WebSocket(`${wsBase}/ws/terminal?lab=${labId}`, { headers: { Origin: url, Cookie: cookie } });
      sockets.push(ws);
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no prompt for learner ${i}`)), PROMPT_TIMEOUT_MS);
        ws.on('message', (d, binary) => {
          if (!binary) return;
          out += String(d);
          if (/linuxnetworks[^\n]*# $/.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        });
        ws.once('error', reject);
      });
      return { ws, ms: performance.now() - start };
  };
  const learners: { ws: WebSocket; ms: number }[] = [];
  const oneByOne = Math.min(ONE_BY_ONE, seats);
  await measure(`join → first prompt, ${oneByOne} one at a time`, async () => {
    for (let i = 0; i < oneByOne; i++) learners.push(await arrive(i));
    const oneMs = learners.map((l) => l.ms).sort((a, b) => a - b);
    console.log(`join → first prompt, ${oneByOne} one at a time from the pool: p50 ${pct(oneMs, 50).toFixed(0)} ms, max ${pct(oneMs, 100).toFixed(0)} ms`);
  });
  const rest = seats - learners.length;
  if (rest > 0) {
    await measure(`join → first prompt, ${rest} at once`, async () => {
      const burst = await Promise.all(Array.from({ length: rest }, (_, i) => arrive(learners.length + i)));
      learners.push(...burst);
      const joinMs = burst.map((l) => l.ms).sort((a, b) => a - b);
      console.log(`join → first prompt, ${rest} at once from the pool: p50 ${pct(joinMs, 50).toFixed(0)} ms, p95 ${pct(joinMs, 95).toFixed(0)} ms, max ${pct(joinMs, 100).toFixed(0)} ms`);
    });
  }

  // Every learner brings the seed lab's stack up, as in step 2.
  const M = learners.length;
  const t1 = performance.now();
  const stacksUp = M > 0 && await measure(`${M} stacks up`, () => Promise.all(
    learners.map(
      (l, i) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`learner ${i}: no stack-up line in ${PROMPT_TIMEOUT_MS / 1000} s`)), PROMPT_TIMEOUT_MS);
          let out = '';
          l.ws.on('message', (d, binary) => {
            if (!binary) return;
            out += String(d);
            if (/stack-up-\d/.test(out)) {
              clearTimeout(timer);
              resolve();
            }
          });
          l.ws.send(encodeClientFrame({ type: 'input', data: 'docker compose up -d >/dev/null 2>&1; echo stack-up-$?\r' }));
        }),
    ),
  ).then(() => true));
  if (M === 0) unmeasured('stacks up and memory per learner', 'no learner got a shell (see above)');
  else if (stacksUp) {
    console.log(`${M} stacks up (docker compose up -d, all at once): ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    await sleep(SETTLE_MS);
    const memStacks = memAvailable();
    console.log(`host memory per learner with the two-nginx stack up: ${((memBefore - memStacks) / M / MIB).toFixed(0)} MiB by MemAvailable, ${cgroupText(labId)}`);
    console.log(`server RSS: ${(process.memoryUsage().rss / MIB).toFixed(0)} MiB with ${M} learners connected (was ${(rssBefore / MIB).toFixed(0)} MiB; includes this bench's own clients)`);
  }

  await measure('ending the class', async () => {
    const t2 = performance.now();
    await post(`/api/classes/${classId}/end`, {}, owner);
    console.log(`end class (remove the class's sandboxes): ${((performance.now() - t2) / 1000).toFixed(1)} s`);
  });
} finally {
  for (const s of sockets) s.terminate();
  await server.close();
  await new DindDriver({ stateDir: path.join(dataDir, 'sandboxes') }).reap((labels) => labels[LABEL.lab] !== labId);
  rmSync(root, { recursive: true, force: true });
}
reportUnmeasured();
