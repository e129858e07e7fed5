// The event feed with a real sandbox and a local webhook receiver: a learner's run through the
// fixture lab's two steps arrives as signed xAPI statements, every one, in order, the same as the
// JSON-lines log; the counters in /metrics move with the checks; and while the receiver hangs or is
// down the learner's checks still answer, and the statements arrive once it is back.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { requireDocker } from '../support/require.ts';
import { OPEN_TIMEOUT_MS, TermClient } from './http-clients.ts';
import { call, field, makeFixture, signIn, startServer } from './http-fixture.ts';

const SECRET = 'webhook-secret-0123456789';
const METRICS_TOKEN = 'metrics-token-0123456789';
const ARRIVAL_TIMEOUT_MS = 60_000;

const Statement = z.object({
  id: z.uuid(),
  actor: z.object({ name: z.string(), account: z.object({ homePage: z.string(), name: z.string() }) }),
  verb: z.object({ id: z.string(), display: z.object({ 'en-US': z.string() }) }),
  object: z.object({ id: z.string() }),
  result: z.object({ success: z.boolean().optional(), completion: z.boolean().optional(), duration: z.string().optional(), extensions: z.record(z.string(), z.unknown()).optional() }).optional(),
  timestamp: z.iso.datetime(),
});

/** A webhook receiver that records what it acknowledges; `hang` holds requests without answering. */
class Receiver {
  readonly received: { body: string; signature: string }[] = [];
  readonly held: ServerResponse[] = [];
  mode: 'ok' | 'hang' = 'ok';
  #server: Server | undefined;
  #waiters: (() => void)[] = [];
  port = 0;

  async start(port = 0): Promise<void> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.mode === 'hang') {
          this.held.push(res);
        } else {
          this.received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['x-labrun-signature'] ?? '') });
          res.writeHead(200).end();
        }
        for (const w of this.#waiters) w();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    this.#server = server;
  }

  /** Down: the held requests' connections drop and nothing listens. */
  async stop(): Promise<void> {
    for (const res of this.held.splice(0)) res.socket?.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  until(what: string, ok: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the receiver never saw ${what}; it has ${this.received.length} statements, ${this.held.length} held`)), ARRIVAL_TIMEOUT_MS);
      const check = (): void => {
        if (!ok()) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== check);
        resolve();
      };
      this.#waiters.push(check);
      check();
    });
  }
}

function checksTotal(text: string, step: string, result: string): number {
  const m = new RegExp(`^labrun_checks_total\\{[^}]*step="${step}",result="${result}"\\} (\\d+)$`, 'm').exec(text);
  return Number(m?.[1] ?? 0);
}

test('the event feed: a learner\'s two steps as signed xAPI statements, in order; a hanging or absent receiver never slows a check', async (t) => {
  if (!requireDocker(t)) return;
  const receiver = new Receiver();
  await receiver.start();
  t.after(() => receiver.stop());
  const fx = makeFixture(t, ['--webhook', `http://127.0.0.1:${receiver.port}/xapi/statements`, '--webhook-secret', SECRET, '--metrics-token', METRICS_TOKEN]);
  const server = await startServer(t, fx, { reapSandboxes: true });
  const { url } = server;
  const metrics = async (): Promise<string> => (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const owner = await signIn(url);
  const created = await call(url, owner, 'POST', '/api/classes', { labId: fx.labId, name: 'Feed class' });
  const classId = field(created.body, 'id');
  const joined = await call(url, undefined, 'POST', `/api/join/${field(created.body, 'joinCode')}`, { name: 'Ada' });
  assert.equal(joined.status, 201);
  const learnerId = field(joined.body, 'learnerId');
  const cookie = (joined.setCookie ?? '').split(';')[0] ?? '';
  const term = await TermClient.open(`${url.replace('http', 'ws')}/ws/terminal?lab=${fx.labId}`, { Origin: url, Cookie: cookie });
  t.after(() => term.close());
  const open = async (stepId: string): Promise<void> => assert.equal((await call(url, cookie, 'PUT', `/api/labs/${fx.labId}/progress`, { currentStep: stepId })).status, 200);
  const check = async (stepId: string, passed: boolean): Promise<void> => {
    const res = await call(url, cookie, 'POST', `/api/labs/${fx.labId}/steps/${stepId}/check`, stepId === 'where' ? { answers: { folder: '/root/webfix' } } : {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(Reflect.get(Object(res.body), 'passed'), passed, JSON.stringify(res.body).slice(0, 1000));
  };

  const metricsBefore = await metrics();
  const expected: [string, string][] = [];
  await t.test('a run through both steps arrives in order, signed, the same as the log', async () => {
    expected.push(['initialized', `/labs/${fx.labId}`]);
    await open('hello');
    expected.push(['attempted', '/steps/hello']);
    await check('hello', false);
    expected.push(['failed', '/steps/hello']);
    term.type('echo hello > greeting.txt && echo wrote-$((40+2))\r');
    await term.waitFor(/wrote-42/, OPEN_TIMEOUT_MS);
    await check('hello', true);
    expected.push(['passed', '/steps/hello'], ['completed', '/steps/hello']);
    await open('where');
    expected.push(['attempted', '/steps/where']);
    await check('where', true);
    expected.push(['passed', '/steps/where'], ['completed', '/steps/where']);

    await receiver.until(`${expected.length} statements`, () => receiver.received.length >= expected.length);
    const statements = receiver.received.map((r) => {
      assert.equal(r.signature, `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`, 'a valid signature over the raw body');
      return Statement.parse(JSON.parse(r.body));
    });
    assert.deepEqual(statements.map((s) => s.verb.display['en-US']), expected.map(([verb]) => verb));
    statements.forEach((s, i) => {
      assert.equal(s.verb.id, `http://adlnet.gov/expapi/verbs/${expected[i]?.[0]}`);
      assert.ok(s.object.id.startsWith(`${url}/labs/${fx.labId}`) && s.object.id.endsWith(expected[i]?.[1] ?? '?'), s.object.id);
      assert.deepEqual(s.actor.account, { homePage: url, name: learnerId });
      assert.equal(s.actor.name, 'Ada');
    });
    const failed = statements[2];
    assert.equal(failed?.result?.success, false);
    assert.deepEqual(failed?.result?.extensions?.[`${url}/xapi/extensions/checks`], [{ name: 'greeting.txt says hello', passed: false }]);
    assert.match(failed?.result?.duration ?? '', /^PT[\d.]+S$/);
    assert.equal(statements[4]?.result?.completion, true);
    assert.match(statements[4]?.result?.duration ?? '', /^PT(\d+M)?[\d.]+S$/, 'time on the step');
    assert.equal(new Set(statements.map((s) => s.id)).size, statements.length, 'distinct ids');
    const logged = readFileSync(path.join(fx.dataDir, 'events.jsonl'), 'utf8').trim().split('\n');
    assert.deepEqual(receiver.received.map((r) => r.body), logged, 'the webhook carries exactly the log');
  });

  await t.test('/metrics: the checks moved the counters', async () => {
    const after = await metrics();
    assert.equal(checksTotal(after, 'hello', 'failed') - checksTotal(metricsBefore, 'hello', 'failed'), 1);
    assert.equal(checksTotal(after, 'hello', 'passed') - checksTotal(metricsBefore, 'hello', 'passed'), 1);
    assert.equal(checksTotal(after, 'where', 'passed') - checksTotal(metricsBefore, 'where', 'passed'), 1);
  });

  await t.test('while the receiver hangs, then is down, checks answer; the statements arrive once it is back', async () => {
    const delivered = receiver.received.length;
    receiver.mode = 'hang';
    await check('where', true);
    // The webhook now waits on the receiver, which does not answer…
    await receiver.until('a held request', () => receiver.held.length === 1);
    // …and the learner's checks answer meanwhile, each adding statements behind the held one.
    await check('where', true);
    await check('hello', true);
    assert.equal(receiver.held.length, 1, 'one statement at a time, still held');
    assert.equal(receiver.received.length, delivered, 'nothing acknowledged while the receiver hangs');
    // Down: the held connection drops, nothing listens; a check still answers.
    const port = receiver.port;
    await receiver.stop();
    await check('where', true);
    // Back on the same address: everything arrives, in order, without gaps or repeats.
    receiver.mode = 'ok';
    await receiver.start(port);
    assert.equal((await call(url, owner, 'POST', `/api/classes/${classId}/learners/${learnerId}/end`, {})).status, 200);
    const logged = (): string[] => readFileSync(path.join(fx.dataDir, 'events.jsonl'), 'utf8').trim().split('\n');
    await receiver.until('every logged statement', () => receiver.received.length >= logged().length && logged().at(-1)?.includes('/verbs/terminated') === true);
    assert.deepEqual(receiver.received.map((r) => r.body), logged());
    const verbs = receiver.received.slice(delivered).map((r) => Statement.parse(JSON.parse(r.body)).verb.display['en-US']);
    assert.deepEqual(verbs, ['passed', 'completed', 'passed', 'completed', 'passed', 'completed', 'passed', 'completed', 'terminated']);
  });
});
