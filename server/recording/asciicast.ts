// The asciicast v2 format (one JSON header line, then one `[time, code, data]` line per event) and a
// writer for one terminal's recording: output ("o") as it reached the pty's reader, input ("i")
// optionally, size changes ("r", "COLSxROWS") and markers ("m") for the lab step the learner is on.
// Bytes are decoded as UTF-8 across chunk boundaries, so a character split between two reads is
// written whole. The parser is the check a test (and a download) can run on a file.
import { createWriteStream, type WriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';

export const AsciicastHeader = z.object({
  version: z.literal(2),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  timestamp: z.number().int().optional(),
  title: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
});
export type AsciicastHeader = z.infer<typeof AsciicastHeader>;

export const AsciicastEvent = z.tuple([z.number().nonnegative(), z.enum(['o', 'i', 'r', 'm']), z.string()]);
export type AsciicastEvent = z.infer<typeof AsciicastEvent>;

/** A parsed recording, or the first line that is not asciicast v2 and why. */
export function parseAsciicast(text: string): { ok: true; header: AsciicastHeader; events: AsciicastEvent[] } | { ok: false; line: number; error: string } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const parse = (i: number): unknown => JSON.parse(lines[i] ?? '');
  let header: AsciicastHeader;
  try {
    const h = AsciicastHeader.safeParse(parse(0));
    if (!h.success) return { ok: false, line: 1, error: `header: ${h.error.issues[0]?.path.join('.') ?? ''} ${h.error.issues[0]?.message ?? ''}` };
    header = h.data;
  } catch (err) {
    return { ok: false, line: 1, error: `header is not JSON: ${String(err)}` };
  }
  const events: AsciicastEvent[] = [];
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    let raw: unknown;
    try {
      raw = parse(i);
    } catch (err) {
      return { ok: false, line: i + 1, error: `not JSON: ${String(err)}` };
    }
    const e = AsciicastEvent.safeParse(raw);
    if (!e.success) return { ok: false, line: i + 1, error: `not an event [time, code, data]: ${e.error.issues[0]?.message ?? ''}` };
    if (e.data[0] < last) return { ok: false, line: i + 1, error: `time goes backwards (${e.data[0]} after ${last})` };
    last = e.data[0];
    events.push(e.data);
  }
  return { ok: true, header, events };
}

/** The text a recording's output events write, in order (what a player or `asciinema cat` shows). */
export function outputText(events: readonly AsciicastEvent[]): string {
  return events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
}

export interface CastWriterOptions {
  path: string;
  cols: number;
  rows: number;
  title?: string;
  /** Record keystrokes too ("i" events); off by default — passwords are typed into terminals. */
  input?: boolean;
  /** Clock in ms (tests inject one). */
  now?: () => number;
}

/** Writes one asciicast v2 file; the file is created on construction. `close()` is idempotent. */
export class CastWriter {
  readonly #out: WriteStream;
  readonly #decoder = new StringDecoder('utf8');
  readonly #started: number;
  readonly #now: () => number;
  readonly #input: boolean;
  #closed: Promise<void> | undefined;
  #bytes = 0;
  /** Lines not yet handed to the file: one write per burst, not per pty read (fast output is many reads). */
  #pending: string[] = [];
  #flushScheduled = false;

  constructor(opts: CastWriterOptions) {
    this.#now = opts.now ?? Date.now;
    this.#started = this.#now();
    this.#input = opts.input ?? false;
    this.#out = createWriteStream(opts.path, { flags: 'wx', mode: 0o600 });
    // An error (disk full) ends this recording; the terminal it records goes on regardless.
    this.#out.on('error', () => void this.close());
    const header: AsciicastHeader = {
      version: 2,
      width: Math.max(1, Math.floor(opts.cols)),
      height: Math.max(1, Math.floor(opts.rows)),
      timestamp: Math.floor(this.#started / 1000),
      ...(opts.title !== undefined && { title: opts.title }),
      env: { TERM: 'xterm-256color', SHELL: '/bin/bash' },
    };
    this.#line(header);
  }

  get bytes(): number {
    return this.#bytes;
  }

  #line(value: unknown): void {
    if (this.#closed) return;
    const text = `${JSON.stringify(value)}\n`;
    this.#bytes += text.length;
    this.#pending.push(text);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#pending.length === 0 || this.#out.destroyed) return;
    this.#out.write(this.#pending.join(''));
    this.#pending = [];
  }

  #event(code: AsciicastEvent[1], data: string): void {
    // Microseconds are what asciinema itself writes; finer would only grow the file.
    const t = Math.round(this.#now() - this.#started) / 1000;
    this.#line([t, code, data]);
  }

  output(chunk: Buffer): void {
    const text = this.#decoder.write(chunk);
    if (text) this.#event('o', text);
  }

  input(data: string): void {
    if (this.#input) this.#event('i', data);
  }

  resize(cols: number, rows: number): void {
    this.#event('r', `${Math.max(1, Math.floor(cols))}x${Math.max(1, Math.floor(rows))}`);
  }

  marker(label: string): void {
    this.#event('m', label);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      const rest = this.#decoder.end();
      if (rest) this.#event('o', rest);
      this.#flush();
      this.#closed = new Promise((resolve) => this.#out.end(resolve));
    }
    return this.#closed;
  }
}
