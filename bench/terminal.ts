// Terminal benchmark: labrun's terminal stack (TerminalManager + mountTerminal, bundled into the page
// under bench/terminal/) next to wetty (npm), both serving a local bash on 127.0.0.1 to headless
// Chromium. Prints keystroke echo latency (p50/p99), render throughput of `seq 1 300000`, and the
// server's RSS growth while `yes` runs for 10 s with the page rendering, then one verdict line per goal.
// No assertions. The seq runs of both stacks are interleaved (labrun, wetty, labrun, …) so that load
// from other work on the machine hits both alike; beside them, xterm alone (6.0, ours, and 5.3,
// wetty's) renders the same bytes without any network, which tells a transport gap from an xterm one.
//
// Timing is taken inside the page: a keystroke is injected as an `input` event on xterm's textarea
// (the path a real keypress takes once the browser has decoded it) and the clock stops when the DOM
// renderer's rows change, i.e. when the echo is on screen. Both stacks use xterm's DOM renderer.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/support/require.ts';
import { reportUnmeasured, unmeasured } from './support/measure.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const OUT = join(ROOT, '.cache/bench-terminal');
/**
 * wetty 2.7.0 on npm ships its client unbundled (bare `@fortawesome/…` imports; the page stays black,
 * butlerx/wetty#526); 2.5.0 is the newest 2.x whose client loads.
 */
const WETTY_VERSION = '2.5.0';
const WETTY_PREFIX = join(ROOT, `.cache/wetty-${WETTY_VERSION}`);
const WETTY_MAIN = join(WETTY_PREFIX, 'node_modules/wetty/build/main.js');
const ECHO_SAMPLES = 200;
const SEQ_N = 300_000;
/** Interleaved seq rounds; the median is reported (single runs vary ±30% on a loaded machine). */
const SEQ_RUNS = 7;
/** Bytes per write in the xterm-only runs: about one of labrun's output frames during `seq`. */
const XTERM_ONLY_CHUNK = 16 * 1024;
const YES_SECONDS = 10;
const PROMPT = '$ ';
/** Bounded waits: a stuck stack is reported as such, never hangs the bench. */
const STEP_TIMEOUT_MS = 60_000;

/** Bytes bash's pty sends for `seq 1 N`: each line's digits plus CR LF (the tty's onlcr). */
const seqBytes = (n: number): number => {
  let total = 0;
  for (let i = 1; i <= n; i++) total += String(i).length + 2;
  return total;
};

interface Target {
  name: string;
  url: string;
  server: ChildProcess;
}

interface Result {
  echoP50: number;
  echoP99: number;
  seqMs: number;
  mbPerS: number;
  rssBeforeMb: number;
  rssGrowthMb: number;
  rssEndMb: number;
  /** Each completed seq run in ms, e.g. `980/1010/1200`. */
  seqRuns: string;
  /** Phases that failed, with why. */
  notes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function rssMb(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : NaN;
}

async function waitForHttp(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not answer at ${url}`);
    await sleep(100);
  }
}

async function startLabrun(): Promise<Target> {
  await mkdir(OUT, { recursive: true });
  await build({
    entryPoints: { page: join(ROOT, 'bench/terminal/page.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110'],
    outdir: OUT,
    minify: true,
    logLevel: 'warning',
  });
  await copyFile(join(ROOT, 'bench/terminal/index.html'), join(OUT, 'index.html'));
  const server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/terminal/server.ts'), OUT], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('labrun bench server did not start')), STEP_TIMEOUT_MS);
    server.stdout?.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    server.once('exit', (code) => rej(new Error(`labrun bench server exited with code ${code}`)));
  });
  return { name: 'labrun', url: `http://127.0.0.1:${port}/`, server };
}

interface XtermOnly {
  version: string;
  js: string;
  css: string;
}

/** Bundles bench/terminal/xterm-only.ts with our xterm and, once wetty is installed, with wetty's. */
const LABRUN_XTERM = "labrun's xterm";
const WETTY_XTERM = "wetty's xterm";

async function buildXtermOnly(): Promise<XtermOnly[]> {
  const variants = [{ version: LABRUN_XTERM, dir: join(ROOT, 'node_modules/@xterm/xterm') }];
  const wettyXterm = join(WETTY_PREFIX, 'node_modules/xterm');
  if (existsSync(wettyXterm)) variants.push({ version: WETTY_XTERM, dir: wettyXterm });
  const out: XtermOnly[] = [];
  for (const { version, dir } of variants) {
    const pkg: unknown = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    const main = typeof pkg === 'object' && pkg && 'main' in pkg && typeof pkg.main === 'string' ? pkg.main : 'lib/xterm.js';
    const result = await build({
      entryPoints: [join(ROOT, 'bench/terminal/xterm-only.ts')],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: ['chrome110'],
      minify: true,
      write: false,
      alias: { '@xterm/xterm': join(dir, main) },
      logLevel: 'warning',
    });
    const js = result.outputFiles[0]?.text ?? '';
    out.push({ version, js, css: await readFile(join(dir, 'css/xterm.css'), 'utf8') });
  }
  return out;
}

async function measureXtermOnly(x: XtermOnly): Promise<number> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.setContent(`<style>${x.css} html, body { margin: 0; height: 100%; } #term { height: 100%; }</style><div id="term"></div>`);
    await page.addScriptTag({ content: x.js });
    return num(await page.evaluate(`window.xtermOnly(${SEQ_N}, ${XTERM_ONLY_CHUNK})`));
  } finally {
    await browser.close();
  }
}

async function ensureWetty(): Promise<void> {
  if (existsSync(WETTY_MAIN)) return;
  console.log(`installing wetty@${WETTY_VERSION} into ${WETTY_PREFIX} (once)…`);
  await mkdir(WETTY_PREFIX, { recursive: true });
  const npm = spawn('npm', ['install', '--prefix', WETTY_PREFIX, `wetty@${WETTY_VERSION}`, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  const code = await new Promise<number | null>((res) => npm.once('exit', res));
  if (code !== 0 || !existsSync(WETTY_MAIN)) throw new Error(`npm install wetty@${WETTY_VERSION} failed (exit ${code})`);
}

async function startWetty(): Promise<Target> {
  await ensureWetty();
  const port = await freePort();
  // As root with an ssh host of localhost, wetty runs --command locally instead of ssh/login.
  const server = spawn(
    process.execPath,
    [WETTY_MAIN, '--host', '127.0.0.1', '--port', String(port), '--ssh-host', 'localhost', '--command', 'bash --norc --noprofile', '--log-level', 'warn'],
    { cwd: WETTY_PREFIX, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PS1: PROMPT } },
  );
  const url = `http://127.0.0.1:${port}/wetty`;
  await waitForHttp(url, server, 'wetty');
  return { name: 'wetty', url, server };
}

/**
 * Page-side code, kept as plain JavaScript text: functions passed to page.evaluate would carry the
 * helpers tsx's compiler injects (`__name`), which do not exist in the page.
 */
const PAGE_SCRIPT = `
  window.__bench = {
    rows: () => document.querySelector('.xterm-rows'),
    type(data) {
      document.querySelector('.xterm-helper-textarea').dispatchEvent(new InputEvent('input', { data, inputType: 'insertText' }));
    },
    until(pred, timeoutMs) {
      const rows = this.rows();
      return new Promise((resolve, reject) => {
        if (pred(rows.textContent)) return resolve(performance.now());
        const obs = new MutationObserver(() => {
          if (pred(rows.textContent)) { obs.disconnect(); clearTimeout(timer); resolve(performance.now()); }
        });
        const timer = setTimeout(() => {
          obs.disconnect();
          reject(new Error('timed out; screen ends with ' + JSON.stringify(rows.textContent.slice(-200))));
        }, timeoutMs);
        obs.observe(rows, { childList: true, subtree: true, characterData: true });
      });
    },
    async changeBy(data, timeoutMs) {
      const before = this.rows().textContent;
      const changed = this.until((t) => t !== before, timeoutMs);
      const t0 = performance.now();
      this.type(data);
      return (await changed) - t0;
    },
    async echo(n, timeoutMs) {
      const samples = [];
      for (let i = 0; i < n; i++) {
        // Ctrl-U: readline kills the typed line every 40 keys, so the line never wraps.
        if (i > 0 && i % 40 === 0) await this.changeBy('\\x15', timeoutMs);
        samples.push(await this.changeBy(String.fromCharCode(97 + (i % 26)), timeoutMs));
      }
      await this.changeBy('\\x15', timeoutMs);
      return samples;
    },
    async seq(n, timeoutMs) {
      const onlyPrompt = this.until((t) => t.replace(/\\s/g, '') === '$', timeoutMs);
      this.type('clear\\r');
      await onlyPrompt;
      const last = String(n - 2) + String(n - 1) + String(n); // the last three lines, as consecutive rows
      const done = this.until((t) => t.includes(last), timeoutMs);
      const t0 = performance.now();
      this.type('seq 1 ' + n + '\\r');
      return (await done) - t0;
    },
  };
`;

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const nums = (v: unknown): number[] => (Array.isArray(v) ? v.map(num) : []);

async function measureEcho(page: Page): Promise<number[]> {
  return nums(await page.evaluate(`window.__bench.echo(${ECHO_SAMPLES}, 5000)`));
}

async function measureSeq(page: Page): Promise<number> {
  return num(await page.evaluate(`window.__bench.seq(${SEQ_N}, ${STEP_TIMEOUT_MS})`));
}

async function measureYesRss(page: Page, pid: number | undefined): Promise<{ before: number; growth: number; end: number }> {
  await sleep(1_000);
  const before = await rssMb(pid);
  await page.evaluate(`window.__bench.type('yes\\r')`);
  let peak = before;
  const until = Date.now() + YES_SECONDS * 1000;
  while (Date.now() < until) {
    await sleep(250);
    peak = Math.max(peak, await rssMb(pid));
  }
  await page.evaluate(`window.__bench.type('\\x03')`);
  await sleep(300);
  await page.evaluate(`window.__bench.type('clear; echo yes-stopped\\r')`);
  await page.evaluate(`window.__bench.until((t) => t.includes('yes-stopped$'), ${STEP_TIMEOUT_MS})`);
  return { before, growth: peak - before, end: await rssMb(pid) };
}

/** Opens a fresh page (so a fresh shell) for one phase, so a stall in one phase cannot spoil the next. */
async function withPage<T>(target: Target, fn: (page: Page) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(target.url, { timeout: STEP_TIMEOUT_MS });
    await page.waitForSelector('.xterm-rows', { timeout: STEP_TIMEOUT_MS });
    await page.evaluate(PAGE_SCRIPT);
    await page.evaluate(`window.__bench.until((t) => t.includes('$'), ${STEP_TIMEOUT_MS})`);
    await sleep(500); // let the shell settle after the first prompt
    return await fn(page);
  } finally {
    await browser.close();
  }
}

/** Runs one phase on a fresh page; a failure becomes a note on the result instead of ending the bench. */
async function attempt<T>(target: Target, notes: string[], what: string, fn: (page: Page) => Promise<T>): Promise<T | undefined> {
  try {
    return await withPage(target, fn);
  } catch (err) {
    notes.push(`${what}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
    return undefined;
  }
}

interface Stack {
  target: Target;
  notes: string[];
  echo: number[];
  seq: number[];
  rss: { before: number; growth: number; end: number };
}

function summarize(s: Stack): Result {
  const seq = s.seq.filter(Number.isFinite).sort((a, b) => a - b);
  const echo = [...s.echo].sort((a, b) => a - b);
  const seqMs = percentile(seq, 50);
  return {
    echoP50: percentile(echo, 50),
    echoP99: percentile(echo, 99),
    seqMs,
    seqRuns: s.seq.map((t) => (Number.isFinite(t) ? Math.round(t) : 'failed')).join('/'),
    mbPerS: seqBytes(SEQ_N) / 1e6 / (seqMs / 1000),
    rssBeforeMb: s.rss.before,
    rssGrowthMb: s.rss.growth,
    rssEndMb: s.rss.end,
    notes: s.notes,
  };
}

function stop(child: ChildProcess | undefined): void {
  if (child && child.exitCode === null && child.pid !== undefined) child.kill('SIGTERM');
}

const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) {
    unmeasured('the terminal (labrun against wetty)', `no Chromium at ${CHROMIUM_PATH}`);
    return;
  }
  // `--only labrun` or `--only wetty` measures one stack (while tuning); the default is both.
  const only = process.argv[process.argv.indexOf('--only') + 1];
  const starts = [
    { name: 'labrun', start: startLabrun },
    { name: 'wetty', start: startWetty },
  ].filter((s) => !process.argv.includes('--only') || s.name === only);
  const failed = new Map<string, string>();
  const stacks: Stack[] = [];
  try {
    for (const { name, start } of starts) {
      try {
        stacks.push({ target: await start(), notes: [], echo: [], seq: [], rss: { before: NaN, growth: NaN, end: NaN } });
      } catch (err) {
        failed.set(name, err instanceof Error ? err.message : String(err));
      }
    }
    const xtermOnly = await buildXtermOnly();
    const xtermOnlyMs = new Map<string, number[]>(xtermOnly.map((x) => [x.version, []]));

    for (const s of stacks) s.echo = (await attempt(s.target, s.notes, 'echo', measureEcho)) ?? [];
    for (let round = 1; round <= SEQ_RUNS; round++) {
      for (const s of stacks) {
        // A failed run stays in place as NaN, so rounds still pair up across stacks.
        s.seq.push((await attempt(s.target, s.notes, `seq run ${round}`, measureSeq)) ?? NaN);
      }
      for (const x of xtermOnly) xtermOnlyMs.get(x.version)?.push(await measureXtermOnly(x));
    }
    for (const s of stacks) {
      s.rss = (await attempt(s.target, s.notes, 'yes', (page) => measureYesRss(page, s.target.server.pid))) ?? s.rss;
    }
    report(stacks, failed, xtermOnlyMs);
  } finally {
    for (const s of stacks) stop(s.target.server);
  }
}

function report(stacks: Stack[], failed: Map<string, string>, xtermOnlyMs: Map<string, number[]>): void {
  const results = new Map<string, Result | string>(failed);
  for (const s of stacks) results.set(s.target.name, summarize(s));
  const fmt = (r: Result | string | undefined, pick: (r: Result) => number, digits = 1): string =>
    r === undefined ? '-' : typeof r === 'string' ? 'n/a' : pick(r).toFixed(digits);
  const rows: Array<[string, (r: Result) => number, number]> = [
    [`echo round trip p50 (ms, ${ECHO_SAMPLES} keys)`, (r) => r.echoP50, 1],
    ['echo round trip p99 (ms)', (r) => r.echoP99, 1],
    [`seq 1 ${SEQ_N} rendered (ms, median of ${SEQ_RUNS})`, (r) => r.seqMs, 0],
    [`throughput (MB/s, ${(seqBytes(SEQ_N) / 1e6).toFixed(2)} MB)`, (r) => r.mbPerS, 1],
    ['server RSS before yes (MB)', (r) => r.rssBeforeMb, 1],
    [`server RSS peak growth, yes ${YES_SECONDS} s (MB)`, (r) => r.rssGrowthMb, 1],
    ['server RSS after Ctrl-C (MB)', (r) => r.rssEndMb, 1],
  ];
  const labrun = results.get('labrun');
  const wetty = results.get('wetty');
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`${'terminal'.padEnd(width)}  ${'labrun'.padStart(8)}  ${'wetty'.padStart(8)}`);
  for (const [label, pick, digits] of rows) {
    console.log(`${label.padEnd(width)}  ${fmt(labrun, pick, digits).padStart(8)}  ${fmt(wetty, pick, digits).padStart(8)}`);
  }
  for (const [name, r] of results) {
    if (typeof r === 'string') unmeasured(name, r);
    else {
      console.log(`${name}: seq runs (ms, in order): ${r.seqRuns || 'none completed'}`);
      for (const note of r.notes) console.log(`${name}: ${note}`);
    }
  }
  for (const [version, runs] of xtermOnlyMs) {
    console.log(`${version} alone, same bytes in ${XTERM_ONLY_CHUNK / 1024} KiB writes, no network: median ${median(runs).toFixed(0)} ms (runs ${runs.map(Math.round).join('/')})`);
  }

  // One verdict per goal of issue #3.
  const l = typeof labrun === 'object' ? labrun : undefined;
  const w = typeof wetty === 'object' ? wetty : undefined;
  const verdict = (goal: string, met: boolean | undefined, detail: string): void =>
    console.log(`verdict: ${goal}: ${met === undefined ? 'not measured' : met ? 'met' : 'NOT met'} (${detail})`);
  verdict(
    'echo p50 ≤ wetty',
    // Compared at the printed 0.1 ms: both echo in the next 16.7 ms render frame, and microseconds of
    // timer jitter must not flip the verdict.
    l && w && Number.isFinite(l.echoP50 + w.echoP50) ? Math.round(l.echoP50 * 10) <= Math.round(w.echoP50 * 10) : undefined,
    `labrun ${l?.echoP50.toFixed(1)} ms, wetty ${w?.echoP50.toFixed(1)} ms`,
  );
  let why = '';
  const x6 = median(xtermOnlyMs.get(LABRUN_XTERM) ?? []);
  const x5 = median(xtermOnlyMs.get(WETTY_XTERM) ?? []);
  const ls = stacks.find((s) => s.target.name === 'labrun')?.seq ?? [];
  const ws = stacks.find((s) => s.target.name === 'wetty')?.seq ?? [];
  if (l && w) {
    // Paired by round: each pair ran back to back, under the same load.
    const paired = ls.map((ms, i) => [ms, ws[i] ?? NaN] as const).filter(([a, b]) => Number.isFinite(a + b));
    const pairs = paired.length;
    const wins = paired.filter(([a, b]) => a <= b).length;
    why += `; labrun faster in ${wins} of ${pairs} rounds`;
  }
  if (l && w && Number.isFinite(x6 + x5)) {
    const gap = l.seqMs - w.seqMs;
    why += `; labrun's xterm alone takes ${(x6 - x5).toFixed(0)} ms more than wetty's on the same bytes`;
    if (gap > 0 && gap <= x6 - x5) why += `, more than the ${gap.toFixed(0)} ms gap: the gap is the xterm version's, not the transport's`;
  }
  verdict(
    'throughput ≥ wetty',
    l && w && Number.isFinite(l.mbPerS + w.mbPerS) ? l.mbPerS >= w.mbPerS : undefined,
    `labrun ${l?.mbPerS.toFixed(2)} MB/s, wetty ${w?.mbPerS.toFixed(2)} MB/s, medians of ${SEQ_RUNS} interleaved runs${why}`,
  );
  verdict('server RSS growth under yes < 20 MB', l && Number.isFinite(l.rssGrowthMb) ? l.rssGrowthMb < 20 : undefined, `labrun ${l?.rssGrowthMb.toFixed(1)} MB`);
}

await main();
reportUnmeasured();
