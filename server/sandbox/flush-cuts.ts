// Where in a relay's output the pty's queue was flushed (pty-relay.pl's flush marks), as exact cut
// points. A mark names an output offset and comes on stderr, which the engine copies separately from
// stdout: it may arrive before the bytes up to its offset or after bytes beyond it, so the cut is
// placed by counting, never by arrival. Pure; ExecTerminal feeds it.

/** A flush mark as the relay writes it, one line on stderr. */
export const FLUSH_MARK = /^\0flush (\d+)$/;

/** What output does next: pass bytes on, or cut (what was passed on before may go, except its last `keep` bytes). */
export type CutEvent = { type: 'data'; data: Buffer } | { type: 'cut'; keep: number };

export class FlushCuts {
  /** Output bytes taken in so far, dropped ones included: the relay's own count. */
  #received = 0;
  /** A mark whose offset the output has not reached yet: bytes up to it are older than the flush. */
  #cutAt: number | undefined;

  /** Output from the relay: bytes older than a pending cut are dropped, as the kernel dropped their peers. */
  output(chunk: Buffer): CutEvent[] {
    const cutAt = this.#cutAt;
    if (cutAt === undefined) {
      this.#received += chunk.length;
      return [{ type: 'data', data: chunk }];
    }
    const stale = Math.min(chunk.length, cutAt - this.#received);
    this.#received += chunk.length;
    if (this.#received < cutAt) return [];
    this.#cutAt = undefined;
    const rest = chunk.subarray(stale);
    return rest.length > 0 ? [{ type: 'cut', keep: 0 }, { type: 'data', data: rest }] : [{ type: 'cut', keep: 0 }];
  }

  /** A flush mark at output offset `offset`; a cut now if the output has reached it. */
  mark(offset: number): CutEvent[] {
    if (offset > this.#received) {
      this.#cutAt = Math.max(this.#cutAt ?? 0, offset);
      return [];
    }
    // Already past it: the bytes beyond the offset are newer than the flush and stay.
    return [{ type: 'cut', keep: this.#received - offset }];
  }
}
