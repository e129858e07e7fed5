// A sandbox shell as a PtyLike over the Engine API: an exec of pty-relay.pl (no engine TTY), which
// opens the shell's pty inside the sandbox and reads it only as far as this side grants credit. No
// `docker exec` CLI and no pty on the host: per terminal that saves a process (~30 MB) and a second pty
// hop. Flow control reaches into the sandbox: while paused no credit is granted, the relay stops
// reading, and the pty fills until the shell waits; at most RELAY_WINDOW_BYTES are ever between the
// pty and here. The engine's own TTY exec buffered ~1.3 MB there instead, which Ctrl-C under `yes`
// had to wait out (250 ms in bench/terminal.ts).
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { PtyLike } from '../terminal/pty.ts';
import { startExec } from './engine-exec.ts';
import { demuxStream } from './frame-demux.ts';
import { FLUSH_MARK, FlushCuts, type CutEvent } from './flush-cuts.ts';

const RELAY_SCRIPT = readFileSync(new URL('./pty-relay.pl', import.meta.url), 'utf8');
/**
 * Output the relay may send ahead of what this side has taken in. Measured with `yes` into a reader
 * that keeps up (same machine, 2 cores): 64 kB let the relay wait on credit (7.5 MB/s), 128 kB
 * reached what the relay and the engine's copy manage (~12 MB/s), 256 kB and 1 MB were no faster.
 * It is small next to the page's own window (FlowControl), which bounds what Ctrl-C waits for.
 */
export const RELAY_WINDOW_BYTES = 128 * 1024;
/**
 * Output taken in is credited back once this much is owed, not chunk by chunk: each credit is a write
 * to the engine's socket that the engine copies on to the relay, and per chunk those writes were
 * most of the time the server spent on terminal output (bench/terminal.ts, profiled under `yes` and `seq`).
 * Below the window, so the relay never waits on credit the server is holding back: whatever it has
 * sent beyond this much is on its way and, once here, tips the count over.
 */
export const RELAY_CREDIT_BATCH_BYTES = RELAY_WINDOW_BYTES / 4;

/** What the server sends the relay: keystrokes, a new size, credit for more output. */
export type RelayFrameType = 'i' | 'r' | 'a';

/** One frame on the relay's stdin: type byte, payload length (4 bytes, big-endian), payload. */
export function relayFrame(type: RelayFrameType, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

export function relaySize(cols: number, rows: number): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt16BE(Math.min(0xffff, cols), 0);
  size.writeUInt16BE(Math.min(0xffff, rows), 2);
  return size;
}

export function relayCredit(bytes: number): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(bytes, 0);
  return n;
}

const EXIT_POLLS = 20;
const EXIT_POLL_MS = 25;

type DataListener = (data: Buffer) => void;
type ExitListener = (e: { exitCode: number; signal?: number | undefined }) => void;
type FlushListener = (keep: number) => void;

export interface ExecTerminalOptions {
  container: Docker.Container;
  cmd: string[];
  /** For the exec (the relay and the shell). */
  env: string[];
  /** For the shell only: the relay's own environment does not carry them. */
  shellEnv: string[];
  workingDir: string;
  cols: number;
  rows: number;
  /** Signals the shell's session inside the sandbox (the engine has no "signal this exec"). */
  signal: (sig: string) => void;
}

export class ExecTerminal implements PtyLike {
  readonly pid = undefined;
  readonly #data = new Set<DataListener>();
  readonly #exit = new Set<ExitListener>();
  readonly #flush = new Set<FlushListener>();
  readonly #cuts = new FlushCuts();
  /** The relay's stderr up to its last newline: its errors and flush marks are whole lines. */
  #stderrLine = '';
  readonly #opts: ExecTerminalOptions;
  #exec: Docker.Exec | undefined;
  #stream: Duplex | undefined;
  /** Input typed before the exec started, sent once it has (the size goes with the exec itself). */
  #queued: Buffer[] = [];
  #size: { cols: number; rows: number };
  #paused = false;
  /** Output taken in and not yet credited: credited in batches, or all of it on resume. */
  #owed = 0;
  #exited = false;
  /** SIGKILL came, perhaps before the exec had started: a stream that arrives after it is let go at once. */
  #killed = false;

  constructor(opts: ExecTerminalOptions) {
    this.#opts = opts;
    this.#size = { cols: opts.cols, rows: opts.rows };
    void this.#start();
  }

  onData(listener: DataListener): { dispose(): void } {
    this.#data.add(listener);
    return { dispose: () => this.#data.delete(listener) };
  }

  onExit(listener: ExitListener): { dispose(): void } {
    this.#exit.add(listener);
    return { dispose: () => this.#exit.delete(listener) };
  }

  onFlush(listener: FlushListener): { dispose(): void } {
    this.#flush.add(listener);
    return { dispose: () => this.#flush.delete(listener) };
  }

  write(data: string): void {
    this.#send('i', Buffer.from(data, 'utf8'));
  }

  resize(cols: number, rows: number): void {
    this.#size = { cols, rows };
    this.#send('r', relaySize(cols, rows));
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (this.#owed > 0) this.#credit(this.#owed);
  }

  #credit(bytes: number): void {
    this.#owed = 0;
    this.#send('a', relayCredit(bytes));
  }

  /** One frame to the relay; before the exec has started only input is kept (see #start for the size). */
  #send(type: RelayFrameType, payload: Buffer): void {
    if (this.#exited) return;
    const frame = relayFrame(type, payload);
    if (this.#stream) this.#stream.write(frame);
    else if (type === 'i') this.#queued.push(frame);
  }

  #output(chunk: Buffer): void {
    this.#emit(this.#cuts.output(chunk));
    // Dropped bytes were taken in all the same: the relay gets its credit back for them.
    this.#owed += chunk.length;
    if (!this.#paused && this.#owed >= RELAY_CREDIT_BATCH_BYTES) this.#credit(this.#owed);
  }

  kill(signal?: string): void {
    const sig = signal ?? 'SIGHUP';
    this.#opts.signal(sig);
    // Closing its stdin makes the relay hang up the shell's session, even when the signal could not be
    // sent (the sandbox is going away). SIGKILL is the last word: let go of the stream as well.
    if (sig === 'SIGHUP') this.#stream?.end();
    else if (sig === 'SIGKILL') {
      this.#killed = true;
      this.#stream?.destroy();
    }
  }

  async #start(): Promise<void> {
    const o = this.#opts;
    try {
      const exec = await o.container.exec({
        Cmd: ['perl', '-e', RELAY_SCRIPT, String(o.cols), String(o.rows), String(RELAY_WINDOW_BYTES), ...o.shellEnv, '--', ...o.cmd],
        Env: o.env,
        WorkingDir: o.workingDir,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        // No engine TTY: its detach keys would swallow Ctrl-P, and its buffers are what the relay avoids.
        Tty: false,
      });
      this.#exec = exec;
      const stream = await startExec(exec, { stdin: true });
      this.#stream = stream;
      if (this.#killed) {
        stream.destroy();
        await this.#ended();
        return;
      }
      // Without an engine TTY the stream is multiplexed: stdout is the pty, stderr the relay's errors and flush marks.
      demuxStream(
        stream,
        (c) => this.#output(c),
        (c) => this.#relayStderr(c),
      );
      stream.once('close', () => void this.#ended());
      stream.once('end', () => void this.#ended());
      stream.once('error', () => void this.#ended());
      // The size may have changed while the exec started.
      if (this.#size.cols !== o.cols || this.#size.rows !== o.rows) this.resize(this.#size.cols, this.#size.rows);
      for (const q of this.#queued) stream.write(q);
      this.#queued = [];
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      for (const l of this.#data) l(Buffer.from(`\r\nlabrun: could not start a shell in the sandbox: ${message}\r\n`));
      await this.#ended();
    }
  }

  #emit(events: CutEvent[]): void {
    for (const e of events) {
      if (e.type === 'data') for (const l of this.#data) l(e.data);
      else for (const l of this.#flush) l(e.keep);
    }
  }

  /** The relay's stderr: flush marks, and its own complaints (no /dev/ptmx, say), shown in the terminal. */
  #relayStderr(chunk: Buffer): void {
    const lines = (this.#stderrLine + chunk.toString('latin1')).split('\n');
    this.#stderrLine = lines.pop() ?? '';
    for (const line of lines) {
      const mark = FLUSH_MARK.exec(line);
      if (mark) this.#emit(this.#cuts.mark(Number(mark[1])));
      else this.#relayError(line);
    }
  }

  #relayError(line: string): void {
    const text = Buffer.from(`${Buffer.from(line, 'latin1').toString('utf8').replace(/\r$/, '')}\r\n`);
    for (const l of this.#data) l(text);
  }

  async #ended(): Promise<void> {
    if (this.#exited) return;
    this.#exited = true;
    this.#stream?.destroy();
    // A last complaint without its newline (perl's own, say) is still worth showing.
    if (this.#stderrLine !== '') this.#relayError(this.#stderrLine);
    this.#stderrLine = '';
    let exitCode = 1;
    try {
      // The engine can close the stream a moment before it records the exit: ask again briefly.
      for (let i = 0; i < EXIT_POLLS && this.#exec; i++) {
        const info: { ExitCode?: number | null; Running?: boolean } = await this.#exec.inspect();
        if (!info.Running) {
          if (typeof info.ExitCode === 'number') exitCode = info.ExitCode;
          break;
        }
        await sleep(EXIT_POLL_MS);
      }
    } catch {
      // The sandbox is gone: the shell ended with it.
    }
    for (const l of this.#exit) l({ exitCode });
  }
}
