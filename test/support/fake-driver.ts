// An in-memory SandboxDriver for Docker-free tests: sandboxes that record what ran in them, answer
// exec with exit 0 (or what a test scripts), report a settable engine snapshot, and open fake ptys.
// Destroying a sandbox ends its ptys the way a vanished `docker exec` does (exit 137), so a test sees
// what a learner would if the session owner did not close the terminal first.
import { EventEmitter, on } from 'node:events';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { SandboxError, type EngineEvent, type EngineSnapshot, type ExecRequest, type ExecResult, type ListeningPort, type Sandbox, type SandboxDriver, type SandboxProgress, type SandboxSpec } from '../../server/sandbox/sandbox.ts';
import type { PtyLike } from '../../server/terminal/pty.ts';

export class FakePty implements PtyLike {
  readonly pid = undefined;
  readonly written: string[] = [];
  readonly #data = new Set<(d: Buffer | string) => void>();
  readonly #exit = new Set<(e: { exitCode: number; signal?: number }) => void>();
  readonly #flush = new Set<(keep: number) => void>();
  exited = false;
  paused = false;

  constructor(
    readonly cols: number,
    readonly rows: number,
  ) {}

  onData(fn: (d: Buffer | string) => void): { dispose(): void } {
    this.#data.add(fn);
    return { dispose: () => this.#data.delete(fn) };
  }

  onExit(fn: (e: { exitCode: number; signal?: number }) => void): { dispose(): void } {
    this.#exit.add(fn);
    return { dispose: () => this.#exit.delete(fn) };
  }

  onFlush(fn: (keep: number) => void): { dispose(): void } {
    this.#flush.add(fn);
    return { dispose: () => this.#flush.delete(fn) };
  }

  /** The "tty" discarded what it held; the last `keep` bytes emitted are newer than that. */
  flushed(keep: number): void {
    for (const fn of this.#flush) fn(keep);
  }

  /** Output from the "shell". */
  emit(text: string): void {
    for (const fn of this.#data) fn(Buffer.from(text));
  }

  /** Raw output bytes (e.g. half a UTF-8 character). */
  emitBytes(bytes: Buffer): void {
    for (const fn of this.#data) fn(bytes);
  }

  write(data: string): void {
    this.written.push(data);
  }

  resize(): void {}
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }

  kill(): void {
    this.exit(129);
  }

  exit(exitCode: number): void {
    if (this.exited) return;
    this.exited = true;
    // Like node-pty, on a later turn: the caller's own bookkeeping finishes first.
    setImmediate(() => {
      for (const fn of this.#exit) fn({ exitCode });
    });
  }
}

export class FakeSandbox implements Sandbox {
  readonly workspacePath: string;
  readonly createdAt = new Date();
  readonly execs: ExecRequest[] = [];
  readonly ptys: FakePty[] = [];
  readonly copies: { hostDir: string; destDir: string }[] = [];
  destroyed = false;
  healthy = true;
  readonly #engine = new EventEmitter();

  constructor(
    readonly id: string,
    readonly spec: SandboxSpec,
    private readonly driver: FakeDriver,
  ) {
    this.workspacePath = `/root/${spec.workspace}`;
  }

  get labId(): string {
    return this.spec.labId;
  }
  get learnerId(): string {
    return this.spec.learnerId;
  }
  get workspace(): string {
    return this.spec.workspace;
  }

  /** The scripts run with `bash -lc` (setup, solve, checks), in order. */
  get scripts(): string[] {
    return this.execs.map((e) => e.argv.at(-1) ?? '');
  }

  async exec(req: ExecRequest): Promise<ExecResult> {
    if (this.destroyed) throw new Error(`sandbox ${this.id} is gone`);
    this.execs.push(req);
    const scripted = this.driver.onExec?.(req, this) ?? {};
    return { exitCode: 0, stdout: '', stderr: '', timedOut: false, truncated: false, durationMs: 1, ...scripted };
  }

  async engineSnapshot(): Promise<EngineSnapshot> {
    return structuredClone(this.driver.snapshot);
  }

  async *engineEvents(signal: AbortSignal): AsyncIterable<EngineEvent> {
    if (this.destroyed) throw new Error(`sandbox ${this.id} is gone`);
    try {
      for await (const [e] of on(this.#engine, 'event', { signal })) yield e as EngineEvent;
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  /** Listeners of engineEvents() right now (how many topology feeds watch this sandbox). */
  get engineListeners(): number {
    return this.#engine.listenerCount('event');
  }

  /** The "inner engine" reports a change, as after `docker compose up` or `docker network connect`. */
  emitEngineEvent(e: Partial<EngineEvent> = {}): void {
    this.#engine.emit('event', { type: 'container', action: 'start', id: 'x', time: Date.now(), ...e });
  }

  openTerminal(cols: number, rows: number): PtyLike {
    if (this.destroyed) throw new Error(`sandbox ${this.id} is gone`);
    const pty = new FakePty(cols, rows);
    this.ptys.push(pty);
    return pty;
  }

  /** A port "in the sandbox" is a local TCP port a test listens on (driver.ports: `8080` or `8080@svc` → local port). */
  connectPort(port: number, opts: { service?: string } = {}): Promise<Duplex> {
    const local = this.driver.ports.get(opts.service === undefined ? String(port) : `${port}@${opts.service}`);
    const refused = () => new SandboxError(`nothing listens on port ${port} in sandbox ${this.id}`, 'Start the service.', 'refused');
    if (local === undefined || this.destroyed) return Promise.reject(refused());
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: local });
      socket.once('connect', () => resolve(socket));
      socket.once('error', (err) => reject('code' in err && err.code === 'ECONNREFUSED' ? refused() : err));
    });
  }

  async listeningPorts(): Promise<ListeningPort[]> {
    return [...this.driver.ports.keys()].map((key) => {
      const [port = '', service] = key.split('@');
      return { port: Number(port), address: '0.0.0.0', ...(service !== undefined && { service }) };
    });
  }

  async copyIn(hostDir: string, destDir: string): Promise<void> {
    this.copies.push({ hostDir, destDir });
  }

  async isHealthy(): Promise<boolean> {
    return this.healthy && !this.destroyed;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const pty of this.ptys) pty.exit(137);
    // A removed sandbox's engine stream breaks, as a real one's socket does.
    if (this.#engine.listenerCount('event') > 0) this.#engine.emit('error', new Error(`sandbox ${this.id} is gone`));
    // Removing a real sandbox takes a while; its terminals' `docker exec` has ended by the time it is gone.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export class FakeDriver implements SandboxDriver {
  readonly sandboxes: FakeSandbox[] = [];
  /** What every sandbox's engineSnapshot() reports. */
  snapshot: EngineSnapshot = { containers: [], networks: [] };
  /** Scripted exec answers; default exit 0 with no output. */
  onExec?: (req: ExecRequest, sb: FakeSandbox) => Partial<ExecResult>;
  /** Ports that listen "in" every sandbox: `8080` or `8080@service` → a local port on 127.0.0.1. */
  readonly ports = new Map<string, number>();
  /** Sandboxes an "earlier run" left, returned by adoptExisting(). */
  leftovers: FakeSandbox[] = [];
  /** When set, create() waits for it (to hold a creation in flight). */
  gate: Promise<void> | undefined;
  /** When set, the next create() fails with it. */
  failNext: Error | undefined;
  #next = 0;

  async create(spec: SandboxSpec, onProgress?: (p: SandboxProgress) => void): Promise<FakeSandbox> {
    onProgress?.({ step: 'container', message: 'starting the sandbox', elapsedMs: 0 });
    await this.gate;
    const err = this.failNext;
    this.failNext = undefined;
    if (err) throw err;
    const sb = new FakeSandbox(`fake${++this.#next}`, spec, this);
    this.sandboxes.push(sb);
    onProgress?.({ step: 'ready', message: 'ready', elapsedMs: 1 });
    return sb;
  }

  async adoptExisting(): Promise<FakeSandbox[]> {
    const found = this.leftovers.splice(0);
    this.sandboxes.push(...found);
    return found;
  }

  /** Sandboxes not destroyed yet. */
  live(): FakeSandbox[] {
    return this.sandboxes.filter((s) => !s.destroyed);
  }
}
