// The web app's security and API boundaries over real HTTP and WebSocket, against createServer on
// port 0 with a temp labs folder. None of these start a sandbox.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { createServer } from '../../server/http/app.ts';
import { TOKEN, makeFixture, signIn, startServer } from './http-fixture.ts';

/** Tries a WebSocket upgrade; resolves with the HTTP status of a refusal, or 101 if it opened. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', (err) => reject(err));
  });
}

test('unauthenticated requests get 401; /healthz is open', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx);
  const cases: [string, number, RegExp][] = [
    ['/healthz', 200, /"ok":true/],
    ['/api/labs', 401, /"error":"not signed in/],
    [`/api/labs/${fx.labId}`, 401, /not signed in/],
    ['/', 401, /labrun serve/],
    [`/labs/${fx.labId}`, 401, /labrun serve/],
    // The bundle is public (the join page needs it before a learner has a cookie); it holds no data.
    ['/app.js', 200, /./],
    ['/?token=wrong-token-0123456789', 401, /labrun serve/],
    ['/api/labs?token=wrong', 401, /wrong token/],
  ];
  for (const [path, status, body] of cases) {
    const res = await fetch(url + path, { redirect: 'manual' });
    assert.equal(res.status, status, path);
    assert.match(await res.text(), body, path);
  }
});

test('token exchange sets an HttpOnly SameSite=Strict cookie and redirects without the token', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx);
  const res = await fetch(`${url}/labs/${fx.labId}?token=${TOKEN}&x=1`, { redirect: 'manual' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), `/labs/${fx.labId}?x=1`);
  const cookie = res.headers.get('set-cookie') ?? '';
  assert.match(cookie, /^labrun_session=[0-9a-f]{64};/);
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.match(cookie, /; Path=\//);
  assert.ok(!cookie.includes(TOKEN), 'the cookie must not carry the token itself');

  const jar = cookie.split(';')[0] ?? '';
  const labs = await fetch(`${url}/api/labs`, { headers: { cookie: jar } });
  assert.equal(labs.status, 200);
  const forged = await fetch(`${url}/api/labs`, { headers: { cookie: 'labrun_session=00' } });
  assert.equal(forged.status, 401);
});

test('security headers are on every response', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx);
  const cookie = await signIn(url);
  for (const path of ['/healthz', '/api/labs', '/']) {
    const res = await fetch(url + path, { headers: { cookie } });
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/, path);
    assert.match(csp, /script-src 'self'(;|$)/, path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.ok(!csp.includes('unsafe'), path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
  }
});

test('WebSocket upgrades: origin checked first, then the cookie, then the lab', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx);
  const cookie = await signIn(url);
  const wsUrl = `${url.replace('http', 'ws')}/ws/terminal?lab=${fx.labId}`;
  const own = url;
  const cases: [string, string, Record<string, string>, number][] = [
    ['no cookie', wsUrl, { Origin: own }, 401],
    ['forged cookie', wsUrl, { Origin: own, Cookie: 'labrun_session=abc' }, 401],
    ['foreign origin with cookie', wsUrl, { Origin: 'http://evil.example', Cookie: cookie }, 403],
    ['other port on loopback', wsUrl, { Origin: 'http://127.0.0.1:1', Cookie: cookie }, 403],
    ['no origin', wsUrl, { Cookie: cookie }, 403],
    ['unknown lab', wsUrl.replace(fx.labId, 'nope'), { Origin: own, Cookie: cookie }, 404],
    ['unknown path', `${url.replace('http', 'ws')}/ws/other`, { Origin: own, Cookie: cookie }, 404],
  ];
  for (const [name, target, headers, status] of cases) {
    assert.equal(await upgradeStatus(target, headers), status, name);
  }
  // The server still answers after all those refusals.
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
});

test('a Host header that is not this server is refused (DNS rebinding)', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx);
  const port = new URL(url).port;
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', headers: { host: `evil.example:${port}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 403);
});

test("lab markdown is served without scripts or event handlers", async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx);
  const cookie = await signIn(url);
  const res = await fetch(`${url}/api/labs/${fx.labId}`, { headers: { cookie } });
  assert.equal(res.status, 200);
  const body: unknown = await res.json();
  const text = JSON.stringify(body);
  assert.ok(text.includes('Write a file in your workspace'), 'the prose is there');
  assert.ok(text.includes('data-run'), 'the runnable block is marked');
  assert.doesNotMatch(text, /<script/i);
  assert.doesNotMatch(text, /onerror/i);
  assert.doesNotMatch(text, /pwned/);
});

test('bad request bodies get 400 naming the field; cross-site writes get 403', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx);
  const cookie = await signIn(url);
  const json = { cookie, 'content-type': 'application/json' };
  const cases: [string, string, string, Record<string, string>, number, RegExp][] = [
    ['PUT', `/api/labs/${fx.labId}/progress`, '{"currentStep":', json, 400, /request body is not valid JSON/],
    ['PUT', `/api/labs/${fx.labId}/progress`, '{"currentStep":5}', json, 400, /^currentStep: /],
    ['PUT', `/api/labs/${fx.labId}/progress`, '{}', json, 400, /^currentStep: /],
    ['PUT', `/api/labs/${fx.labId}/progress`, '{"currentStep":"nope"}', json, 400, /currentStep: lab '.*' has no step 'nope'/],
    ['PUT', `/api/labs/${fx.labId}/progress`, '{"currentStep":"hello","extra":1}', json, 400, /extra|unrecognized/i],
    ['POST', `/api/labs/${fx.labId}/steps/where/check`, '{"answers":{"folder":7}}', json, 400, /^answers\.folder: /],
    ['POST', `/api/labs/${fx.labId}/steps/where/check`, '{"answers":{"other":"x"}}', json, 400, /^answers\.other: step 'where' has no question 'other'/],
    ['POST', `/api/labs/${fx.labId}/steps/nope/check`, '{}', json, 404, /has no step 'nope'/],
    ['POST', `/api/labs/nope/steps/x/check`, '{}', json, 404, /no lab 'nope'/],
    ['GET', `/api/nothing`, '', { cookie }, 404, /no API route/],
    [
      'PUT',
      `/api/labs/${fx.labId}/progress`,
      '{"currentStep":"hello"}',
      { ...json, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      403,
      /cross-site request refused/,
    ],
  ];
  for (const [method, path, body, headers, status, message] of cases) {
    const res = await fetch(url + path, { method, headers, ...(body && { body }) });
    const parsed: unknown = await res.json();
    assert.equal(res.status, status, `${method} ${path} ${body}`);
    assert.ok(typeof parsed === 'object' && parsed !== null && 'error' in parsed && typeof parsed.error === 'string');
    assert.match(parsed.error, message, `${method} ${path} ${body}`);
  }
});

test('progress survives a server restart on the same data folder', async (t) => {
  const fx = makeFixture(t);
  const first = await createServer(fx.config, { adopt: false, log: () => {} });
  const cookie = await signIn(first.url);
  const put = await fetch(`${first.url}/api/labs/${fx.labId}/progress`, {
    method: 'PUT',
    headers: { cookie, 'content-type': 'application/json' },
    body: JSON.stringify({ currentStep: 'where' }),
  });
  assert.equal(put.status, 200);
  await first.close();
  await first.close(); // idempotent

  const second = await startServer(t, fx);
  // Same token → same cookie: the browser's session continues across the restart.
  const res = await fetch(`${second.url}/api/labs/${fx.labId}`, { headers: { cookie } });
  assert.equal(res.status, 200);
  const body: unknown = await res.json();
  assert.ok(typeof body === 'object' && body !== null && 'progress' in body);
  assert.deepEqual(body.progress, { currentStep: 'where', completedSteps: [] });
  const labs: unknown = await (await fetch(`${second.url}/api/labs`, { headers: { cookie } })).json();
  assert.match(JSON.stringify(labs), /"currentStep":"where"/);
});
