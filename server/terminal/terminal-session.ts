// One live terminal: owns its pty, the scrollback ring, the output batcher, the grace timer, and the
// sockets attached to it (at most one writer — the learner — plus any read-only watchers). Moves raw
// pty bytes to the sockets under flow control and applies the sockets' input/resize/ack frames.
import type { RawData, WebSocket } from 'ws';
import {
  CloseCode,
  MAX_CLIENT_FRAME_BYTES,
  closeReason,
  encodeServerControlFrame,
  parseClientFrame,
  type ClientFrame,
  type ServerControlFrame,
} from '../../shared/protocol.ts';
import { AckWindow, PauseReasons, Watermark, type Transition } from './flow-control.ts';
import { OutputBatcher } from './output-batcher.ts';
import { signalSession } from './process-group.ts';
import type { PtyLike } from './pty.ts';
import { ScrollbackRing } from './scrollback-ring.ts';

/**
 * Socket send-buffer watermarks: acks already bound what is in flight to ~450 kB, so a buffer past
 * 1 MiB means a client that acks bytes it never read; stop feeding it until the kernel drains.
 */
const WS_BUFFER_HIGH_BYTES = 1024 * 1024;
const WS_BUFFER_LOW_BYTES = 256 * 1024;
/** After SIGHUP, how long the shell gets to exit cleanly before its session is SIGKILLed. */
const KILL_ESCALATION_MS = 1_000;
/** Upper bound on waiting for the pty's exit event once the session was SIGKILLed. */
const EXIT_WAIT_MS = 2_000;

type PauseReason = 'ack' | 'socket' | 'detached';

interface Attachment {
  readonly ws: WebSocket;
  readonly readOnly: boolean;
  readonly window: AckWindow;
  readonly socketMark: Watermark;
  /** The attacher's hook for the learner's keystrokes (idle tracking); not for resizes or acks. */
  readonly onInput: (() => void) | undefined;
  /** Whether the page said it understands `flush` frames (see the `features` frame). */
  acceptsFlush: boolean;
  /** This attachment's own socket listeners, removed on detach (other listeners on the socket are not ours). */
  readonly listeners: { message: (data: RawData, isBinary: boolean) => void; close: () => void; error: () => void };
}

/** How the sockets of an ended terminal are closed, so the page can say why. */
export interface CloseWith {
  code: number;
  reason: string;
}

/** Sees a terminal's traffic as it happens (a recording, see server/recording/); never changes or slows it. */
export interface TerminalTap {
  output(chunk: Buffer): void;
  input(data: string): void;
  resize(cols: number, rows: number): void;
  end(): void;
}

export interface TerminalSessionOptions {
  graceMs: number;
  scrollbackBytes: number;
  tap?: TerminalTap;
  /** Called once when the session is over (shell exited or killed), so its owner can forget it. */
  onEnd: () => void;
}

export class TerminalSession {
  readonly #pty: PtyLike;
  readonly #opts: TerminalSessionOptions;
  readonly #ring: ScrollbackRing;
  readonly #batcher: OutputBatcher;
  readonly #gate = new PauseReasons<PauseReason>();
  readonly #attachments = new Set<Attachment>();
  #writer: Attachment | undefined;
  #attachCount = 0;
  #bytesSinceDetach = 0;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  #exited = false;
  #ended = false;
  readonly #exitPromise: Promise<void>;
  #resolveExit: () => void = () => {};
  #disposePromise: Promise<void> | undefined;
  #closeWith: CloseWith = { code: CloseCode.GoingAway, reason: 'terminal closed by the server' };

  constructor(pty: PtyLike, opts: TerminalSessionOptions) {
    this.#pty = pty;
    this.#opts = opts;
    this.#ring = new ScrollbackRing(opts.scrollbackBytes);
    this.#batcher = new OutputBatcher({ flush: (chunk) => this.#broadcast(chunk) });
    this.#exitPromise = new Promise((resolve) => (this.#resolveExit = resolve));
    // Listen at once: output emitted before the first attach must reach the scrollback.
    pty.onData((data) => this.#onPtyData(data));
    pty.onExit(({ exitCode, signal }) => this.#onPtyExit(exitCode, signal ?? null));
    pty.onFlush?.((keep) => this.#onPtyFlush(keep));
  }

  get pid(): number | undefined {
    return this.#pty.pid;
  }

  /** Types `text` into the shell as if from the keyboard (a lesson's foreground); false once the shell has exited. */
  type(text: string): boolean {
    if (this.#exited || this.#ended) return false;
    this.#batcher.noteInput();
    this.#pty.write(text);
    return true;
  }

  /** Attaches a socket: replays the scrollback, then streams live output. A new writer replaces the old one. */
  attach(ws: WebSocket, readOnly: boolean, onInput?: () => void): void {
    if (this.#ended) {
      ws.close(CloseCode.UnknownSession, 'terminal has ended');
      return;
    }
    // Pending output is already in the ring: send it to current sockets now so the newcomer's replay
    // (taken from the ring) and the live stream neither overlap nor leave a gap.
    this.#batcher.flush();
    const listeners: Attachment['listeners'] = {
      message: (data, isBinary) => this.#onMessage(att, data, isBinary),
      close: () => this.#detach(att),
      // 'close' always follows 'error'; without a listener ws would rethrow the error.
      error: () => {},
    };
    const att: Attachment = {
      ws,
      readOnly,
      window: new AckWindow(),
      socketMark: new Watermark(WS_BUFFER_HIGH_BYTES, WS_BUFFER_LOW_BYTES),
      onInput,
      acceptsFlush: false,
      listeners,
    };
    if (!readOnly) {
      const old = this.#writer;
      if (old) {
        this.#detach(old);
        old.ws.close(CloseCode.Replaced, 'replaced by a newer connection to this terminal');
      }
      this.#writer = att;
      this.#clearGrace();
    }
    this.#attachments.add(att);
    this.#bytesSinceDetach = 0;
    this.#apply(this.#gate.set('detached', false));

    const replay = this.#ring.snapshot();
    this.#sendControl(att, { type: 'hello', replayBytes: replay.length, readOnly, resumed: this.#attachCount > 0 });
    this.#attachCount++;
    if (replay.length > 0) this.#sendOutput(att, replay);

    ws.on('message', listeners.message);
    ws.on('close', listeners.close);
    ws.on('error', listeners.error);
  }

  /**
   * Kills the shell's whole session and waits (bounded) for the pty to report its exit; idempotent.
   * `closeWith` says how the sockets are closed (default: 1001, reconnecting later is fine).
   */
  dispose(closeWith?: CloseWith): Promise<void> {
    if (closeWith && !this.#disposePromise) this.#closeWith = closeWith;
    this.#disposePromise ??= this.#kill();
    return this.#disposePromise;
  }

  #signal(sig: NodeJS.Signals): void {
    const pid = this.#pty.pid;
    if (pid !== undefined) signalSession(pid, sig);
    else this.#pty.kill(sig);
  }

  async #kill(): Promise<void> {
    this.#clearGrace();
    if (!this.#exited) {
      // Resume so node-pty can read to EOF and report exit; output after this point is discarded anyway.
      this.#pty.resume();
      this.#signal('SIGHUP');
      this.#killTimer = setTimeout(() => this.#signal('SIGKILL'), KILL_ESCALATION_MS);
      const bound = new Promise<void>((resolve) => setTimeout(resolve, KILL_ESCALATION_MS + EXIT_WAIT_MS).unref());
      await Promise.race([this.#exitPromise, bound]);
    }
    this.#end(this.#closeWith.code, this.#closeWith.reason);
  }

  #onPtyData(data: unknown): void {
    if (this.#ended) return;
    // Raw bytes with `encoding: null`; a pty spawned with an encoding yields strings, re-encoded here.
    const chunk = Buffer.isBuffer(data) ? data : Buffer.from(String(data), 'utf8');
    this.#ring.push(chunk);
    this.#opts.tap?.output(chunk);
    if (this.#attachments.size === 0) {
      this.#bytesSinceDetach += chunk.length;
      // Nobody watches: read until the ring has been refreshed once, then stop — more reading would
      // only overwrite output nobody has seen, while a command like `yes` burns a core.
      if (this.#bytesSinceDetach >= this.#ring.capacity) this.#apply(this.#gate.set('detached', true));
      return;
    }
    this.#batcher.push(chunk);
  }

  /**
   * The tty dropped the output it held: what is still waiting here goes too, and each page is told to
   * drop what it has not drawn yet, so the prompt after Ctrl-C is not stuck behind a window of `yes`.
   * The scrollback keeps what reached it, so a reconnect replays the output the flush did not drop.
   */
  #onPtyFlush(keep: number): void {
    if (this.#ended) return;
    const sentKeep = this.#batcher.discardStale(keep);
    for (const att of this.#attachments) if (att.acceptsFlush) this.#sendControl(att, { type: 'flush', keep: sentKeep });
  }

  #onPtyExit(code: number | null, signal: number | null): void {
    this.#exited = true;
    if (this.#killTimer !== undefined) clearTimeout(this.#killTimer);
    // node-pty reports exit only after its read side closed, so all output is in the batcher: drain it.
    this.#batcher.flush();
    // Orphans the shell left in its session (e.g. `sleep 1000 &`) go with it.
    if (this.#pty.pid !== undefined) signalSession(this.#pty.pid, 'SIGKILL');
    this.#resolveExit();
    // Killed by us (shutdown, grace expiry, session stopped): not the learner's `exit`; say why.
    if (this.#disposePromise) return this.#end(this.#closeWith.code, this.#closeWith.reason);
    for (const att of this.#attachments) this.#sendControl(att, { type: 'exit', code, signal: signal || null });
    this.#end(CloseCode.Normal, 'shell exited');
  }

  #end(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#clearGrace();
    this.#batcher.dispose();
    this.#opts.tap?.end();
    for (const att of [...this.#attachments]) {
      this.#detach(att);
      att.ws.close(code, reason);
    }
    this.#opts.onEnd();
  }

  #onMessage(att: Attachment, data: RawData, isBinary: boolean): void {
    if (!this.#attachments.has(att)) return;
    const text = rawDataToText(data, isBinary);
    if (!text.ok) return this.#reject(att, text.error);
    const parsed = parseClientFrame(text.text);
    if (!parsed.ok) return this.#reject(att, parsed.error);
    this.#handleFrame(att, parsed.frame);
  }

  #handleFrame(att: Attachment, frame: ClientFrame): void {
    switch (frame.type) {
      case 'ack':
        att.window.acked(frame.bytes);
        this.#recomputePause();
        return;
      case 'input':
        if (att.readOnly || this.#exited) return;
        att.onInput?.();
        this.#batcher.noteInput();
        this.#pty.write(frame.data);
        this.#opts.tap?.input(frame.data);
        return;
      case 'features':
        att.acceptsFlush = frame.flush;
        return;
      case 'resize':
        if (att.readOnly || this.#exited) return;
        try {
          this.#pty.resize(frame.cols, frame.rows);
          this.#opts.tap?.resize(frame.cols, frame.rows);
        } catch (err) {
          // The pty's fd closes a moment before node-pty reports the exit; the ioctl then fails with
          // EBADF/EIO. Nothing left to resize. Anything else is a bug and is rethrown.
          if (!(err instanceof Error && /ioctl\(2\) failed/.test(err.message))) throw err;
        }
        return;
    }
  }

  #reject(att: Attachment, error: string): void {
    this.#detach(att);
    att.ws.close(CloseCode.BadFrame, closeReason(error));
  }

  #detach(att: Attachment): void {
    if (!this.#attachments.delete(att)) return;
    att.ws.off('message', att.listeners.message);
    att.ws.off('close', att.listeners.close);
    // The error listener stays: a socket closed by us may still report an error, which must not throw.
    if (att === this.#writer) {
      this.#writer = undefined;
      this.#startGrace();
    }
    if (this.#attachments.size === 0) this.#bytesSinceDetach = 0;
    this.#recomputePause();
  }

  #broadcast(chunk: Buffer): void {
    for (const att of this.#attachments) this.#sendOutput(att, chunk);
  }

  #sendOutput(att: Attachment, chunk: Buffer): void {
    if (att.ws.readyState !== att.ws.OPEN) return;
    att.ws.send(chunk, { binary: true }, () => this.#recomputePause());
    att.window.sent(chunk.length);
    this.#recomputePause();
  }

  #sendControl(att: Attachment, frame: ServerControlFrame): void {
    if (att.ws.readyState !== att.ws.OPEN) return;
    att.ws.send(encodeServerControlFrame(frame));
  }

  /** The slowest attachment sets the pace: everyone sees the same stream. */
  #recomputePause(): void {
    if (this.#ended) return;
    let ack = false;
    let socket = false;
    for (const a of this.#attachments) {
      a.socketMark.update(a.ws.bufferedAmount);
      ack ||= a.window.paused;
      socket ||= a.socketMark.paused;
    }
    this.#apply(this.#gate.set('ack', ack));
    this.#apply(this.#gate.set('socket', socket));
  }

  #apply(t: Transition): void {
    if (t === null || this.#exited) return;
    if (t === 'pause') this.#pty.pause();
    else this.#pty.resume();
  }

  #startGrace(): void {
    if (this.#ended || this.#graceTimer !== undefined) return;
    this.#graceTimer = setTimeout(() => void this.dispose(), this.#opts.graceMs);
    // A lone grace timer must not keep a server process alive that is otherwise done.
    this.#graceTimer.unref();
  }

  #clearGrace(): void {
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
  }
}

function rawDataToText(data: RawData, isBinary: boolean): { ok: true; text: string } | { ok: false; error: string } {
  if (isBinary) return { ok: false, error: 'binary frames are not accepted from the client; send JSON text frames' };
  const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  if (buf.length > MAX_CLIENT_FRAME_BYTES) return { ok: false, error: `frame of ${buf.length} bytes exceeds ${MAX_CLIENT_FRAME_BYTES}` };
  return { ok: true, text: buf.toString('utf8') };
}
