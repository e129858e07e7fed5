// Collects one output stream of a command up to a byte cap, remembering whether anything was dropped.
import { Writable } from 'node:stream';

export class CappedCollector extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly capBytes: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const room = this.capBytes - this.size;
    if (chunk.length > room) {
      this.truncated = true;
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.size = this.capBytes;
    } else {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    callback();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Splits a non-TTY Docker log or exec payload (8-byte frame headers: stream, 0, 0, 0, big-endian length)
 * into stdout and stderr text. A partial trailing frame is kept as far as it goes.
 */
export function demuxDockerFrames(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const stream = buf[at];
    const len = buf.readUInt32BE(at + 4);
    const payload = buf.subarray(at + 8, Math.min(at + 8 + len, buf.length));
    (stream === 2 ? err : out).push(payload);
    at += 8 + len;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** The last `n` non-empty lines of a text, for error messages. */
export function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-n)
    .join('\n');
}
