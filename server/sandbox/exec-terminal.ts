// A sandbox shell as a PtyLike over the Engine API: an exec with a TTY, its hijacked stream carrying
// the shell's bytes both ways. No `docker exec` CLI and no pty on the host: per terminal that saves a
// process (~30 MB) and a second pty hop every byte used to take (bash → sandbox pty → CLI → host pty
// → node-pty). Flow control is the stream's own: pausing it stops reading the socket, the engine's
// copy blocks, and the sandbox's pty fills until the shell waits.
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { PtyLike } from '../terminal/pty.ts';

/**
 * The engine detaches a TTY exec on this key sequence; its default, Ctrl-P Ctrl-Q, would swallow the
 * shell's Ctrl-P (previous command). Nobody types this one.
 */
const DETACH_KEYS = 'ctrl-@,ctrl-^,ctrl-@,ctrl-^,ctrl-@';

const EXIT_POLLS = 20;
const EXIT_POLL_MS = 25;

type DataListener = (data: Buffer) => void;
type ExitListener = (e: { exitCode: number; signal?: number | undefined }) => void;

export interface ExecTerminalOptions {
  container: Docker.Container;
  cmd: string[];
  env: string[];
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
  readonly #opts: ExecTerminalOptions;
  #exec: Docker.Exec | undefined;
  #stream: Duplex | undefined;
  /** Input and a size typed before the exec started, sent once it has. */
  #queued: string[] = [];
  #size: { cols: number; rows: number };
  #paused = false;
  #exited = false;

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

  write(data: string): void {
    if (this.#exited) return;
    if (this.#stream) this.#stream.write(data);
    else this.#queued.push(data);
  }

  resize(cols: number, rows: number): void {
    this.#size = { cols, rows };
    // An exec that has ended answers 404/409: nothing to resize any more.
    this.#exec?.resize({ w: cols, h: rows }).catch(() => {});
  }

  pause(): void {
    this.#paused = true;
    this.#stream?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#stream?.resume();
  }

  kill(signal?: string): void {
    this.#opts.signal(signal ?? 'SIGHUP');
  }

  async #start(): Promise<void> {
    const o = this.#opts;
    try {
      const exec = await o.container.exec({
        Cmd: o.cmd,
        Env: o.env,
        WorkingDir: o.workingDir,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: true,
        DetachKeys: DETACH_KEYS,
      });
      this.#exec = exec;
      const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
      this.#stream = stream;
      stream.on('data', (chunk: Buffer) => {
        for (const l of this.#data) l(chunk);
      });
      stream.once('close', () => void this.#ended());
      stream.once('end', () => void this.#ended());
      stream.once('error', () => void this.#ended());
      if (this.#paused) stream.pause();
      this.resize(this.#size.cols, this.#size.rows);
      for (const q of this.#queued) stream.write(q);
      this.#queued = [];
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      for (const l of this.#data) l(Buffer.from(`\r\nlabrun: could not start a shell in the sandbox: ${message}\r\n`));
      await this.#ended();
    }
  }

  async #ended(): Promise<void> {
    if (this.#exited) return;
    this.#exited = true;
    this.#stream?.destroy();
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
