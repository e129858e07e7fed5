// A bounded byte ring holding the newest pty output of a terminal, replayed to a reconnecting client
// so its screen shows what happened while it was away. Pure: no I/O.

export class ScrollbackRing {
  readonly #buf: Buffer;
  #start = 0;
  #length = 0;
  #wrapped = false;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`scrollback capacity must be a positive integer, got ${capacity}`);
    this.#buf = Buffer.alloc(capacity);
  }

  get size(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const cap = this.capacity;
    if (chunk.length >= cap) {
      this.#buf.set(chunk.subarray(chunk.length - cap));
      this.#start = 0;
      this.#length = cap;
      this.#wrapped = true;
      return;
    }
    const end = (this.#start + this.#length) % cap;
    const firstPart = Math.min(chunk.length, cap - end);
    this.#buf.set(chunk.subarray(0, firstPart), end);
    this.#buf.set(chunk.subarray(firstPart), 0);
    const overflow = this.#length + chunk.length - cap;
    if (overflow > 0) {
      this.#start = (this.#start + overflow) % cap;
      this.#length = cap;
      this.#wrapped = true;
    } else {
      this.#length += chunk.length;
    }
  }

  /**
   * The held bytes, oldest first. Once old bytes have been overwritten, leading UTF-8 continuation
   * bytes are dropped so the replay does not start with a broken character.
   */
  snapshot(): Buffer {
    const cap = this.capacity;
    const firstPart = Math.min(this.#length, cap - this.#start);
    const out = Buffer.concat([
      this.#buf.subarray(this.#start, this.#start + firstPart),
      this.#buf.subarray(0, this.#length - firstPart),
    ]);
    if (!this.#wrapped) return out;
    let skip = 0;
    while (skip < out.length && skip < 3 && ((out[skip] ?? 0) & 0xc0) === 0x80) skip++;
    return out.subarray(skip);
  }
}
