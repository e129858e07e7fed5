// What a newcomer does, on a fresh clone of this checkout's HEAD (no dist/, no .cache/, no data/):
// the README's first command, `npm start`, then the printed URL in Chromium, which must show the lab
// catalog with the seed lab. Then the README's other commands as written, in the same clone: the
// classroom `labrun serve`, `labrun validate`, `labrun images`, and a broken client making
// `labrun serve` fail at start instead of serving a broken page.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, requireChromium, requireDocker } from '../support/require.ts';
import { DindDriver } from '../../server/sandbox/dind.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const SEED_LAB = 'linux-networks';
/** The first start on a machine without the images builds them (about two minutes); later ones take seconds. */
const READY_TIMEOUT_MS = 600_000;
/** A graceful shutdown is bounded by serve's own 10 s; past this the group is killed. */
const STOP_TIMEOUT_MS = 15_000;

/** A command run in its own process group, its output kept, so the whole tree can be ended. */
class Run {
  readonly child: ChildProcess;
  output = '';
  /** The exit code, or the signal that ended the process. */
  readonly exited: Promise<number | NodeJS.Signals>;

  constructor(cmd: string, args: string[], cwd: string, env: Record<string, string>) {
    this.child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? signal ?? 'SIGKILL')));
  }

  /** The first match of `re` in the output; rejects when the process exits first or time runs out. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    let gone = false;
    void this.exited.then(() => (gone = true));
    for (;;) {
      const m = re.exec(this.output);
      if (m) return m;
      if (gone) throw new Error(`exited before printing ${re}; output:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs / 1000} s; output:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The exit code or signal; rejects, with the output, when the process is still running after `timeoutMs`. */
  async exit(timeoutMs: number): Promise<number | NodeJS.Signals> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs / 1000} s; output:\n${this.output}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether any process of the group is still alive. */
  groupAlive(): boolean {
    try {
      process.kill(-(this.child.pid ?? 0), 0);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sends `signal` to the whole group (npm → sh → node), as Ctrl-C in a terminal does, then SIGKILL
   * if it lingers. Resolves to the leader's exit code or signal once no process of the group is left.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | NodeJS.Signals> {
    const pid = this.child.pid;
    const kill = (s: NodeJS.Signals): void => {
      try {
        process.kill(-(pid ?? 0), s);
      } catch {
        // the group is already gone
      }
    };
    if (pid === undefined) return this.exited;
    kill(signal);
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (this.groupAlive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (this.groupAlive()) {
      kill('SIGKILL');
      throw new Error(`the process group of ${this.child.spawnfile} outlived ${signal} by ${STOP_TIMEOUT_MS / 1000} s; output:\n${this.output}`);
    }
    return this.exited;
  }
}

function start(t: TestContext, cmd: string, args: string[], cwd: string, env: Record<string, string>): Run {
  const run = new Run(cmd, args, cwd, env);
  t.after(async () => {
    if (run.groupAlive()) await run.stop('SIGKILL');
  });
  return run;
}

test('a newcomer: fresh clone, npm start, the printed URL shows the catalog', async (t) => {
  if (!requireChromium(t) || !requireDocker(t)) return;
  const tmp = mkdtempSync(path.join(tmpdir(), 'labrun-newcomer-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const clone = path.join(tmp, 'labrun');
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
  execFileSync('git', ['clone', '--quiet', '--no-checkout', REPO, clone]);
  execFileSync('git', ['-C', clone, 'checkout', '--quiet', '--detach', head]);
  assert.equal(existsSync(path.join(clone, 'dist')), false, 'a fresh clone has no dist/');
  // Stands in for `npm ci`: the same lockfile gives the same tree, and a hard-linked copy of this
  // checkout's node_modules costs a second instead of minutes of downloads and native compiles. What
  // this test is about — no dist/, .cache/ or data/ — is not in node_modules.
  execFileSync('cp', ['-al', path.join(REPO, 'node_modules'), path.join(clone, 'node_modules')]);
  const env = (name: string): Record<string, string> => ({ LABRUN_PORT: '0', LABRUN_DATA: path.join(tmp, `data-${name}`) });

  await t.test('npm start builds the client, and the printed URL shows the seed lab', async () => {
    const server = start(t, 'npm', ['start'], clone, env('start'));
    const [, url] = await server.waitFor(/labrun is ready: (http\S+)/, READY_TIMEOUT_MS);
    assert.ok(url);
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    t.after(() => browser.close());
    const page = await browser.newPage();
    const failed: string[] = [];
    page.on('response', (res) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
    });
    await page.goto(url);
    const card = page.locator(`a.lab-card[data-lab="${SEED_LAB}"]`);
    await card.waitFor({ timeout: 30_000 }).catch(async (err: unknown) => {
      throw new Error(`no ${SEED_LAB} card; the page says:\n${await page.locator('body').innerText()}`, { cause: err });
    });
    assert.match(await card.locator('h2').innerText(), /How Compose services talk to each other/);
    assert.doesNotMatch(await page.locator('body').innerText(), /not built/);
    assert.deepEqual(failed, []);
    assert.match(server.output, /building the web client \(dist\/client\/ is missing\)…\n/);
    // The lesson's terminal: a shell in a sandbox, which the server keeps for its next start.
    try {
      await card.click();
      await page.waitForFunction(() => /linuxnetworks[^\n]*#/.test(document.querySelector('.term-host .xterm-rows')?.textContent ?? ''), undefined, { timeout: 120_000 });
      // Ctrl-C: npm re-raises the signal its script ended on, so npm itself ends by SIGINT; labrun inside
      // shut down cleanly when it said so and the group is empty (a server that hung in shutdown would
      // exit 1 after its 10 s limit, and npm with it).
      assert.equal(await server.stop('SIGINT'), 'SIGINT', server.output);
      assert.match(server.output, /SIGINT: shutting down/);
      assert.doesNotMatch(server.output, /shutdown took over/);
    } finally {
      // The sandbox it kept for its next start is this test's to remove (before the folder goes).
      for (const sb of await new DindDriver({ stateDir: path.join(tmp, 'data-start', 'sandboxes') }).adoptExisting()) await sb.destroy();
    }
  });

  await t.test('a second start finds the client built and does not rebuild it', async () => {
    const server = start(t, 'bin/labrun', ['serve'], clone, env('again'));
    await server.waitFor(/labrun is ready: /, READY_TIMEOUT_MS);
    assert.doesNotMatch(server.output, /building the web client/);
    assert.equal(await server.stop(), 0, server.output);
  });

  await t.test("the README's classroom command starts and stops", async () => {
    const server = start(t, 'bin/labrun', ['serve', '--host', '0.0.0.0', '--memory', '1536m', '--pids', '1024'], clone, env('class'));
    const [, port] = await server.waitFor(/labrun is ready: http:\/\/0\.0\.0\.0:(\d+)\//, READY_TIMEOUT_MS);
    await server.waitFor(/classroom: open .*\/instructor\?token=/, 5_000);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await server.stop('SIGINT'), 0, server.output);
  });

  await t.test('labrun validate and labrun images work as written', async () => {
    for (const args of [['validate'], ['images']]) {
      const run = start(t, 'bin/labrun', args, clone, {});
      assert.equal(await run.exit(READY_TIMEOUT_MS), 0, `labrun ${args.join(' ')}:\n${run.output}`);
    }
  });

  await t.test('a client that cannot build fails labrun serve at start, with the error and a hint', async () => {
    writeFileSync(path.join(clone, 'client/main.ts'), 'export const broken = ;\n');
    const server = start(t, 'bin/labrun', ['serve'], clone, env('broken'));
    // The build fails in about a second, before images or sandboxes are looked at.
    assert.equal(await server.exit(60_000), 1, server.output);
    assert.match(server.output, /labrun serve: the web client did not build: .*client\/main\.ts:1:\d+/s);
    assert.match(server.output, /npm run build/);
    assert.doesNotMatch(server.output, /labrun is ready/);
  });
});
