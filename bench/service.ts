// What running as a service costs, without sandboxes (the in-memory fake driver, so only labrun's
// own work is timed): POST check through HTTP with no webhook, with a webhook to a receiver that
// answers at once, and with one that never answers (the feed must add nothing a learner waits for);
// a /metrics scrape with a class of LEARNERS; appending to the event log. Prints numbers, asserts none.
import { createServer, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../server/config.ts';
import { EventLog } from '../server/events/event-log.ts';
import { createServer as createLabrun } from '../server/http/app.ts';
import { FakeDriver } from '../test/support/fake-driver.ts';
import { measure, reportUnmeasured } from './support/measure.ts';

const TOKEN = 'bench-token-0123456789abcdef';
const SECRET = 'bench-secret-0123456789';
const CHECKS = Number(process.env.LABRUN_BENCH_ROUNDS ?? 0) === 1 ? 20 : 200;
const LEARNERS = 40;
const root = mkdtempSync(path.join(tmpdir(), 'lrsvc-'));

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

/** A webhook receiver: `hang` holds every request. */
async function receiver(hang: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const held: ServerResponse[] = [];
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => (hang ? held.push(res) : res.writeHead(204).end()));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  return {
    url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`,
    close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

async function checkLatency(label: string, webhook: 'none' | 'fast' | 'hanging'): Promise<void> {
  const dir = path.join(root, label.replace(/\W+/g, '-'));
  const hook = webhook === 'none' ? undefined : await receiver(webhook === 'hanging');
  const config = parseConfig(['--port', '0', '--data', dir, '--token', TOKEN, '--labs', 'labs', '--rate-limit', 'check=0', ...(hook ? ['--webhook', hook.url, '--webhook-secret', SECRET] : [])], {});
  const server = await createLabrun(config, { adopt: false, log: () => {}, driver: new FakeDriver() });
  try {
    const signIn = await fetch(`${server.url}/?token=${TOKEN}`, { redirect: 'manual' });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const created = await (await fetch(`${server.url}/api/classes`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ labId: 'linux-networks' }) })).json();
    const code = String(Reflect.get(Object(created), 'joinCode'));
    const joined = await fetch(`${server.url}/api/join/${code}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"bench"}' });
    const learner = (joined.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const times: number[] = [];
    for (let i = 0; i < CHECKS + 5; i++) {
      const t0 = performance.now();
      const res = await fetch(`${server.url}/api/labs/linux-networks/steps/one-container/check`, { method: 'POST', headers: { cookie: learner, 'content-type': 'application/json' }, body: '{}' });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`check answered ${res.status}`);
      if (i >= 5) times.push(performance.now() - t0);
    }
    console.log(`POST check (fake sandbox), webhook ${webhook}: p50 ${pct(times, 50).toFixed(2)} ms, p95 ${pct(times, 95).toFixed(2)} ms over ${CHECKS}`);
  } finally {
    await server.close();
    await hook?.close();
  }
}

await measure('check latency, no webhook', () => checkLatency('no webhook', 'none'));
await measure('check latency, fast webhook', () => checkLatency('fast webhook', 'fast'));
await measure('check latency, hanging webhook', () => checkLatency('hanging webhook', 'hanging'));

await measure(`a /metrics scrape with a class of ${LEARNERS}`, async () => {
  const config = parseConfig(['--port', '0', '--labs', 'labs', '--data', path.join(root, 'metrics'), '--token', TOKEN, '--metrics-token', SECRET], {});
  const server = await createLabrun(config, { adopt: false, log: () => {}, driver: new FakeDriver() });
  try {
    const signIn = await fetch(`${server.url}/?token=${TOKEN}`, { redirect: 'manual' });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const created = await (await fetch(`${server.url}/api/classes`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ labId: 'linux-networks' }) })).json();
    const code = String(Reflect.get(Object(created), 'joinCode'));
    for (let i = 0; i < LEARNERS; i++) await fetch(`${server.url}/api/join/${code}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"name":"l${i}"}` });
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 55; i++) {
      const t0 = performance.now();
      const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${SECRET}` } })).text();
      if (i >= 5) times.push(performance.now() - t0);
      bytes = text.length;
    }
    console.log(`GET /metrics, ${LEARNERS} learners: p50 ${pct(times, 50).toFixed(2)} ms, p95 ${pct(times, 95).toFixed(2)} ms, ${(bytes / 1024).toFixed(1)} kB`);
  } finally {
    await server.close();
  }
});

await measure('event log appends', async () => {
  const log = new EventLog(path.join(root, 'append', 'events.jsonl'));
  const n = 5000;
  const statement = { id: '00000000-0000-4000-8000-000000000000', verb: { id: 'http://adlnet.gov/expapi/verbs/passed' }, object: { id: 'http://x/labs/a/steps/b' }, result: { success: true, extensions: { checks: [{ name: 'a check', passed: true }] } }, timestamp: new Date().toISOString() };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) log.append(statement);
  const ms = performance.now() - t0;
  log.dispose();
  console.log(`events.jsonl append: ${((ms * 1000) / n).toFixed(1)} µs per statement (${n} in ${ms.toFixed(0)} ms)`);
});

rmSync(root, { recursive: true, force: true });
reportUnmeasured();
