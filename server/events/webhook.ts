// Delivers the event log's statements to --webhook, one at a time and in order, signed with
// HMAC-SHA256 of the body (X-Labrun-Signature: sha256=<hex>). Never in a learner's request: the feed
// only hands over a byte range of the log, and this delivers in the background. A receiver that is
// down, slow or failing is retried with exponential backoff; the position reached is kept in a
// cursor file beside the log, so a restart resumes where delivery stopped and loses nothing.
import { createHmac } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Disposable } from '../lifetime.ts';
import { errorMessage, silentLogger, type Logger } from '../log.ts';
import type { EventLog, LogRange } from './event-log.ts';

export const SIGNATURE_HEADER = 'x-labrun-signature';

enum Delivery {
  /** First retry after a failure; doubled each time. */
  FirstRetryMs = 1000,
  /** Retries never wait longer: a receiver back after an outage gets the backlog within a minute. */
  MaxRetryMs = 60_000,
  /** A receiver that holds a request this long is treated as down (the request is abandoned and retried). */
  TimeoutMs = 10_000,
}

/** `sha256=<hex HMAC-SHA256 of body under secret>`: what a receiver recomputes to trust a body. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Statuses worth retrying: the receiver is unwell or busy. Any other 4xx refuses this statement for good. */
function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export interface WebhookOptions {
  url: string;
  secret: string;
  log: EventLog;
  /** Where the byte offset delivered so far is kept. */
  cursorFile: string;
  logger?: Logger;
  timeoutMs?: number;
}

export class WebhookDelivery implements Disposable {
  readonly #opts: WebhookOptions;
  readonly #queue: LogRange[] = [];
  #sending = false;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #abort = new AbortController();
  #disposed = false;

  constructor(opts: WebhookOptions) {
    this.#opts = opts;
    // Resume after the last delivered statement; a webhook new to this log starts at its end.
    const cursor = this.#readCursor();
    if (cursor === undefined) this.#writeCursor(opts.log.size);
    else this.#queue.push(...opts.log.rangesFrom(cursor));
    this.#pump();
  }

  get #logger(): Logger {
    return this.#opts.logger ?? silentLogger;
  }

  /** Statements waiting to be delivered. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queues a statement the log now holds; returns at once. */
  enqueue(range: LogRange): void {
    this.#queue.push(range);
    this.#pump();
  }

  #readCursor(): number | undefined {
    try {
      const n = Number(readFileSync(this.#opts.cursorFile, 'utf8').trim());
      return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  #writeCursor(offset: number): void {
    const tmp = `${this.#opts.cursorFile}.tmp`;
    writeFileSync(tmp, `${offset}\n`);
    renameSync(tmp, this.#opts.cursorFile);
  }

  #pump(): void {
    if (this.#sending || this.#timer || this.#disposed || this.#queue.length === 0) return;
    this.#sending = true;
    void this.#sendHead().finally(() => {
      this.#sending = false;
      this.#pump();
    });
  }

  async #sendHead(): Promise<void> {
    const range = this.#queue[0];
    if (!range) return;
    const body = this.#opts.log.read(range);
    let outcome: 'delivered' | 'refused' | 'retry';
    let why = '';
    try {
      const res = await fetch(this.#opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature(this.#opts.secret, body), 'user-agent': 'labrun-webhook' },
        body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#opts.timeoutMs ?? Delivery.TimeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      outcome = res.ok ? 'delivered' : retryable(res.status) ? 'retry' : 'refused';
      why = `HTTP ${res.status}`;
    } catch (err) {
      if (this.#disposed) return;
      outcome = 'retry';
      why = errorMessage(err);
    }
    if (outcome === 'retry') {
      this.#failures++;
      const waitMs = Math.min(Delivery.FirstRetryMs * 2 ** (this.#failures - 1), Delivery.MaxRetryMs);
      this.#logger.warn({ webhook: this.#opts.url, err: why, retryInMs: waitMs, pending: this.#queue.length }, 'webhook delivery failed; retrying');
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, waitMs);
      this.#timer.unref();
      return;
    }
    if (outcome === 'refused') this.#logger.warn({ webhook: this.#opts.url, err: why }, 'the webhook refused a statement; skipping it (it stays in the event log)');
    this.#failures = 0;
    this.#queue.shift();
    this.#writeCursor(range.end + 1);
  }

  /** Stops delivering (what is left is delivered after the next start, from the cursor); idempotent. */
  dispose(): void {
    this.#disposed = true;
    this.#abort.abort();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
