// Flow-control arithmetic for one terminal connection, free of I/O: counts pty output bytes sent and
// acknowledged, and decides with hysteresis when the pty must pause (too many unacked bytes) and when
// it may resume. Also combines several independent pause reasons into one pause/resume decision.
import { FlowControl } from '../../shared/protocol.ts';

export type Transition = 'pause' | 'resume' | null;

/** Hysteresis on a level: pause once it rises above `high`, resume once it falls below `low`. */
export class Watermark {
  #paused = false;
  constructor(
    private readonly high: number,
    private readonly low: number,
  ) {
    if (!(low < high)) throw new Error(`watermark: low (${low}) must be below high (${high})`);
  }

  get paused(): boolean {
    return this.#paused;
  }

  update(level: number): Transition {
    if (!this.#paused && level > this.high) {
      this.#paused = true;
      return 'pause';
    }
    if (this.#paused && level < this.low) {
      this.#paused = false;
      return 'resume';
    }
    return null;
  }
}

/** Unacked-byte accounting for one socket (VS Code's AckDataBufferer/flow control, in bytes). */
export class AckWindow {
  #unacked = 0;
  readonly #mark: Watermark;

  constructor(high: number = FlowControl.HIGH_WATERMARK_BYTES, low: number = FlowControl.LOW_WATERMARK_BYTES) {
    this.#mark = new Watermark(high, low);
  }

  get unacked(): number {
    return this.#unacked;
  }

  get paused(): boolean {
    return this.#mark.paused;
  }

  sent(bytes: number): Transition {
    this.#unacked += bytes;
    return this.#mark.update(this.#unacked);
  }

  /** Acks beyond what was sent are clamped: a buggy or lying client cannot build up credit. */
  acked(bytes: number): Transition {
    this.#unacked = Math.max(0, this.#unacked - bytes);
    return this.#mark.update(this.#unacked);
  }
}

/**
 * The pty is paused while any reason holds (a slow client, a full socket buffer, nobody attached).
 * `set` returns the transition of the combined state so the caller calls pty.pause()/resume() once.
 */
export class PauseReasons<R extends string> {
  readonly #active = new Set<R>();

  get paused(): boolean {
    return this.#active.size > 0;
  }

  set(reason: R, on: boolean): Transition {
    const before = this.paused;
    if (on) this.#active.add(reason);
    else this.#active.delete(reason);
    if (before === this.paused) return null;
    return this.paused ? 'pause' : 'resume';
  }
}
