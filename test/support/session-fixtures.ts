// Docker-free building blocks for session tests: a lab made in memory, a temporary store, a sink
// that records session notices and board events, and a real WebSocket pair over loopback.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import type { LearnerEvent } from '../../shared/classroom-events.ts';
import type { Lab, Step } from '../../server/labs/catalog.ts';
import type { SessionEventSink, SessionNotice } from '../../server/session/learner-sessions.ts';
import { Store } from '../../server/store/store.ts';

/** A lab of `n` steps; step i has setup `setup-i` and solve `solve-i`. */
export function makeLab(n: number, id = 'fake-lab'): Lab {
  const steps: Step[] = Array.from({ length: n }, (_, i) => ({
    id: `step-${i + 1}`,
    index: i,
    title: `Step ${i + 1}`,
    html: '',
    setup: `setup-${i + 1}`,
    solve: `solve-${i + 1}`,
    hints: [],
    questions: [],
    checks: [],
    file: `/labs/${id}/steps/0${i + 1}.md`,
  }));
  return { id, title: 'Fake lab', summary: '', minutes: 5, dir: `/labs/${id}`, workspace: 'fake', images: [], egress: false, composeFiles: [], services: [], steps };
}

export function tempStore(t: TestContext): Store {
  const dir = mkdtempSync(path.join(tmpdir(), 'labrun-session-'));
  const store = new Store(dir);
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

export class RecordingSink implements SessionEventSink {
  readonly notices: SessionNotice[] = [];
  readonly board: LearnerEvent[] = [];
  notice(e: SessionNotice): void {
    this.notices.push(e);
  }
  learner(e: LearnerEvent): void {
    this.board.push(e);
  }
  kinds(learnerId: string): string[] {
    return this.notices.filter((n) => n.learnerId === learnerId).map((n) => n.kind);
  }
}

/** The browser's end of a socket: what it received and how it was closed. */
export interface ClientEnd {
  ws: WebSocket;
  frames: string[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a WebSocket over loopback; resolves with the server's end and the client's. */
export async function wsPair(t: TestContext): Promise<{ server: WebSocket; client: ClientEnd }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise((resolve) => wss.close(resolve));
    await new Promise((resolve) => http.close(resolve));
  });
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const ws = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  const frames: string[] = [];
  ws.on('message', (data, isBinary) => frames.push(isBinary ? `<${String(data)}>` : String(data)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { server: await serverSide, client: { ws, frames, closed } };
}

/** Waits until `cond` holds (polling), or fails after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
