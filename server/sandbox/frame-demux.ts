// Docker's multiplexed stream (a non-TTY exec's or log's output): frames of an 8-byte header (stream:
// 0 stdin, 1 stdout, 2 stderr; three zero bytes; payload length, 4 bytes big-endian) and the payload.
// Why not the engine client's own demuxer: it copies everything after each frame into a new buffer,
// byte by byte, so a socket read holding many small frames cost time quadratic in their number; under
// terminal output that copying made most of the server's garbage (bench/terminal.ts, profiled: GC
// 1.7 s, 0.5 s without it). Here payloads are views of the socket's own buffers, and a read's stdout pieces go out
// as one chunk, so a terminal sees one chunk per read however the relay's writes were framed.
import type { Readable } from 'node:stream';

type Sink = (chunk: Buffer) => void;

const HEADER_BYTES = 8;

export class FrameDemux {
  readonly #onStdout: Sink;
  readonly #onStderr: Sink;
  readonly #header = Buffer.alloc(HEADER_BYTES);
  #headerHave = 0;
  #stream = 1;
  /** Payload bytes of the current frame still to come; 0 while a header is being read. */
  #left = 0;
  /** A header that is not Docker's: the stream was not multiplexed after all; pass it on as stdout. */
  #raw = false;
  /** Stdout payloads of the read being split, sent on as one chunk. */
  readonly #stdout: Buffer[] = [];

  constructor(onStdout: Sink, onStderr: Sink) {
    this.#onStdout = onStdout;
    this.#onStderr = onStderr;
  }

  push(chunk: Buffer): void {
    if (this.#raw) {
      if (chunk.length > 0) this.#onStdout(chunk);
      return;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.#left === 0) {
        const n = Math.min(HEADER_BYTES - this.#headerHave, chunk.length - at);
        chunk.copy(this.#header, this.#headerHave, at, at + n);
        this.#headerHave += n;
        at += n;
        if (this.#headerHave < HEADER_BYTES) break;
        this.#headerHave = 0;
        const h = this.#header;
        if ((h[0] as number) > 2 || h[1] !== 0 || h[2] !== 0 || h[3] !== 0) {
          this.#raw = true;
          this.#stdout.push(Buffer.from(h), chunk.subarray(at));
          break;
        }
        this.#stream = h[0] as number;
        this.#left = h.readUInt32BE(4);
        continue;
      }
      const n = Math.min(this.#left, chunk.length - at);
      const payload = chunk.subarray(at, at + n);
      at += n;
      this.#left -= n;
      if (this.#stream === 2) {
        this.#flushStdout();
        this.#onStderr(payload);
      } else this.#stdout.push(payload);
    }
    this.#flushStdout();
  }

  #flushStdout(): void {
    const pieces = this.#stdout;
    if (pieces.length === 0) return;
    const out = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
    pieces.length = 0;
    this.#onStdout(out);
  }
}

/** Splits a live multiplexed stream into its stdout and stderr as it is read. */
export function demuxStream(stream: Readable, onStdout: Sink, onStderr: Sink): void {
  const demux = new FrameDemux(onStdout, onStderr);
  stream.on('data', (chunk: Buffer) => demux.push(chunk));
}

/** Splits a whole multiplexed payload (a log read, say) into text; a torn last frame is kept as far as it goes. */
export function demuxFrames(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  new FrameDemux(
    (c) => out.push(c),
    (c) => err.push(c),
  ).push(buf);
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
