// Headless Chromium driven over the DevTools protocol with only what a timing bench needs: open a
// page, run script in it, read its renderer's scheduler counters. Why not Playwright here: it enables
// the protocol's Network domain on every page, so Chromium copies each WebSocket frame (base64, into
// JSON) down the debugging pipe to the driver while the bench runs. Under `seq` that is ~3 MB per run
// of work the browser process and the driver do on the same two cores the page needs, and a page
// without a WebSocket (xterm alone) pays none of it. Playwright stays the tool for tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../test/support/require.ts';

/** A protocol call that gets no answer in this long means the browser is stuck: fail, never hang. */
const CALL_TIMEOUT_MS = 120_000;
const POLL_MS = 50;

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

/** What the main thread of a renderer did, from the kernel's scheduler (`/proc/…/schedstat`). */
export interface MainThreadTime {
  /** On a CPU, ms. */
  ranMs: number;
  /** Runnable but waiting for a CPU (other work had both cores), ms. */
  waitedMs: number;
}

export class BareBrowser {
  readonly #child: ChildProcess;
  readonly #profile: string;
  readonly #out: Writable;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  private constructor(child: ChildProcess, profile: string) {
    this.#child = child;
    this.#profile = profile;
    // --remote-debugging-pipe: the browser reads commands on fd 3 and answers on fd 4, each message NUL-terminated.
    this.#out = child.stdio[3] as Writable;
    const input = child.stdio[4] as Readable;
    let buffered = '';
    input.setEncoding('utf8');
    input.on('data', (text: string) => {
      buffered += text;
      let end = buffered.indexOf('\0');
      while (end >= 0) {
        this.#onMessage(buffered.slice(0, end));
        buffered = buffered.slice(end + 1);
        end = buffered.indexOf('\0');
      }
    });
    child.once('exit', (code) => {
      this.#closed = true;
      for (const p of this.#pending.values()) p.reject(new Error(`Chromium exited (code ${code}) during a protocol call`));
      this.#pending.clear();
    });
  }

  static async launch(): Promise<BareBrowser> {
    const profile = mkdtempSync(join(tmpdir(), 'lrb-'));
    const child = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, '--headless', '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
    });
    const browser = new BareBrowser(child, profile);
    await browser.call('Browser.getVersion');
    return browser;
  }

  call(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new Error(`Chromium is gone (calling ${method})`));
    const id = this.#nextId++;
    this.#out.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`Chromium did not answer ${method} within ${CALL_TIMEOUT_MS / 1000} s`));
      }, CALL_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  #onMessage(text: string): void {
    const msg = JSON.parse(text) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
    if (msg.id === undefined) return; // an event: this driver subscribes to none it needs
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error.message));
    else p.resolve(msg.result ?? {});
  }

  /** A new tab of the given viewport, with `initScript` run before any of each document's own scripts. */
  async newPage(opts: { width: number; height: number; initScript?: string }): Promise<BarePage> {
    const { targetId } = await this.call('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.call('Target.attachToTarget', { targetId, flatten: true });
    if (typeof sessionId !== 'string') throw new Error('Chromium gave no session for the new page');
    await this.call('Emulation.setDeviceMetricsOverride', { width: opts.width, height: opts.height, deviceScaleFactor: 1, mobile: false }, sessionId);
    // The Page domain's events (navigations, loads) are few; it must be on for the init script to run.
    await this.call('Page.enable', {}, sessionId);
    if (opts.initScript) await this.call('Page.addScriptToEvaluateOnNewDocument', { source: opts.initScript }, sessionId);
    return new BarePage(this, sessionId);
  }

  /**
   * The scheduler counters of the busiest renderer's main thread (the page's, with one page open).
   * Undefined when /proc cannot tell (not Linux, or no renderer yet).
   */
  rendererMainThread(): MainThreadTime | undefined {
    let best: { cpu: number; stat: MainThreadTime } | undefined;
    for (const pid of descendants(this.#child.pid)) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        // Chromium's own UI pages run in renderers too; they are marked as such.
        if (!cmd.includes('--type=renderer') || cmd.includes('--top-chrome-webui') || cmd.includes('--extension-process')) continue;
        const [ranNs = NaN, waitedNs = NaN] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
        if (!best || ranNs > best.cpu) best = { cpu: ranNs, stat: { ranMs: ranNs / 1e6, waitedMs: waitedNs / 1e6 } };
      } catch {
        // the process ended meanwhile
      }
    }
    return best?.stat;
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      const exited = new Promise((r) => this.#child.once('exit', r));
      await this.call('Browser.close').catch(() => undefined);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (!this.#closed) this.#child.kill('SIGKILL');
    }
    rmSync(this.#profile, { recursive: true, force: true });
  }
}

export class BarePage {
  readonly #browser: BareBrowser;
  readonly #sessionId: string;

  constructor(browser: BareBrowser, sessionId: string) {
    this.#browser = browser;
    this.#sessionId = sessionId;
  }

  /** Evaluates an expression in the page (awaiting a promise it returns) and returns its value as JSON. */
  async evaluate(expression: string): Promise<unknown> {
    const r = await this.#browser.call('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, this.#sessionId);
    const details = r.exceptionDetails as { exception?: { description?: string }; text?: string } | undefined;
    if (details) throw new Error(details.exception?.description ?? details.text ?? 'the page threw');
    return (r.result as { value?: unknown } | undefined)?.value;
  }

  async goto(url: string): Promise<void> {
    const r = await this.#browser.call('Page.navigate', { url }, this.#sessionId);
    if (typeof r.errorText === 'string') throw new Error(`could not open ${url}: ${r.errorText}`);
  }

  /** Waits until `selector` matches in the page; evaluation can fail while a navigation swaps documents. */
  async waitForSelector(selector: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await this.evaluate(`!!document.querySelector(${JSON.stringify(selector)})`).catch(() => false);
      if (found === true) return;
      if (Date.now() > deadline) throw new Error(`${selector} did not appear within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

/** Every process below `root`, read from /proc (Chromium's renderers are children of its zygote). */
function descendants(root: number | undefined): number[] {
  if (root === undefined) return [];
  const children = new Map<number, number[]>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  for (const d of pids) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}
