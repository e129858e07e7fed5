// Output on its way into xterm.js, handed over one chunk at a time: xterm asks for the next one from
// its write callback, inside the same parsing pass, so this costs it no idle time. What waits here
// rather than inside xterm can still be dropped when the shell's tty flushes (the server's `flush`
// frame after Ctrl-C under a flood), which is what brings the prompt back promptly.

/** The part of xterm's Terminal this needs. */
export interface TerminalWriter {
  write(data: string | Uint8Array, callback?: () => void): void;
}

interface Entry {
  data: string | Uint8Array;
  /** Called with the bytes of output this entry held once they are drawn or dropped; absent for messages. */
  done?: (bytes: number) => void;
}

/** Cancels an escape sequence cut short (VT CAN): what follows a drop starts from a clean parser state. */
const CANCEL = '\x18';

export class WriteQueue {
  readonly #term: TerminalWriter;
  #waiting: Entry[] = [];
  /** Whether xterm holds an entry it has not called back for yet. */
  #busy = false;

  constructor(term: TerminalWriter) {
    this.#term = term;
  }

  /** Output bytes for the screen; `done` hears how many bytes were drawn or dropped. */
  output(data: Uint8Array, done: (bytes: number) => void): void {
    this.#push({ data, done });
  }

  /** Text of our own (a notice): never dropped, and drawn in order with the output around it. */
  message(text: string): void {
    this.#push({ data: text });
  }

  /**
   * Drops the output still waiting except its last `keep` bytes; messages stay. Returns the bytes dropped.
   */
  dropStale(keep: number): number {
    let keepLeft = keep;
    let dropped = 0;
    const kept: Entry[] = [];
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const e = this.#waiting[i] as Entry;
      if (typeof e.data === 'string') {
        kept.unshift(e);
        continue;
      }
      const len = e.data.length;
      if (keepLeft >= len) {
        keepLeft -= len;
        kept.unshift(e);
        continue;
      }
      const stale = len - keepLeft;
      e.done?.(stale);
      dropped += stale;
      if (keepLeft > 0) kept.unshift({ data: e.data.subarray(stale), done: e.done });
      keepLeft = 0;
    }
    if (dropped > 0) kept.unshift({ data: CANCEL });
    this.#waiting = kept;
    return dropped;
  }

  /** Forgets everything waiting without calling back (a new connection's replay starts afresh). */
  clear(): void {
    this.#waiting = [];
  }

  #push(e: Entry): void {
    this.#waiting.push(e);
    if (!this.#busy) this.#next();
  }

  #next(): void {
    const e = this.#waiting.shift();
    if (!e) {
      this.#busy = false;
      return;
    }
    this.#busy = true;
    const bytes = typeof e.data === 'string' ? 0 : e.data.length;
    this.#term.write(e.data, () => {
      e.done?.(bytes);
      this.#next();
    });
  }
}
