// The append-only JSON-lines log of xAPI statements (<data>/events.jsonl or --event-log): one
// statement per line, written synchronously before the webhook is told, so it is the source of truth
// the webhook delivers from (by byte range) and an LRS or a spreadsheet can be fed from later.
import { appendFileSync, closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Disposable } from '../lifetime.ts';

/** Where one line sits in the file: [start, end) bytes, the newline excluded. */
export interface LogRange {
  start: number;
  end: number;
}

export class EventLog implements Disposable {
  #size: number;
  #readFd: number | undefined;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    appendFileSync(file, '');
    this.#size = statSync(file).size;
  }

  /** Bytes in the log now. */
  get size(): number {
    return this.#size;
  }

  /** Appends one record as a line; returns where it is. */
  append(record: unknown): LogRange {
    const line = `${JSON.stringify(record)}\n`;
    appendFileSync(this.file, line);
    const start = this.#size;
    this.#size += Buffer.byteLength(line);
    return { start, end: this.#size - 1 };
  }

  /** The text of one line. */
  read(range: LogRange): string {
    this.#readFd ??= openSync(this.file, 'r');
    const buf = Buffer.alloc(range.end - range.start);
    readSync(this.#readFd, buf, 0, buf.length, range.start);
    return buf.toString('utf8');
  }

  /** Every complete line from byte `from` on (a restarted webhook's backlog). */
  rangesFrom(from: number): LogRange[] {
    if (from >= this.#size) return [];
    const text = this.read({ start: from, end: this.#size });
    const out: LogRange[] = [];
    let at = from;
    for (const line of text.split('\n')) {
      const bytes = Buffer.byteLength(line);
      // The last piece is after the final newline: empty, or a line being written by another process.
      if (at + bytes < this.#size && line !== '') out.push({ start: at, end: at + bytes });
      at += bytes + 1;
    }
    return out;
  }

  dispose(): void {
    if (this.#readFd !== undefined) closeSync(this.#readFd);
    this.#readFd = undefined;
  }
}
