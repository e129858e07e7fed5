// Terminal benchmark on the shipped path: `labrun serve` (with its token sign-in, the lesson page and
// a shell in a real isolated sandbox, reached by an Engine API exec) next to wetty (npm) serving the
// `docker exec -it` CLI into a sandbox of the same image, so both reach the same shell in the same kind
// of sandbox; the stripped harness (bench/terminal/server.ts: labrun's
// TerminalManager and client over a local bash, no express, auth or sandbox) is a third column that
// isolates the transport. All driven in headless Chromium. Prints keystroke echo latency (p50/p99),
// render throughput of `seq 1 300000`, Ctrl-C under `yes` to the prompt, and the server's RSS growth
// while `yes` runs, then one verdict line per goal. No assertions. Echo and seq phases are interleaved
// across stacks (labrun, wetty, harness, labrun, …) so that load from other work hits them alike.
// Beside them, xterm alone renders the same bytes with no network: xterm 5.5 (ours) with the lesson
// page's options and grid, and wetty's xterm with wetty's, which tells a page-side gap from xterm's.
//
// Timing is taken inside the page: a keystroke is injected as an `input` event on xterm's textarea
// (the path a real keypress takes once the browser has decoded it) and the clock stops when the DOM
// renderer's rows change, i.e. when the echo is on screen. All stacks use xterm's DOM renderer. For
// the lesson page the bench also counts, during each seq run, WebSocket frames and bytes, acks sent,
// animation frames, and the longest wait for the next frame (a flow-control pause shows there).
//
// Chromium is driven over a bare DevTools pipe (bench/support/bare-browser.ts), not Playwright, whose
// network tracking copies every WebSocket frame to the driver and would be measured as page work.
// Every page, xterm alone included, settles for SETTLE_MS before it is timed, and the page's main
// thread is read from the kernel's scheduler around each seq run: time on a CPU is the page's own
// work, time waiting for one is the cores being busy with the shell's side on this same machine
// (the server's own share of that is printed beside it, and the whole machine's CPU by program,
// bench/support/host-cpu.ts, says which programs held the cores).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { build } from 'esbuild';
import { TERMINAL_OPTIONS } from '../client/terminal/terminal-options.ts';
import { DindDriver } from '../server/sandbox/dind.ts';
import { resourceName } from '../server/sandbox/naming.ts';
import type { Sandbox } from '../server/sandbox/sandbox.ts';
import { freePort } from '../test/support/free-port.ts';
import { CHROMIUM_PATH, SANDBOX_ENGINE } from '../test/support/require.ts';
import { BareBrowser, type BarePage, type MainThreadTime } from './support/bare-browser.ts';
import { describeHostCpu, hostCpuSince, hostCpuSnapshot, processCpuMs, type HostCpuSpan } from './support/host-cpu.ts';
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
const SEQ_RUNS = Number(process.env.LABRUN_BENCH_ROUNDS ?? 7);
/** Bytes per write in the xterm-only runs: about one of labrun's output frames during `seq`. */
const XTERM_ONLY_CHUNK = 16 * 1024;
const YES_SECONDS = 10;
/** Ctrl-C samples under yes (the first after the RSS run), each after yes has flooded this long; the median is reported. */
const CTRL_C_RUNS = 5;
const CTRL_C_SHORT_YES_MS = 2_000;
const TOKEN = 'bench-terminal-token-0123456789';
/** The bench's own lab and sandbox names, so cleanup removes only what this run made. */
const LAB_ID = `termbench-${process.pid}`;
const WORKSPACE = 'termbench';
/** Goals of the terminal issue, printed as verdicts. */
const PAGE_GAP_GOAL = 0.1;
const CTRL_C_GOAL_MS = 150;
/** Bounded waits: a stuck stack is reported as such, never hangs the bench. */
const STEP_TIMEOUT_MS = 60_000;
const VIEWPORT = { width: 1200, height: 800 };
/** Wait after a page is ready, before measuring: the browser starts processes of its own at first. */
const SETTLE_MS = 1_000;

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
  /** Removes what the target made besides its server process (sandboxes, folders). */
  cleanup?: () => Promise<void>;
}

interface Result {
  ctrlCMs: number;
  ctrlCRuns: CtrlCRun[];
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

async function startHarness(): Promise<Target> {
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
  return { name: 'harness', url: `http://127.0.0.1:${port}/`, server };
}

/** `labrun serve` as a user runs it, with a one-step lab of no images; the page is the lesson page. */
async function startProduct(): Promise<Target> {
  // Short: the sandbox driver puts unix sockets under it, and sun_path holds only 107 bytes.
  const root = mkdtempSync(join(tmpdir(), 'lrt-'));
  const lab = join(root, 'labs', LAB_ID);
  mkdirSync(join(lab, 'steps'), { recursive: true });
  writeFileSync(join(lab, 'lab.yaml'), `title: Terminal bench\nsummary: A shell to measure.\nminutes: 1\nworkspace: ${WORKSPACE}\ncompose: []\n`);
  writeFileSync(join(lab, 'steps', '01-shell.md'), '---\ntitle: A shell\n---\nType in the terminal.\n');
  const port = await freePort();
  const server = spawn(join(ROOT, 'bin/labrun'), ['serve', '--host', '127.0.0.1', '--port', String(port), '--labs', join(root, 'labs'), '--data', join(root, 'data'), '--token', TOKEN], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const cleanup = async (): Promise<void> => {
    // labrun keeps sandboxes across a restart; this run's are removed by their lab label.
    await new DindDriver({ stateDir: join(root, 'data', 'sandboxes') }).reap((labels) => labels['labrun.lab'] !== LAB_ID);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error('labrun serve did not print its URL')), STEP_TIMEOUT_MS);
      server.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('labrun is ready')) {
          clearTimeout(timer);
          res();
        }
      });
      server.once('exit', (code) => rej(new Error(`labrun serve exited with code ${code}`)));
    });
  } catch (err) {
    stop(server);
    await cleanup();
    throw err;
  }
  return { name: 'labrun', url: `http://127.0.0.1:${port}/labs/${LAB_ID}?token=${TOKEN}`, server, cleanup };
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

/** The grid xterm alone renders: the lesson page's options and size for ours, wetty's defaults for its own. */
interface Grid {
  options: Record<string, unknown>;
  cols: number;
  rows: number;
}

/** One run of xterm alone: ms until rendered, and what the page's main thread did meanwhile. */
interface XtermOnlyRun {
  ms: number;
  main?: MainThreadTime;
  host?: HostCpuSpan;
}

async function measureXtermOnly(x: XtermOnly, grid: Grid): Promise<XtermOnlyRun> {
  const browser = await BareBrowser.launch();
  try {
    const page = await browser.newPage(VIEWPORT);
    const html = `<style>${x.css} html, body { margin: 0; height: 100%; } #term { height: 100%; }</style><div id="term"></div>`;
    await page.evaluate(`document.open(); document.write(${JSON.stringify(html)}); document.close()`);
    await page.evaluate(x.js);
    await page.evaluate(`window.xtermOnlyPrepare(${SEQ_N})`);
    // The same settling the lesson page gets (it loads, shows a prompt, then waits): right after launch
    // the browser is still starting its own processes, which would slow this side instead.
    await sleep(SETTLE_MS);
    const options = { ...grid.options, cols: grid.cols, rows: grid.rows };
    const hostBefore = await hostCpuSnapshot();
    const before = browser.rendererMainThread();
    const ms = num(await page.evaluate(`window.xtermOnly(${XTERM_ONLY_CHUNK}, ${JSON.stringify(options)})`));
    const main = mainThreadSince(before, browser.rendererMainThread());
    return { ms, main, host: hostCpuSince(hostBefore, await hostCpuSnapshot()) };
  } finally {
    await browser.close();
  }
}

function mainThreadSince(before: MainThreadTime | undefined, after: MainThreadTime | undefined): MainThreadTime | undefined {
  return before && after ? { ranMs: after.ranMs - before.ranMs, waitedMs: after.waitedMs - before.waitedMs } : undefined;
}

async function ensureWetty(): Promise<void> {
  if (existsSync(WETTY_MAIN)) return;
  console.log(`installing wetty@${WETTY_VERSION} into ${WETTY_PREFIX} (once)…`);
  await mkdir(WETTY_PREFIX, { recursive: true });
  const npm = spawn('npm', ['install', '--prefix', WETTY_PREFIX, `wetty@${WETTY_VERSION}`, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  const code = await new Promise<number | null>((res) => npm.once('exit', res));
  if (code !== 0 || !existsSync(WETTY_MAIN)) throw new Error(`npm install wetty@${WETTY_VERSION} failed (exit ${code})`);
}

/** wetty running `docker exec -it … bash -l` into a sandbox of labrun's image: the shell path labrun's terminal takes. */
async function startWetty(): Promise<Target> {
  await ensureWetty();
  const stateDir = mkdtempSync(join(tmpdir(), 'lrw-'));
  const driver = new DindDriver({ stateDir });
  let sandbox: Sandbox | undefined;
  const cleanup = async (): Promise<void> => {
    await sandbox?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    sandbox = await driver.create({ labId: LAB_ID, learnerId: 'wetty', workspace: WORKSPACE, images: [] });
    const port = await freePort();
    const command = `docker -H ${SANDBOX_ENGINE} exec -it -w ${sandbox.workspacePath} -e TERM=xterm-256color ${resourceName(sandbox.id)} bash -l`;
    // As root with an ssh host of localhost, wetty runs --command locally instead of ssh/login.
    const server = spawn(process.execPath, [WETTY_MAIN, '--host', '127.0.0.1', '--port', String(port), '--ssh-host', 'localhost', '--command', command, '--log-level', 'warn'], {
      cwd: WETTY_PREFIX,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}/wetty`;
    await waitForHttp(url, server, 'wetty');
    return { name: 'wetty', url, server, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Counts, in the page, what the terminal's WebSocket carries: binary frames and their bytes, acks sent,
 * and the longest gap between two frames while counting. Installed before the page's own scripts.
 */
const SOCKET_PROBE = `
  (() => {
    const stats = { frames: 0, bytes: 0, acks: 0, maxGapMs: 0, firstMs: NaN, t0: 0, last: 0, counting: false };
    window.__socketStats = stats;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', (ev) => {
          if (!stats.counting || !(ev.data instanceof ArrayBuffer)) return;
          const now = performance.now();
          if (!stats.last) stats.firstMs = now - stats.t0;
          if (stats.last) stats.maxGapMs = Math.max(stats.maxGapMs, now - stats.last);
          stats.last = now;
          stats.frames++;
          stats.bytes += ev.data.byteLength;
        });
      }
      send(data) {
        if (stats.counting && typeof data === 'string' && data.includes('"ack"')) stats.acks++;
        return super.send(data);
      }
    };
  })();
`;

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
    /** Any shell's prompt, then the bench's own: '$ ' on a clear screen, the same for every stack. */
    async plainPrompt(timeoutMs) {
      await this.until((t) => /[$#]\\s*$/.test(t), timeoutMs);
      const only = this.until((t) => t.replace(/\\s/g, '') === '$', timeoutMs);
      this.type("export PS1='$ '; clear\\r");
      await only;
    },
    async grid(timeoutMs) {
      const shown = this.until((t) => /SZ \\d+ \\d+ ZS/.test(t), timeoutMs);
      this.type('echo SZ $(stty size) ZS\\r');
      await shown;
      const [, rows, cols] = /SZ (\\d+) (\\d+) ZS/.exec(this.rows().textContent);
      return { rows: Number(rows), cols: Number(cols) };
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
      const sock = window.__socketStats;
      if (sock) Object.assign(sock, { frames: 0, bytes: 0, acks: 0, maxGapMs: 0, firstMs: NaN, t0: performance.now(), last: 0, counting: true });
      let animationFrames = 0;
      let counting = true;
      const countFrame = () => { if (counting) { animationFrames++; requestAnimationFrame(countFrame); } };
      requestAnimationFrame(countFrame);
      // The main thread's idle time while the bytes come in: the page waiting for output, not rendering.
      // (Gaps between frames say little: a frame's event waits while xterm parses the one before.)
      let idleMs = 0;
      const countIdle = (deadline) => { if (counting) { idleMs += deadline.timeRemaining(); requestIdleCallback(countIdle); } };
      requestIdleCallback(countIdle);
      const t0 = performance.now();
      this.type('seq 1 ' + n + '\\r');
      const ms = (await done) - t0;
      counting = false;
      if (sock) sock.counting = false;
      return { ms, animationFrames, frames: sock?.frames, bytes: sock?.bytes, acks: sock?.acks, maxGapMs: sock?.maxGapMs, idleMs, firstMs: sock?.firstMs };
    },
    /** Ctrl-C while yes floods the screen: ms until the prompt is back. */
    async ctrlC(timeoutMs) {
      const back = this.until((t) => t.trimEnd().endsWith('$'), timeoutMs);
      const sock = window.__socketStats;
      if (sock) Object.assign(sock, { frames: 0, bytes: 0, acks: 0, maxGapMs: 0, last: 0, counting: true });
      const t0 = performance.now();
      this.type('\\x03');
      const ms = (await back) - t0;
      if (sock) sock.counting = false;
      return { ms, bytes: sock?.bytes, frames: sock?.frames };
    },
  };
`;

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const nums = (v: unknown): number[] => (Array.isArray(v) ? v.map(num) : []);

/** What the page saw during one seq run (socket counts only for the lesson page). */
interface SeqRun {
  ms: number;
  animationFrames: number;
  frames?: number;
  bytes?: number;
  acks?: number;
  maxGapMs?: number;
  /** The page's main thread idle meanwhile (requestIdleCallback's time remaining, summed). */
  idleMs?: number;
  /** From typing the command to its first frame (the echo of the typed line). */
  firstMs?: number;
  /** The page's main thread meanwhile, from the kernel's scheduler. */
  main?: MainThreadTime;
  /** CPU the server process used meanwhile, all its threads (at the kernel's 10 ms tick). */
  serverCpuMs?: number;
  /** The whole machine meanwhile, by program. */
  host?: HostCpuSpan;
}

const ECHO_PER_ROUND = Math.ceil(ECHO_SAMPLES / SEQ_RUNS);

async function measureRound(page: BarePage, browser: BareBrowser, serverPid: number | undefined): Promise<{ echo: number[]; seq: SeqRun }> {
  const echo = nums(await page.evaluate(`window.__bench.echo(${ECHO_PER_ROUND}, 5000)`));
  const hostBefore = await hostCpuSnapshot();
  const before = browser.rendererMainThread();
  const serverBefore = await processCpuMs(serverPid);
  const raw = await page.evaluate(`window.__bench.seq(${SEQ_N}, ${STEP_TIMEOUT_MS})`);
  const main = mainThreadSince(before, browser.rendererMainThread());
  const serverCpuMs = (await processCpuMs(serverPid)) - serverBefore;
  const host = hostCpuSince(hostBefore, await hostCpuSnapshot());
  const seq = { ...((typeof raw === 'object' && raw ? raw : { ms: NaN, animationFrames: NaN }) as SeqRun), main, serverCpuMs, host };
  return { echo, seq };
}

/** One Ctrl-C under yes: ms until the prompt, and what the socket carried meanwhile (lesson page only). */
interface CtrlCRun {
  ms: number;
  bytes?: number;
  frames?: number;
}

interface YesResult {
  before: number;
  growth: number;
  end: number;
  ctrlC: CtrlCRun[];
}

const NO_YES: YesResult = { before: NaN, growth: NaN, end: NaN, ctrlC: [] };

async function ctrlCUnderYes(page: BarePage, runMs: number, during?: () => Promise<void>): Promise<CtrlCRun> {
  await page.evaluate(`window.__bench.type('yes\\r')`);
  const until = Date.now() + runMs;
  while (Date.now() < until) await (during ? during() : sleep(250));
  const raw = await page.evaluate(`window.__bench.ctrlC(${STEP_TIMEOUT_MS})`);
  const run = (typeof raw === 'object' && raw ? raw : { ms: NaN }) as CtrlCRun;
  await sleep(300);
  await page.evaluate(`window.__bench.type('clear; echo yes-stopped\\r')`);
  await page.evaluate(`window.__bench.until((t) => t.includes('yes-stopped$'), ${STEP_TIMEOUT_MS})`);
  return run;
}

/** yes for YES_SECONDS while the server's RSS is sampled, then CTRL_C_RUNS - 1 shorter runs: Ctrl-C varies run to run. */
async function measureYes(page: BarePage, pid: number | undefined): Promise<YesResult> {
  await sleep(1_000);
  const before = await rssMb(pid);
  let peak = before;
  const ctrlC = [
    await ctrlCUnderYes(page, YES_SECONDS * 1000, async () => {
      await sleep(250);
      peak = Math.max(peak, await rssMb(pid));
    }),
  ];
  const end = await rssMb(pid);
  for (let i = 1; i < CTRL_C_RUNS; i++) ctrlC.push(await ctrlCUnderYes(page, CTRL_C_SHORT_YES_MS));
  return { before, growth: peak - before, end, ctrlC };
}

/** Opens a fresh page (for labrun, a new connection to the same shell) for one phase, so a stall cannot spoil the next. */
async function withPage<T>(target: Target, fn: (page: BarePage, browser: BareBrowser) => Promise<T>): Promise<T> {
  const browser = await BareBrowser.launch();
  try {
    const page = await browser.newPage({ ...VIEWPORT, initScript: SOCKET_PROBE });
    await page.goto(target.url);
    await page.waitForSelector('.xterm-rows', STEP_TIMEOUT_MS);
    await page.evaluate(PAGE_SCRIPT);
    await page.evaluate(`window.__bench.plainPrompt(${STEP_TIMEOUT_MS})`);
    await sleep(SETTLE_MS); // let the shell and the browser settle after the prompt
    return await fn(page, browser);
  } finally {
    await browser.close();
  }
}

/** Runs one phase on a fresh page; a failure becomes a note on the result instead of ending the bench. */
async function attempt<T>(target: Target, notes: string[], what: string, fn: (page: BarePage, browser: BareBrowser) => Promise<T>): Promise<T | undefined> {
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
  seq: SeqRun[];
  rss: YesResult;
}

function summarize(s: Stack): Result {
  const seq = s.seq.map((r) => r.ms).filter(Number.isFinite).sort((a, b) => a - b);
  const echo = [...s.echo].sort((a, b) => a - b);
  const seqMs = percentile(seq, 50);
  return {
    ctrlCMs: median(s.rss.ctrlC.map((r) => r.ms).filter(Number.isFinite)),
    ctrlCRuns: s.rss.ctrlC,
    echoP50: percentile(echo, 50),
    echoP99: percentile(echo, 99),
    seqMs,
    seqRuns: s.seq.map((r) => (Number.isFinite(r.ms) ? Math.round(r.ms) : 'failed')).join('/'),
    mbPerS: seqBytes(SEQ_N) / 1e6 / (seqMs / 1000),
    rssBeforeMb: s.rss.before,
    rssGrowthMb: s.rss.growth,
    rssEndMb: s.rss.end,
    notes: s.notes,
  };
}

function describeMain(main: MainThreadTime | undefined): string {
  return main ? `, main thread on a CPU ${Math.round(main.ranMs)} ms and waiting for one ${Math.round(main.waitedMs)} ms` : '';
}

function stop(child: ChildProcess | undefined): void {
  if (child && child.exitCode === null && child.pid !== undefined) child.kill('SIGTERM');
}

async function stopAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  stop(child);
  await Promise.race([exited, sleep(10_000)]);
}

const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
const NO_RUN: SeqRun = { ms: NaN, animationFrames: NaN };

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) {
    unmeasured('the terminal (labrun against wetty)', `no Chromium at ${CHROMIUM_PATH}`);
    return;
  }
  // `--only labrun|wetty|harness` measures one stack (while tuning); the default is all three.
  const only = process.argv[process.argv.indexOf('--only') + 1];
  const starts = [
    { name: 'labrun', start: startProduct },
    { name: 'wetty', start: startWetty },
    { name: 'harness', start: startHarness },
  ].filter((s) => !process.argv.includes('--only') || s.name === only);
  const failed = new Map<string, string>();
  const stacks: Stack[] = [];
  try {
    for (const { name, start } of starts) {
      try {
        stacks.push({ target: await start(), notes: [], echo: [], seq: [], rss: NO_YES });
      } catch (err) {
        failed.set(name, err instanceof Error ? err.message : String(err));
      }
    }
    const product = stacks.find((s) => s.target.name === 'labrun');
    // The lesson page's terminal grid, so that xterm alone renders exactly what the page renders.
    const grid = product ? await attempt(product.target, product.notes, 'grid', (page) => page.evaluate(`window.__bench.grid(${STEP_TIMEOUT_MS})`)) : undefined;
    const ourGrid: Grid | undefined = grid && typeof grid === 'object' && 'cols' in grid && 'rows' in grid ? { options: { ...TERMINAL_OPTIONS }, cols: num(grid.cols), rows: num(grid.rows) } : undefined;
    const xtermOnly = await buildXtermOnly();
    const xtermOnlyRuns = new Map<string, XtermOnlyRun[]>(xtermOnly.map((x) => [x.version, []]));

    for (let round = 1; round <= SEQ_RUNS; round++) {
      for (const s of stacks) {
        // A failed run stays in place as NaN, so rounds still pair up across stacks.
        const r = await attempt(s.target, s.notes, `round ${round}`, (page, browser) => measureRound(page, browser, s.target.server.pid));
        s.echo.push(...(r?.echo ?? []));
        s.seq.push(r?.seq ?? NO_RUN);
      }
      for (const x of xtermOnly) {
        // wetty's xterm with its own options on the full page; ours as the lesson page renders it.
        const xGrid = x.version === LABRUN_XTERM ? ourGrid : { options: { fontSize: 14 }, cols: 80, rows: 24 };
        if (x.version === WETTY_XTERM || xGrid) xtermOnlyRuns.get(x.version)?.push(await measureXtermOnly(x, xGrid ?? { options: {}, cols: 80, rows: 24 }));
      }
    }
    for (const s of stacks) {
      s.rss = (await attempt(s.target, s.notes, 'yes', (page) => measureYes(page, s.target.server.pid))) ?? s.rss;
    }
    report(stacks, failed, xtermOnlyRuns, ourGrid);
  } finally {
    for (const s of stacks) {
      await stopAndWait(s.target.server);
      await s.target.cleanup?.().catch((err: unknown) => console.log(`cleanup of ${s.target.name} failed: ${String(err)}`));
    }
  }
}

function report(stacks: Stack[], failed: Map<string, string>, xtermOnlyRuns: Map<string, XtermOnlyRun[]>, grid: Grid | undefined): void {
  const results = new Map<string, Result | string>(failed);
  for (const s of stacks) results.set(s.target.name, summarize(s));
  const fmt = (r: Result | string | undefined, pick: (r: Result) => number, digits = 1): string =>
    r === undefined ? '-' : typeof r === 'string' ? 'n/a' : pick(r).toFixed(digits);
  const rows: Array<[string, (r: Result) => number, number]> = [
    [`echo round trip p50 (ms, ${ECHO_PER_ROUND * SEQ_RUNS} keys)`, (r) => r.echoP50, 1],
    ['echo round trip p99 (ms)', (r) => r.echoP99, 1],
    [`seq 1 ${SEQ_N} rendered (ms, median of ${SEQ_RUNS})`, (r) => r.seqMs, 0],
    [`throughput (MB/s, ${(seqBytes(SEQ_N) / 1e6).toFixed(2)} MB)`, (r) => r.mbPerS, 1],
    [`Ctrl-C under yes to the prompt (ms, median of ${CTRL_C_RUNS})`, (r) => r.ctrlCMs, 0],
    ['server RSS before yes (MB)', (r) => r.rssBeforeMb, 1],
    [`server RSS peak growth, yes ${YES_SECONDS} s (MB)`, (r) => r.rssGrowthMb, 1],
    ['server RSS after Ctrl-C (MB)', (r) => r.rssEndMb, 1],
  ];
  const names = ['labrun', 'wetty', 'harness'];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`${'terminal'.padEnd(width)}  ${names.map((n) => n.padStart(8)).join('  ')}`);
  for (const [label, pick, digits] of rows) {
    console.log(`${label.padEnd(width)}  ${names.map((n) => fmt(results.get(n), pick, digits).padStart(8)).join('  ')}`);
  }
  console.log('labrun = `labrun serve`, lesson page, shell in an isolated sandbox (Engine API exec); wetty = wetty running `docker exec -it` into a sandbox of the same image; harness = TerminalManager over a local bash, no auth or sandbox');
  for (const [name, r] of results) {
    if (typeof r === 'string') unmeasured(name, r);
    else {
      console.log(`${name}: seq runs (ms, in order): ${r.seqRuns || 'none completed'}`);
      const ctrlC = r.ctrlCRuns.map((c) => (Number.isFinite(c.ms) ? `${Math.round(c.ms)}${c.bytes === undefined || !c.frames ? '' : ` (${Math.round(c.bytes / 1024)} KiB in ${c.frames} frames after the key)`}` : 'failed'));
      console.log(`${name}: Ctrl-C runs (ms, in order): ${ctrlC.join(', ') || 'none completed'}`);
      for (const note of r.notes) console.log(`${name}: ${note}`);
    }
  }
  const product = stacks.find((s) => s.target.name === 'labrun');
  for (const [i, run] of (product?.seq ?? []).entries()) {
    if (!Number.isFinite(run.ms)) continue;
    console.log(
      `labrun page, seq run ${i + 1}: ${Math.round(run.ms)} ms, ${run.frames ?? '?'} frames (${(((run.bytes ?? 0) / (run.frames || 1)) / 1024).toFixed(0)} KiB avg), ${run.acks ?? '?'} acks, ${run.animationFrames} animation frames (${((run.animationFrames * 1000) / run.ms).toFixed(0)} fps), first frame after ${Math.round(run.firstMs ?? NaN)} ms, longest wait for a frame ${Math.round(run.maxGapMs ?? NaN)} ms, main thread idle ${Math.round(run.idleMs ?? NaN)} ms${describeMain(run.main)}; the server meanwhile ${Math.round(run.serverCpuMs ?? NaN)} ms of CPU${run.host ? `; ${describeHostCpu(run.host)}` : ''}`,
    );
  }
  for (const [version, runs] of xtermOnlyRuns) {
    const how = version === LABRUN_XTERM && grid ? `the lesson page's options, ${grid.cols}×${grid.rows}` : "wetty's options, 80×24";
    const each = runs.map((r) => `${Math.round(r.ms)}${describeMain(r.main)}${r.host ? `, ${describeHostCpu(r.host, 4)}` : ''}`).join('; ');
    console.log(`${version} alone, same bytes in ${XTERM_ONLY_CHUNK / 1024} KiB writes, no network, ${how}: median ${median(runs.map((r) => r.ms)).toFixed(0)} ms (runs: ${each})`);
  }

  const pick = (name: string): Result | undefined => {
    const r = results.get(name);
    return typeof r === 'object' ? r : undefined;
  };
  const l = pick('labrun');
  const w = pick('wetty');
  const verdict = (goal: string, met: boolean | undefined, detail: string): void =>
    console.log(`verdict: ${goal}: ${met === undefined ? 'not measured' : met ? 'met' : 'NOT met'} (${detail})`);
  verdict(
    'echo p50 ≤ wetty',
    // Compared at the printed 0.1 ms: both echo in the next 16.7 ms render frame, and microseconds of
    // timer jitter must not flip the verdict.
    l && w && Number.isFinite(l.echoP50 + w.echoP50) ? Math.round(l.echoP50 * 10) <= Math.round(w.echoP50 * 10) : undefined,
    `labrun ${l?.echoP50.toFixed(1)} ms, wetty ${w?.echoP50.toFixed(1)} ms, both into a shell in a sandbox of the same image`,
  );
  let why = '';
  const ls = product?.seq ?? [];
  const ws = stacks.find((s) => s.target.name === 'wetty')?.seq ?? [];
  if (l && w) {
    // Paired by round: each pair ran back to back, under the same load.
    const paired = ls.map((r, i) => [r.ms, ws[i]?.ms ?? NaN] as const).filter(([a, b]) => Number.isFinite(a + b));
    why += `; labrun faster in ${paired.filter(([a, b]) => a <= b).length} of ${paired.length} rounds`;
  }
  verdict(
    'throughput ≥ wetty',
    l && w && Number.isFinite(l.mbPerS + w.mbPerS) ? l.mbPerS >= w.mbPerS : undefined,
    `labrun ${l?.mbPerS.toFixed(2)} MB/s, wetty ${w?.mbPerS.toFixed(2)} MB/s, medians of ${SEQ_RUNS} interleaved runs${why}`,
  );
  const aloneRuns = xtermOnlyRuns.get(LABRUN_XTERM) ?? [];
  const alone = median(aloneRuns.map((r) => r.ms));
  const pct = (a: number, b: number): string => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(0)}%`;
  // Paired by round as well: single runs of either vary by ±30% on a loaded machine, the medians less.
  const pagePairs = ls.map((r, i) => [r.ms, aloneRuns[i]?.ms ?? NaN] as const).filter(([a, b]) => Number.isFinite(a + b));
  const pageWithin = pagePairs.filter(([a, b]) => a <= b * (1 + PAGE_GAP_GOAL)).length;
  verdict(
    `seq in the lesson page within ${PAGE_GAP_GOAL * 100}% of xterm alone on the same bytes`,
    l && Number.isFinite(l.seqMs + alone) ? l.seqMs <= alone * (1 + PAGE_GAP_GOAL) : undefined,
    `medians: page ${l?.seqMs.toFixed(0)} ms, xterm alone ${alone.toFixed(0)} ms: ${l ? pct(l.seqMs, alone) : '?'}; within it in ${pageWithin} of ${pagePairs.length} rounds`,
  );
  // Where a gap comes from: the page's own work (its main thread on a CPU) against the time it was
  // ready to run while the shell's side (sandbox, engine, server, the browser's network) held the cores.
  const pageRan = median(ls.flatMap((r) => (r.main ? [r.main.ranMs] : [])));
  const pageWaited = median(ls.flatMap((r) => (r.main ? [r.main.waitedMs] : [])));
  const aloneRan = median(aloneRuns.flatMap((r) => (r.main ? [r.main.ranMs] : [])));
  const aloneWaited = median(aloneRuns.flatMap((r) => (r.main ? [r.main.waitedMs] : [])));
  verdict(
    `the lesson page's own work for seq within ${PAGE_GAP_GOAL * 100}% of xterm alone's (main thread on a CPU)`,
    Number.isFinite(pageRan + aloneRan) ? pageRan <= aloneRan * (1 + PAGE_GAP_GOAL) : undefined,
    `page ${pageRan.toFixed(0)} ms, xterm alone ${aloneRan.toFixed(0)} ms: ${pct(pageRan, aloneRan)}; waiting for a CPU meanwhile: page ${pageWaited.toFixed(0)} ms, xterm alone ${aloneWaited.toFixed(0)} ms`,
  );
  verdict(`Ctrl-C under yes back at the prompt ≤ ${CTRL_C_GOAL_MS} ms`, l && Number.isFinite(l.ctrlCMs) ? l.ctrlCMs <= CTRL_C_GOAL_MS : undefined, `labrun ${l?.ctrlCMs.toFixed(0)} ms, wetty ${w?.ctrlCMs.toFixed(0)} ms`);
  verdict('server RSS growth under yes < 20 MB', l && Number.isFinite(l.rssGrowthMb) ? l.rssGrowthMb < 20 : undefined, `labrun ${l?.rssGrowthMb.toFixed(1)} MB`);
}

await main();
reportUnmeasured();
