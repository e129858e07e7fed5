// WebSocket clients for the web app's integration tests: a terminal client that collects output and
// waits for patterns, and a classroom event-stream client that collects parsed events.
import { WebSocket } from 'ws';
import { parseClassEvent, type ClassEvent } from '../../shared/classroom-events.ts';
import { encodeClientFrame, parseServerControlFrame, type ServerControlFrame } from '../../shared/protocol.ts';

/** Sandbox creation (or a wait for a seat) plus a shell: seconds normally, longer on a loaded two-core machine. */
export const OPEN_TIMEOUT_MS = 180_000;
export const OUTPUT_TIMEOUT_MS = 30_000;

/**
 * Opens a WebSocket; resolves when open, rejects with the HTTP status when the upgrade is refused.
 * `listen` attaches handlers before the socket opens: a server may send in the same packet as the handshake.
 */
function openSocket(url: string, headers: Record<string, string>, listen: (ws: WebSocket) => void = () => {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    listen(ws);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${url} did not open in time`));
    }, OPEN_TIMEOUT_MS);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new UpgradeRefused(res.statusCode ?? 0));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused: ${status}`);
  }
}

/** The HTTP status an upgrade was refused with, or 101 when it opened (the socket is closed again). */
export async function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  try {
    const ws = await openSocket(url, headers);
    ws.close();
    return 101;
  } catch (err) {
    if (err instanceof UpgradeRefused) return err.status;
    throw err;
  }
}

class Waitable {
  private waiters: (() => void)[] = [];

  protected changed(): void {
    for (const w of this.waiters) w();
  }

  protected until(ok: () => boolean, describe: () => string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(describe()));
      }, timeoutMs);
      // `ok` may throw to give up early (e.g. the pool reported it stopped): that rejects the wait.
      const check = (): void => {
        let done: boolean;
        try {
          done = ok();
        } catch (err) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (done) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve();
        }
      };
      this.waiters.push(check);
      check();
    });
  }
}

export class TermClient extends Waitable {
  output = '';
  controls: ServerControlFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data, isBinary) => {
      if (isBinary && Buffer.isBuffer(data)) this.output += data.toString('utf8');
      else {
        const parsed = parseServerControlFrame(String(data));
        if (parsed.ok) this.controls.push(parsed.frame);
      }
      this.changed();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string, headers: Record<string, string>): Promise<TermClient> {
    let client: TermClient | undefined;
    await openSocket(url, headers, (ws) => (client = new TermClient(ws)));
    if (!client) throw new Error('unreachable');
    return client;
  }

  type(text: string): void {
    this.ws.send(encodeClientFrame({ type: 'input', data: text }));
  }

  waitFor(pattern: RegExp, timeoutMs = OUTPUT_TIMEOUT_MS): Promise<void> {
    return this.until(() => pattern.test(this.output), () => `no ${pattern} in terminal output:\n${this.output.slice(-2000)}`, timeoutMs);
  }

  async close(): Promise<void> {
    this.ws.close();
    await this.closed;
  }
}

export class EventsClient extends Waitable {
  readonly events: ClassEvent[] = [];

  private constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data) => {
      const e = parseClassEvent(String(data));
      if (e) {
        this.events.push(e);
        this.changed();
      }
    });
  }

  static async open(url: string, headers: Record<string, string>): Promise<EventsClient> {
    let client: EventsClient | undefined;
    await openSocket(url, headers, (ws) => (client = new EventsClient(ws)));
    if (!client) throw new Error('unreachable');
    return client;
  }

  waitFor(what: string, ok: (events: ClassEvent[]) => boolean, timeoutMs = OUTPUT_TIMEOUT_MS): Promise<void> {
    return this.until(() => ok(this.events), () => `events never showed ${what}; last ones:\n${this.events.slice(-10).map((e) => JSON.stringify(e)).join('\n')}`, timeoutMs);
  }

  close(): void {
    this.ws.close();
  }
}
