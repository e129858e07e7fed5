// The service features over real HTTP and WebSocket, without sandboxes: the app under --base-path
// (pages, assets, API, WebSockets, cookies, redirects), --trusted-proxy (forwarded headers believed
// from that peer only — the same forged headers fail from any other), /healthz, /readyz, /metrics
// (token, Prometheus text read by a real parser, counters moving on a check), the rate limits
// (burst → 429 with Retry-After, normal use untouched) and the results download.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { z } from 'zod';
import { FakeDriver } from '../support/fake-driver.ts';
import { upgradeStatus } from './http-clients.ts';
import { NO_SANDBOXES, TOKEN, call, field, joinClass, makeFixture, signIn, startServer } from './http-fixture.ts';

const METRICS_TOKEN = 'metrics-token-0123456789';

const PromFamilies = z.array(
  z.object({
    name: z.string(),
    type: z.string(),
    metrics: z.array(z.object({ labels: z.record(z.string(), z.string()).optional(), value: z.string().optional(), buckets: z.record(z.string(), z.string()).optional() })),
  }),
);
type PromFamilies = z.infer<typeof PromFamilies>;

async function scrape(url: string): Promise<PromFamilies> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return PromFamilies.parse(parsePrometheusTextFormat(await res.text()));
}

function sample(families: PromFamilies, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const m = family?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

/**
 * A histogram's observation count (its +Inf bucket). The parser drops a histogram series' labels
 * and merges series, so the test keeps one series per histogram it reads (one lab, one result).
 */
function observations(families: PromFamilies, name: string): number | undefined {
  const family = families.find((f) => f.name === name);
  assert.ok(family && family.type === 'HISTOGRAM', `${name} is a histogram`);
  const inf = family.metrics[0]?.buckets?.['+Inf'];
  return inf === undefined ? undefined : Number(inf);
}

test('under --base-path every page, asset, API call, WebSocket, cookie and redirect carries the prefix', async (t) => {
  const fx = makeFixture(t, ['--base-path', '/labrun/']);
  const { url } = await startServer(t, fx, { driver: NO_SANDBOXES });
  const origin = new URL(url).origin;
  assert.equal(url, `${origin}/labrun`, 'the server URL names the prefix (no trailing slash)');

  const signedOut = await fetch(`${url}/`);
  assert.equal(signedOut.status, 401);
  assert.match(await signedOut.text(), /href="\/labrun\/app\.css"/);

  const exchange = await fetch(`${url}/labs/${fx.labId}?token=${TOKEN}`, { redirect: 'manual' });
  assert.equal(exchange.status, 303);
  assert.equal(exchange.headers.get('location'), `/labrun/labs/${fx.labId}`);
  assert.match(exchange.headers.get('set-cookie') ?? '', /; Path=\/labrun; HttpOnly; SameSite=Strict/);
  const cookie = (exchange.headers.get('set-cookie') ?? '').split(';')[0] ?? '';

  const index = await fetch(`${url}/labs/${fx.labId}`, { headers: { cookie } });
  assert.equal(index.status, 200);
  const html = await index.text();
  assert.match(html, /<meta name="labrun-base" content="\/labrun">/);
  assert.match(html, /<script type="module" src="\/labrun\/app\.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="\/labrun\/app\.css">/);
  assert.equal((await fetch(`${url}/app.js`)).status, 200);
  assert.equal((await call(url, cookie, 'GET', '/api/labs')).status, 200);
  assert.equal((await fetch(`${url}/healthz`)).status, 200);

  // Outside the prefix: the bare root leads to the app, anything else is not served (not even with the cookie).
  const root = await fetch(`${origin}/`, { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/labrun/');
  for (const p of ['/api/labs', '/app.js', '/healthz', `/labs/${fx.labId}`]) assert.equal((await fetch(`${origin}${p}`, { headers: { cookie } })).status, 404, p);

  const ws = url.replace('http', 'ws');
  assert.equal(await upgradeStatus(`${ws}/ws/events`, { Origin: origin, Cookie: cookie }), 101);
  assert.equal(await upgradeStatus(`${origin.replace('http', 'ws')}/ws/events`, { Origin: origin, Cookie: cookie }), 404);

  const created = await call(url, cookie, 'POST', '/api/classes', { labId: fx.labId });
  assert.equal(created.status, 201);
  const code = field(created.body, 'joinCode');
  assert.equal(field(created.body, 'joinUrl'), `${origin}/labrun/join/${code}`);
  const joined = await call(url, undefined, 'POST', `/api/join/${code}`, { name: 'Ada' });
  assert.equal(joined.status, 201);
  assert.match(joined.setCookie ?? '', /^labrun_learner=[0-9a-f]{64}; Path=\/labrun; HttpOnly; SameSite=Lax/);
});

test('--trusted-proxy: forwarded Host, Proto and For count from that peer only', async (t) => {
  // The same forged headers, from a peer that is the trusted proxy and from one that is not.
  const forged = { 'x-forwarded-host': 'labs.example.edu', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };
  for (const [trusted, proxy] of [[true, '127.0.0.1'], [false, '10.9.9.9']] as const) {
    await t.test(trusted ? 'from the trusted proxy: believed' : 'from any other peer: ignored', async (t) => {
      const fx = makeFixture(t, ['--trusted-proxy', proxy, '--rate-limit', 'sign-in=3/1m']);
      const { url } = await startServer(t, fx, { driver: NO_SANDBOXES });
      const cookie = await signIn(url);
      const res = await fetch(`${url}/api/classes`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...forged }, body: JSON.stringify({ labId: fx.labId }) });
      const joinUrl = field(await res.json(), 'joinUrl');
      if (trusted) assert.match(joinUrl, /^https:\/\/labs\.example\.edu\/join\//);
      else assert.match(joinUrl, /^http:\/\/127\.0\.0\.1:\d+\/join\//);
      // A WebSocket from the public origin: the proxy's forwarded host makes it the server's own origin.
      const fromPublic = { Origin: 'https://labs.example.edu', Cookie: cookie, ...forged };
      assert.equal(await upgradeStatus(`${url.replace('http', 'ws')}/ws/events`, fromPublic), trusted ? 101 : 403);
      // The token exchange marks the cookie Secure when the proxy says the browser used https.
      const exchange = await fetch(`${url}/?token=${TOKEN}`, { redirect: 'manual', headers: forged });
      assert.equal(/; Secure/.test(exchange.headers.get('set-cookie') ?? ''), trusted);
      // Rate limits count the client the proxy reports: a script rotating X-Forwarded-For is one client unless the peer is the proxy.
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${url}/?token=wrong-${i}`, { headers: { 'x-forwarded-for': `198.51.100.${i}` } })).status);
      // Untrusted: all one client (the peer), whose sign-in and forged exchange above were two of its three.
      assert.deepEqual(statuses, trusted ? [401, 401, 401, 401, 401] : [401, 429, 429, 429, 429]);
    });
  }
});

test('rate limits: a burst gets 429 with Retry-After; other clients and normal use do not', async (t) => {
  const fx = makeFixture(t, ['--rate-limit', 'sign-in=4/1m', '--rate-limit', 'check=3/1m', '--rate-limit', 'join=4/1m']);
  const driver = new FakeDriver();
  const { url } = await startServer(t, fx, { driver });
  const owner = await signIn(url);

  await t.test('sign-in: a burst of wrong tokens, then even the right one waits', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${url}/api/labs?token=wrong-token-${i}`)).status);
    assert.deepEqual(statuses, [401, 401, 401], 'the owner\'s sign-in was the first of four');
    const limited = await fetch(`${url}/api/labs?token=${TOKEN}`, { redirect: 'manual' });
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(field(await limited.json(), 'error'), /too many sign-in attempts from this address: at most 4 per 60 s/);
    // Requests without a token are not sign-ins: the signed-in owner goes on working.
    assert.equal((await call(url, owner, 'GET', '/api/labs')).status, 200);
  });

  const created = await call(url, owner, 'POST', '/api/classes', { labId: fx.labId });
  const code = field(created.body, 'joinCode');
  const ada = await joinClass(url, code, 'Ada');
  const bob = await joinClass(url, code, 'Bob');

  await t.test('check: one learner\'s burst is limited, another learner in the same class is not', async () => {
    const check = (cookie: string) => call(url, cookie, 'POST', `/api/labs/${fx.labId}/steps/hello/check`, {});
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await check(ada.cookie)).status);
    assert.deepEqual(statuses, [200, 200, 200]);
    const limited = await fetch(`${url}/api/labs/${fx.labId}/steps/hello/check`, { method: 'POST', headers: { cookie: ada.cookie, origin: url, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.match(field(await limited.json(), 'error'), /too many check runs: at most 3 per 60 s/);
    assert.equal((await check(bob.cookie)).status, 200, 'Bob has an allowance of his own');
  });

  await t.test('join: lookups and joins from one address are limited together', async () => {
    // Two joins so far; two more requests are allowed, the next is refused.
    assert.equal((await call(url, undefined, 'GET', `/api/join/${code}`)).status, 200);
    assert.equal((await call(url, undefined, 'GET', '/api/join/ZZZZZZ')).status, 404);
    const limited = await call(url, undefined, 'POST', `/api/join/${code}`, { name: 'Eve' });
    assert.equal(limited.status, 429);
    assert.match(field(limited.body, 'error'), /too many join requests from this address/);
  });
});

test('the default limits let a class of forty join from one address and check often', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx, { driver: new FakeDriver() });
  const owner = await signIn(url);
  const code = field((await call(url, owner, 'POST', '/api/classes', { labId: fx.labId })).body, 'joinCode');
  const learners = await Promise.all(Array.from({ length: 40 }, (_, i) => joinClass(url, code, `Learner ${i}`)));
  const first = learners[0];
  assert.ok(first);
  for (let i = 0; i < 20; i++) assert.equal((await call(url, first.cookie, 'POST', `/api/labs/${fx.labId}/steps/hello/check`, {})).status, 200);
});

test('/healthz, /readyz and /metrics: open, reasons when not ready, metrics only with their token', async (t) => {
  await t.test('/metrics is off without --metrics-token; /readyz names an engine that does not answer', async (t) => {
    const fx = makeFixture(t, ['--isolation', 'isolated', '--sandbox-engine', 'unix:///tmp/labrun-no-such-engine.sock']);
    const { url } = await startServer(t, fx);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status, 404);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    const body = z.object({ ready: z.boolean(), problems: z.array(z.string()) }).parse(await ready.json());
    assert.equal(body.ready, false);
    assert.match(body.problems.join('\n'), /the sandbox engine at unix:\/\/\/tmp\/labrun-no-such-engine\.sock does not answer/);
  });

  await t.test('with --metrics-token: 401 without or with a wrong token; the text parses; a check moves the counters', async (t) => {
    const fx = makeFixture(t, ['--metrics-token', METRICS_TOKEN]);
    const { url } = await startServer(t, fx, { driver: new FakeDriver() });
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200, 'a driver with nothing to check is ready');
    const none = await fetch(`${url}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
    const owner = await signIn(url);
    assert.equal((await call(url, owner, 'GET', '/metrics')).status, 401, 'the owner\'s cookie is not the metrics token');

    const before = await scrape(url);
    for (const name of ['labrun_sandboxes', 'labrun_sandbox_create_seconds', 'labrun_check_seconds', 'labrun_checks_total', 'labrun_terminal_sessions', 'labrun_websocket_clients', 'labrun_pool_target', 'labrun_pool_sandboxes', 'labrun_class_learners', 'labrun_host_memory_headroom_bytes', 'labrun_host_memory_sandboxes_fit', 'process_resident_memory_bytes']) {
      assert.ok(before.some((f) => f.name === name), `${name} is exported`);
    }
    assert.equal(sample(before, 'labrun_checks_total', { step: 'hello', result: 'failed' }), undefined);
    assert.ok((sample(before, 'labrun_host_memory_headroom_bytes') ?? -1) >= 0);

    const created = await call(url, owner, 'POST', '/api/classes', { labId: fx.labId });
    const classId = field(created.body, 'id');
    const ada = await joinClass(url, field(created.body, 'joinCode'), 'Ada');
    // The fake sandbox answers every command with no output: the step's check fails.
    const checked = await call(url, ada.cookie, 'POST', `/api/labs/${fx.labId}/steps/hello/check`, {});
    assert.equal(checked.status, 200);
    const after = await scrape(url);
    assert.equal(sample(after, 'labrun_checks_total', { lab: fx.labId, step: 'hello', result: 'failed' }), 1);
    assert.equal(observations(after, 'labrun_check_seconds'), 1, 'one check run observed');
    assert.equal(sample(after, 'labrun_sandboxes', { state: 'ready' }), 1);
    assert.equal(sample(after, 'labrun_class_learners', { class: classId }), 1);
    assert.equal(observations(after, 'labrun_sandbox_create_seconds'), 1, 'one sandbox made');
    assert.equal(observations(before, 'labrun_check_seconds'), undefined, 'no check before');
  });
});

test('the results download: instructor only, CSV and JSON, every learner and step', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx, { driver: new FakeDriver() });
  const owner = await signIn(url);
  const created = await call(url, owner, 'POST', '/api/classes', { labId: fx.labId, name: 'Results, "quoted"' });
  const classId = field(created.body, 'id');
  const code = field(created.body, 'joinCode');
  const ada = await joinClass(url, code, '=HYPERLINK("x")');
  await joinClass(url, code, 'Bob');
  assert.equal((await call(url, ada.cookie, 'POST', `/api/labs/${fx.labId}/steps/hello/check`, {})).status, 200);
  assert.equal((await call(url, ada.cookie, 'GET', `/api/classes/${classId}/results.csv`)).status, 403, 'not for learners');

  const csv = await fetch(`${url}/api/classes/${classId}/results.csv`, { headers: { cookie: owner } });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  assert.equal(csv.headers.get('content-disposition'), `attachment; filename="labrun-${classId}-results.csv"`);
  const lines = (await csv.text()).trim().split('\n');
  assert.equal(lines[0], 'class_id,class_name,lab_id,learner_id,learner_name,joined_at,step_number,step_id,step_title,state,done_at,attempts,failed_attempts,time_on_step_seconds');
  assert.equal(lines.length, 1 + 2 * 2, 'two learners × two steps');
  assert.ok(lines[1]?.startsWith(`${classId},"Results, ""quoted""",${fx.labId},${ada.id},"'=HYPERLINK(""x"")",`), lines[1]);
  assert.match(lines[1] ?? '', /,1,hello,Say hello,not started,,1,1,$/);

  const json = await call(url, owner, 'GET', `/api/classes/${classId}/results.json`);
  assert.equal(json.status, 200);
  assert.match(JSON.stringify(json.body), /"name":"Bob","joinedAt":"[^"]+","steps":\[\{"stepNumber":1,"stepId":"hello","stepTitle":"Say hello","state":"not started","doneAt":null,"attempts":0/);
});
