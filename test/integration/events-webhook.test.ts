// The webhook's delivery queue against a real HTTP receiver on loopback, without sandboxes: what was
// not delivered when labrun stopped is delivered after the next start (the cursor beside the log),
// in order and once; a receiver's 4xx refuses one statement without blocking the rest; a webhook new
// to an existing log starts at its end.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { EventLog } from '../../server/events/event-log.ts';
import { WebhookDelivery } from '../../server/events/webhook.ts';

const SECRET = 'webhook-secret-0123456789';
const WAIT_MS = 20_000;

/** A receiver answering each body with the status `answer` picks; records what it answered 2xx. */
async function receiver(t: TestContext, answer: (body: string) => number): Promise<{ url: string; got: string[]; seen: string[]; until(n: number): Promise<void> }> {
  const got: string[] = [];
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push(body);
      const status = answer(body);
      if (status < 300) got.push(body);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`;
  const until = async (n: number): Promise<void> => {
    const deadline = Date.now() + WAIT_MS;
    while (got.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${got.length} of ${n} delivered; seen: ${seen.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { url, got, seen, until };
}

function tempLog(t: TestContext): { file: string; log: EventLog } {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrhook-'));
  const file = path.join(dir, 'events.jsonl');
  const log = new EventLog(file);
  t.after(() => {
    log.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  return { file, log };
}

test('statements not delivered before a stop are delivered after the next start, in order, once', async (t) => {
  const { file, log } = tempLog(t);
  let up = false;
  const r = await receiver(t, () => (up ? 200 : 503));
  const first = new WebhookDelivery({ url: r.url, secret: SECRET, log, cursorFile: `${file}.webhook-cursor` });
  first.enqueue(log.append({ n: 1 }));
  await r.until(0);
  // Delivered while up; then down for the next two, and the server stops with them pending.
  up = true;
  await r.until(1);
  up = false;
  first.enqueue(log.append({ n: 2 }));
  first.enqueue(log.append({ n: 3 }));
  while (r.seen.length < 2) await new Promise((res) => setTimeout(res, 20));
  assert.equal(first.pending, 2);
  first.dispose();
  log.append({ n: 4 }); // written while no webhook ran (another process, or the gap before it starts)

  up = true;
  const second = new WebhookDelivery({ url: r.url, secret: SECRET, log, cursorFile: `${file}.webhook-cursor` });
  t.after(() => second.dispose());
  await r.until(4);
  assert.deepEqual(r.got, ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
});

test('a 4xx refuses one statement for good and the rest go on; a 5xx is retried', async (t) => {
  const { file, log } = tempLog(t);
  let failures = 0;
  const r = await receiver(t, (body) => {
    if (body === '{"n":"bad"}') return 400;
    if (body === '{"n":"flaky"}' && failures++ < 1) return 502;
    return 204;
  });
  const hook = new WebhookDelivery({ url: r.url, secret: SECRET, log, cursorFile: `${file}.webhook-cursor` });
  t.after(() => hook.dispose());
  for (const n of ['a', 'bad', 'flaky', 'b']) hook.enqueue(log.append({ n }));
  await r.until(3);
  assert.deepEqual(r.got, ['{"n":"a"}', '{"n":"flaky"}', '{"n":"b"}']);
  assert.deepEqual(r.seen, ['{"n":"a"}', '{"n":"bad"}', '{"n":"flaky"}', '{"n":"flaky"}', '{"n":"b"}']);
});

test('a webhook new to an existing log starts at its end', async (t) => {
  const { file, log } = tempLog(t);
  log.append({ n: 'old' });
  const r = await receiver(t, () => 200);
  const hook = new WebhookDelivery({ url: r.url, secret: SECRET, log, cursorFile: `${file}.webhook-cursor` });
  t.after(() => hook.dispose());
  hook.enqueue(log.append({ n: 'new' }));
  await r.until(1);
  assert.deepEqual(r.seen, ['{"n":"new"}']);
});
