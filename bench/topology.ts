// Topology panel and recording benchmark. Prints, never asserts:
// 1. panel update latency: one real sandbox behind the real server; the inner engine is changed
//    through its API (`network create` + `connect`, then `disconnect` + `rm`) and the clock stops when
//    the model frame on /ws/topology shows the change (p50/p95 of LABRUN_BENCH_ROUNDS×2 changes; the
//    panel's goal is 2 s), plus how long one model rebuild takes on a real sandbox;
// 2. the server's CPU and memory with 30 learners each with the panel open, on the in-memory driver
//    (30 real sandboxes do not fit this 2-core machine): every sandbox reports an engine event per
//    second, so this is the server's own cost of feeds, rebuilds and sends — engine reads are free here;
// 3. recording overhead on terminal throughput: `seq 1 300000` from a real local bash pty through the
//    real TerminalManager to a WebSocket client on loopback that acks like the page does, with and
//    without an asciicast recording of it (no browser: the render side is bench/terminal.ts's).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node-pty';
import { WebSocket, WebSocketServer } from 'ws';
import { parseConfig } from '../server/config.ts';
import { createServer } from '../server/http/app.ts';
import { CastWriter } from '../server/recording/asciicast.ts';
import { DindDriver, innerEngine } from '../server/sandbox/dind.ts';
import type { Sandbox, SandboxDriver } from '../server/sandbox/sandbox.ts';
import { TerminalManager } from '../server/terminal/terminal-manager.ts';
import type { TerminalTap } from '../server/terminal/terminal-session.ts';
import { encodeClientFrame } from '../shared/protocol.ts';
import { parseTopologyFrame, type TopologyModel } from '../shared/topology.ts';
import { FakeDriver, type FakeSandbox } from '../test/support/fake-driver.ts';
import { seedLinksOutput, seedSnapshot } from '../test/support/topology-fixtures.ts';
import { measure, reportUnmeasured } from './support/measure.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const TOKEN = 'bench-token-0123456789abcdef';
const ROUNDS = Number(process.env.LABRUN_BENCH_ROUNDS ?? 10);
const LEARNERS = 30;
const LOAD_SECONDS = 20;
const SEQ_N = 300_000;
const SEQ_RUNS = Math.max(1, Math.min(5, ROUNDS));
const STEP_TIMEOUT_MS = 120_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};
const median = (xs: number[]): number => pct(xs, 50);

async function startApp(driver: SandboxDriver, labsDir: string) {
  const data = mkdtempSync(path.join(tmpdir(), 'lrb-'));
  const config = parseConfig(['--port', '0', '--labs', labsDir, '--data', data, '--token', TOKEN], {});
  const server = await createServer(config, { driver, adopt: false, log: () => {} });
  const res = await fetch(`${server.url}/?token=${TOKEN}`, { redirect: 'manual' });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return {
    server,
    cookie,
    close: async () => {
      await server.close();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** A topology socket that hands each model to `onModel`. */
function watch(url: string, cookie: string, onModel: (m: TopologyModel) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace('http', 'ws'), { headers: { Origin: new URL(url).origin, Cookie: cookie } });
    ws.on('message', (d) => {
      const f = parseTopologyFrame(String(d));
      if (f?.type === 'model') onModel(f.model);
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function latencyOnRealSandbox(): Promise<void> {
  const dind = new DindDriver({ stateDir: path.join(tmpdir(), 'labrun-bench-topology') });
  let sandbox: Sandbox | undefined;
  const driver: SandboxDriver = { create: async (spec, p) => (sandbox = await dind.create(spec, p)), adoptExisting: async () => [], prepare: (s, l, sig) => dind.prepare(s, l, sig) };
  const app = await startApp(driver, path.join(ROOT, 'labs'));
  try {
    let latest: TopologyModel | undefined;
    let waiter: { test: (m: TopologyModel) => boolean; done: () => void } | undefined;
    const ws = await watch(`${app.server.url}/ws/topology?lab=linux-networks`, app.cookie, (m) => {
      latest = m;
      if (waiter?.test(m)) waiter.done();
    });
    const until = (test: (m: TopologyModel) => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        if (latest && test(latest)) return resolve();
        const timer = setTimeout(() => reject(new Error('the panel never showed the change')), STEP_TIMEOUT_MS);
        waiter = {
          test,
          done: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    await until(() => true);
    if (!sandbox) throw new Error('no sandbox was made');
    const sb = sandbox;
    const up = await sb.exec({ argv: ['bash', '-lc', 'docker compose up -d'], timeoutMs: STEP_TIMEOUT_MS });
    if (up.exitCode !== 0) throw new Error(`compose up failed: ${up.stderr}`);
    await until((m) => m.containers.length === 2);
    const inner = innerEngine(sb);
    const [a] = await inner.listContainers({ filters: { label: ['com.docker.compose.service=nginx_a'] } });
    if (!a) throw new Error('no nginx_a');
    const ms: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const name = `bench${i}`;
      const net = await inner.createNetwork({ Name: name });
      let t0 = performance.now();
      await net.connect({ Container: a.Id });
      await until((m) => m.containers.some((c) => c.addresses.some((x) => x.network === name)));
      ms.push(performance.now() - t0);
      await net.disconnect({ Container: a.Id });
      t0 = performance.now();
      await net.remove();
      await until((m) => !m.networks.some((n) => n.name === name));
      ms.push(performance.now() - t0);
    }
    console.log(`panel update after an engine event (real sandbox, ${ms.length} changes): p50 ${median(ms).toFixed(0)} ms, p95 ${pct(ms, 95).toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms (goal: within 2000 ms)`);
    const snapT: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await sb.engineSnapshot();
      await sb.exec({ argv: ['bash', '-c', 'ip -j link show >/dev/null'] });
      snapT.push(performance.now() - t0);
    }
    console.log(`one rebuild's engine reads on a real sandbox (snapshot + link exec): p50 ${median(snapT).toFixed(0)} ms`);
    ws.close();
  } finally {
    await app.close();
    await sandbox?.destroy();
  }
}

async function thirtyLearners(): Promise<void> {
  const driver = new FakeDriver();
  driver.snapshot = seedSnapshot();
  driver.onExec = (req) => (req.argv[3] === 'links' ? { stdout: seedLinksOutput() } : {});
  const labs = mkdtempSync(path.join(tmpdir(), 'lrb-labs-'));
  cpSync(path.join(ROOT, 'test/fixtures/labs/declared-pass'), path.join(labs, 'declared-pass'), { recursive: true });
  const app = await startApp(driver, labs);
  try {
    const owner = { Origin: app.server.url, Cookie: app.cookie, 'Content-Type': 'application/json' };
    const cls = (await (await fetch(`${app.server.url}/api/classes`, { method: 'POST', headers: owner, body: JSON.stringify({ labId: 'declared-pass' }) })).json()) as { joinCode: string };
    let models = 0;
    const sockets: WebSocket[] = [];
    for (let i = 0; i < LEARNERS; i++) {
      const res = await fetch(`${app.server.url}/api/join/${cls.joinCode}`, { method: 'POST', headers: { Origin: app.server.url, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `L${i}` }) });
      const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      sockets.push(await watch(`${app.server.url}/ws/topology?lab=declared-pass`, cookie, () => models++));
    }
    await sleep(500);
    const rss0 = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let flip = false;
    // One change per sandbox per second, alternating the picture so every rebuild is sent.
    const timer = setInterval(() => {
      flip = !flip;
      const snap = seedSnapshot();
      if (flip) snap.containers.pop();
      driver.snapshot = snap;
      for (const sb of driver.live() as FakeSandbox[]) sb.emitEngineEvent();
    }, 1000);
    const before = models;
    await sleep(LOAD_SECONDS * 1000);
    clearInterval(timer);
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    const rss1 = process.memoryUsage().rss;
    console.log(`${LEARNERS} learners with the panel open, one engine event per sandbox per second for ${LOAD_SECONDS} s (in-memory driver, server and clients in one process): CPU ${((100 * (cpu.user + cpu.system)) / 1000 / wall).toFixed(1)}% of one core, RSS ${(rss1 / 2 ** 20).toFixed(0)} MiB (${((rss1 - rss0) / 2 ** 20).toFixed(1)} MiB growth), ${models - before} models delivered`);
    for (const s of sockets) s.close();
  } finally {
    await app.close();
    rmSync(labs, { recursive: true, force: true });
  }
}

/** Seconds for `seq 1 N` through the terminal stack to an acking WebSocket client, with or without a recording. */
async function seqThroughput(record: boolean, dir: string, run: number): Promise<number> {
  const terminals = new TerminalManager();
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  const marker = `end-${run}-${record ? 'r' : 'n'}`;
  try {
    wss.on('connection', (ws) => {
      const tap = (cols: number, rows: number): TerminalTap | undefined => {
        if (!record) return undefined;
        const w = new CastWriter({ path: path.join(dir, `run-${run}.cast`), cols, rows });
        return { output: (c) => w.output(c), input: () => {}, resize: (c, r) => w.resize(c, r), end: () => void w.close() };
      };
      terminals.attach(ws, 'bench', (cols, rows) => spawn('bash', ['--norc', '--noprofile'], { cols, rows, encoding: null, env: { ...process.env, PS1: '$ ' } }), { tap });
    });
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    let text = '';
    let started = 0;
    const done = new Promise<number>((resolve) => {
      client.on('message', (d, binary) => {
        if (!binary) return;
        const buf = d as Buffer;
        client.send(encodeClientFrame({ type: 'ack', bytes: buf.toString('utf8').length }));
        text = (text + buf.toString('utf8')).slice(-200);
        if (started && text.includes(`${marker}-42`)) resolve((performance.now() - started) / 1000);
      });
    });
    await new Promise((r) => client.once('open', r));
    await sleep(300);
    started = performance.now();
    client.send(encodeClientFrame({ type: 'input', data: `seq 1 ${SEQ_N}; echo ${marker}-$((40+2))\r` }));
    const s = await done;
    client.close();
    return s;
  } finally {
    await terminals.dispose();
    wss.close();
    http.close();
  }
}

async function recordingOverhead(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrb-cast-'));
  try {
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < SEQ_RUNS; i++) {
      off.push(await seqThroughput(false, dir, i));
      on.push(await seqThroughput(true, dir, i));
    }
    let bytes = 0;
    for (let i = 1; i <= SEQ_N; i++) bytes += String(i).length + 2;
    const mb = bytes / 1e6;
    const a = mb / median(off);
    const b = mb / median(on);
    console.log(`terminal throughput, seq 1 ${SEQ_N} (${mb.toFixed(2)} MB) to an acking WebSocket client, medians of ${SEQ_RUNS} interleaved runs: ${a.toFixed(1)} MB/s without recording, ${b.toFixed(1)} MB/s recording (${((100 * (a - b)) / a).toFixed(1)}% slower)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await measure('panel update latency on a real sandbox', latencyOnRealSandbox);
await measure(`server CPU and memory with ${LEARNERS} learners with the panel open`, thirtyLearners);
await measure('recording overhead on terminal throughput', recordingOverhead);
reportUnmeasured();
