// Coalesces pty output into fewer, larger WebSocket frames: chunks are held for a few milliseconds and
// sent together, except right after a keystroke, when output (the echo) is sent at once so typing
// stays snappy. Pure apart from one timer; the clock and timers are injectable for tests.

/**
 * Holding output this long merges the many small (~4 kB) pty reads of a busy command into one frame;
 * 2 ms (wetty's value) did better than 5 ms in bench/terminal.ts, as the first read after a
 * flow-control resume waits for it.
 */
export const BATCH_DELAY_MS = 2;
/**
 * While a command streams (the previous frame was big and went out moments ago), hold output this
 * long instead, so frames grow: `seq 1 300000` took ~110 frames and ~60 acks instead of ~145 and
 * ~105, and each frame costs the page an event, a write and an ack. Measured in headless Chromium,
 * medians of interleaved runs: a fixed 8 ms alone, 700 ms against 756 ms (7 runs); with the 384/256 kB
 * watermarks, 619 ms against 738 ms, wetty 649 ms (9 runs). Interactive output never waits this long:
 * an echo is sent at once, and the first chunk after a quiet moment gets BATCH_DELAY_MS.
 */
export const STREAM_DELAY_MS = 8;
/** A flush at least this big, no longer than STREAM_DELAY_MS before the next chunk, marks a stream. */
export const STREAM_MIN_BYTES = 8 * 1024;
/** Output this soon after a keystroke is its echo (or the command's first reply): send it immediately. */
export const ECHO_WINDOW_MS = 30;
/** Past this many pending bytes a frame is big enough; send it without waiting for the timer. */
export const MAX_BATCH_BYTES = 64 * 1024;

export interface OutputBatcherOptions {
  flush: (chunk: Buffer) => void;
  delayMs?: number;
  streamDelayMs?: number;
  echoWindowMs?: number;
  maxBatchBytes?: number;
  now?: () => number;
}

export class OutputBatcher {
  readonly #flush: (chunk: Buffer) => void;
  readonly #delayMs: number;
  readonly #streamDelayMs: number;
  readonly #echoWindowMs: number;
  readonly #maxBatchBytes: number;
  readonly #now: () => number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastInputAt = Number.NEGATIVE_INFINITY;
  #lastBigFlushAt = Number.NEGATIVE_INFINITY;
  #disposed = false;

  constructor(opts: OutputBatcherOptions) {
    this.#flush = opts.flush;
    this.#delayMs = opts.delayMs ?? BATCH_DELAY_MS;
    this.#streamDelayMs = opts.streamDelayMs ?? STREAM_DELAY_MS;
    this.#echoWindowMs = opts.echoWindowMs ?? ECHO_WINDOW_MS;
    this.#maxBatchBytes = opts.maxBatchBytes ?? MAX_BATCH_BYTES;
    this.#now = opts.now ?? Date.now;
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Call when the user typed: output in the next ECHO_WINDOW_MS goes out without delay. */
  noteInput(): void {
    this.#lastInputAt = this.#now();
  }

  push(chunk: Buffer): void {
    if (this.#disposed || chunk.length === 0) return;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const now = this.#now();
    const isEcho = now - this.#lastInputAt <= this.#echoWindowMs;
    if (isEcho || this.#pendingBytes >= this.#maxBatchBytes) {
      this.flush();
    } else if (this.#timer === undefined) {
      const streaming = now - this.#lastBigFlushAt <= this.#streamDelayMs;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, streaming ? this.#streamDelayMs : this.#delayMs);
    }
  }

  /** Sends whatever is pending now (also used to drain before an exit frame). */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pendingBytes === 0) return;
    const [first] = this.#pending;
    const chunk = this.#pending.length === 1 && first ? first : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    if (chunk.length >= STREAM_MIN_BYTES) this.#lastBigFlushAt = this.#now();
    this.#flush(chunk);
  }

  /**
   * The tty flushed: drops pending output except its last `keep` bytes (newer than the flush).
   * Returns how many of those `keep` bytes were not pending any more, because they went out already.
   */
  discardStale(keep: number): number {
    if (keep >= this.#pendingBytes) return keep - this.#pendingBytes;
    const fresh = keep === 0 ? [] : [Buffer.concat(this.#pending, this.#pendingBytes).subarray(this.#pendingBytes - keep)];
    this.#pending = fresh;
    this.#pendingBytes = keep;
    if (keep === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    return 0;
  }

  /** Drops pending output and the timer; idempotent. */
  dispose(): void {
    this.#disposed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}
