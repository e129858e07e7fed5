// The web app's security and API boundaries over real HTTP and WebSocket, against createServer on
// port 0 with a temp labs folder. None of these start a sandbox (class learners get NO_SANDBOXES).
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { parseConfig } from '../../server/config.ts';
import { createServer } from '../../server/http/app.ts';
import { NO_SANDBOXES, TOKEN, call, field, joinClass, makeFixture, signIn, startServer } from './http-fixture.ts';

/** The server's limits, restated: a test that imported them would follow a change instead of catching it. */
const JSON_LIMIT_BYTES = 64 * 1024;
const WS_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** RFC 6455 close code for a message too big to process. */
const WS_MESSAGE_TOO_BIG = 1009;
/** The server closes an oversized frame's socket at once; ten seconds means it never will. */
const CLOSE_WAIT_MS = 10_000;

/** A raw HTTP request to the server's port with any Host header (fetch will not send a chosen Host). */
function rawRequest(
  url: string,
  opts: { path: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: opts.path, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Opens a WebSocket (or fails with the refusal's status); for tests that then use the socket. */
function openWs(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode ?? 0}`)));
    ws.once('error', reject);
  });
}

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

test('security headers are on every response: 200, 400, 401, 403, 404 and 413, API and pages', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx);
  const cookie = await signIn(url);
  const host = new URL(url).host;
  const json = { 'content-type': 'application/json' };
  const cases: [string, number, Parameters<typeof rawRequest>[1]][] = [
    ['health', 200, { path: '/healthz' }],
    ['API with cookie', 200, { path: '/api/labs', headers: { cookie } }],
    ['page with cookie', 200, { path: '/', headers: { cookie } }],
    ['bad JSON', 400, { path: `/api/labs/${fx.labId}/progress`, method: 'PUT', headers: { cookie, ...json }, body: '{' }],
    ['API without cookie', 401, { path: '/api/labs' }],
    ['page without cookie', 401, { path: `/labs/${fx.labId}` }],
    ['wrong token', 401, { path: '/?token=wrong-token-0123456789' }],
    ['foreign Host', 403, { path: '/', headers: { host: `evil.example:${new URL(url).port}` } }],
    ['cross-site write', 403, { path: `/api/labs/${fx.labId}/progress`, method: 'PUT', headers: { cookie, ...json, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }, body: '{}' }],
    ['unknown API route', 404, { path: '/api/nothing', headers: { cookie } }],
    ['unknown page', 404, { path: '/nothing-here', headers: { cookie } }],
    ['unknown lab page', 404, { path: '/labs/nope', headers: { cookie } }],
    ['body too large', 413, { path: `/api/labs/${fx.labId}/progress`, method: 'PUT', headers: { cookie, ...json }, body: 'x'.repeat(JSON_LIMIT_BYTES + 1) }],
  ];
  for (const [name, status, req] of cases) {
    const res = await rawRequest(url, { ...req, headers: { host, ...req.headers } });
    assert.equal(res.status, status, name);
    const csp = String(res.headers['content-security-policy'] ?? '');
    assert.match(csp, /default-src 'self'/, name);
    assert.match(csp, /script-src 'self'(;|$)/, name);
    assert.match(csp, /frame-ancestors 'none'/, name);
    assert.ok(!csp.includes('unsafe'), name);
    assert.equal(res.headers['x-frame-options'], 'DENY', name);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', name);
    assert.equal(res.headers['referrer-policy'], 'no-referrer', name);
  }
});

test('WebSocket upgrades: origin checked first, then the cookie, then the lab', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx);
  const cookie = await signIn(url);
  const wsUrl = `${url.replace('http', 'ws')}/ws/terminal?lab=${fx.labId}`;
  const noLab = wsUrl.replace(fx.labId, 'nope');
  const events = `${url.replace('http', 'ws')}/ws/events`;
  const own = url;
  const evil = 'http://evil.example';
  const forged = 'labrun_session=abc';
  // The order shows only where two checks would both refuse: each such pair below says which one wins.
  const cases: [string, string, Record<string, string>, number][] = [
    ['no cookie', wsUrl, { Origin: own }, 401],
    ['forged cookie', wsUrl, { Origin: own, Cookie: forged }, 401],
    ['foreign origin with cookie', wsUrl, { Origin: evil, Cookie: cookie }, 403],
    ['other port on loopback', wsUrl, { Origin: 'http://127.0.0.1:1', Cookie: cookie }, 403],
    ['no origin', wsUrl, { Cookie: cookie }, 403],
    ['unknown lab', noLab, { Origin: own, Cookie: cookie }, 404],
    ['unknown path', `${url.replace('http', 'ws')}/ws/other`, { Origin: own, Cookie: cookie }, 404],
    // origin before cookie
    ['foreign origin, no cookie', wsUrl, { Origin: evil }, 403],
    ['foreign origin, forged cookie', wsUrl, { Origin: evil, Cookie: forged }, 403],
    ['no origin, no cookie', wsUrl, {}, 403],
    ['events: foreign origin, no cookie', events, { Origin: evil }, 403],
    // cookie before lab (or class)
    ['unknown lab, no cookie', noLab, { Origin: own }, 401],
    ['unknown lab, forged cookie', noLab, { Origin: own, Cookie: forged }, 401],
    ['unknown class, no cookie', `${events}?class=nope`, { Origin: own }, 401],
    ['unknown class with cookie', `${events}?class=nope`, { Origin: own, Cookie: cookie }, 404],
    // all three wrong: the origin still answers first
    ['foreign origin, no cookie, unknown lab', noLab, { Origin: evil }, 403],
  ];
  for (const [name, target, headers, status] of cases) {
    assert.equal(await upgradeStatus(target, headers), status, name);
  }
  // The server still answers after all those refusals.
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
});

test('WebSocket refusals across classes and labs: another class, another lab, an ended class', async (t) => {
  const fx = makeFixture(t);
  // A second lab, so a class learner can ask for a terminal of a lab that is not their class's.
  const otherLab = `${fx.labId}-other`;
  cpSync(path.join(fx.labsDir, fx.labId), path.join(fx.labsDir, otherLab), { recursive: true });
  const { url } = await startServer(t, fx, { driver: NO_SANDBOXES });
  const ws = url.replace('http', 'ws');
  const owner = await signIn(url);
  const newClass = async (labId: string): Promise<{ id: string; code: string }> => {
    const res = await call(url, owner, 'POST', '/api/classes', { labId });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { id: field(res.body, 'id'), code: field(res.body, 'joinCode') };
  };
  const mine = await newClass(fx.labId);
  const theirs = await newClass(fx.labId);
  const elsewhere = await newClass(otherLab);
  const ada = await joinClass(url, mine.code, 'Ada');
  const bob = await joinClass(url, theirs.code, 'Bob');
  const as = (cookie: string) => ({ Origin: url, Cookie: cookie });

  const cases: [string, string, string, number][] = [
    ['own class events', `${ws}/ws/events?class=${mine.id}`, ada.cookie, 101],
    ['own notices', `${ws}/ws/events`, ada.cookie, 101],
    ["another class's events", `${ws}/ws/events?class=${theirs.id}`, ada.cookie, 403],
    ["a class on another lab's events", `${ws}/ws/events?class=${elsewhere.id}`, ada.cookie, 403],
    ['a terminal for another lab', `${ws}/ws/terminal?lab=${otherLab}`, ada.cookie, 403],
    ["another class's learner's terminal", `${ws}/ws/terminal?lab=${fx.labId}&learner=${bob.id}`, ada.cookie, 403],
    ['the instructor on any class', `${ws}/ws/events?class=${theirs.id}`, owner, 101],
  ];
  for (const [name, target, cookie, status] of cases) assert.equal(await upgradeStatus(target, as(cookie)), status, name);

  assert.equal((await call(url, owner, 'POST', `/api/classes/${mine.id}/end`, {})).status, 200);
  const ended: [string, string][] = [
    ['class events', `${ws}/ws/events?class=${mine.id}`],
    ['own notices', `${ws}/ws/events`],
    ['terminal', `${ws}/ws/terminal?lab=${fx.labId}`],
  ];
  for (const [name, target] of ended) assert.equal(await upgradeStatus(target, as(ada.cookie)), 401, `an ended class's cookie: ${name}`);
  // Bob's class goes on.
  assert.equal(await upgradeStatus(`${ws}/ws/events?class=${theirs.id}`, as(bob.cookie)), 101);
});

test('size limits over real HTTP and WebSocket: a 64 KB JSON body, a 1 MiB frame', async (t) => {
  const fx = makeFixture(t);
  const { url } = await startServer(t, fx, { driver: NO_SANDBOXES });
  const cookie = await signIn(url);
  const json = { cookie, 'content-type': 'application/json' };
  // Just under the limit is parsed (and refused for its content); one byte over is refused for its size.
  const padded = (bytes: number): string => {
    const head = '{"currentStep":"';
    const tail = '"}';
    return head + 'x'.repeat(bytes - head.length - tail.length) + tail;
  };
  const under = await fetch(`${url}/api/labs/${fx.labId}/progress`, { method: 'PUT', headers: json, body: padded(JSON_LIMIT_BYTES) });
  assert.equal(under.status, 400, 'a body at the limit is read');
  assert.match(field(await under.json(), 'error'), /^currentStep: /);
  const over = await fetch(`${url}/api/labs/${fx.labId}/progress`, { method: 'PUT', headers: json, body: padded(JSON_LIMIT_BYTES + 1) });
  assert.equal(over.status, 413);
  assert.match(field(await over.json(), 'error'), /too large/);
  // The join route reads bodies before sign-in: the same limit holds there.
  const join = await fetch(`${url}/api/join/ACDEFG`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"name":"${'x'.repeat(JSON_LIMIT_BYTES)}"}` });
  assert.equal(join.status, 413);

  // Frames: the notices socket reads and ignores what it gets, so only the frame's size decides.
  const sock = await openWs(`${url.replace('http', 'ws')}/ws/events`, { Origin: url, Cookie: cookie });
  const closed = new Promise<number>((resolve) => sock.once('close', (code) => resolve(code)));
  sock.send(Buffer.alloc(WS_MAX_PAYLOAD_BYTES, 'a'), { binary: false });
  // A pong after the frame shows the server read the whole frame and kept the socket.
  await new Promise<void>((resolve, reject) => {
    sock.once('pong', () => resolve());
    sock.once('close', (code) => reject(new Error(`closed with ${code} after a frame at the limit`)));
    sock.ping();
  });
  sock.send(Buffer.alloc(WS_MAX_PAYLOAD_BYTES + 1, 'a'), { binary: false });
  const timedOut = new Promise<string>((resolve) => setTimeout(() => resolve('still open 10 s after a frame over the limit'), CLOSE_WAIT_MS).unref());
  assert.equal(await Promise.race([closed, timedOut]), WS_MESSAGE_TOO_BIG);
  sock.terminate();
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
});

test('--trusted-origin over HTTP and WebSocket: its Host is served, its writes and upgrades allowed, others not', async (t) => {
  const fx = makeFixture(t);
  const trusted = 'https://labs.example.org';
  fx.config = parseConfig(['--port', '0', '--labs', fx.labsDir, '--data', fx.dataDir, '--token', TOKEN, '--trusted-origin', trusted], {});
  const { url } = await startServer(t, fx, { driver: NO_SANDBOXES });
  const cookie = await signIn(url);
  const proxied = { host: 'labs.example.org' };
  const cases: [string, Parameters<typeof rawRequest>[1], number][] = [
    ["the trusted origin's Host", { path: '/api/labs', headers: { ...proxied, cookie } }, 200],
    ['another Host', { path: '/api/labs', headers: { host: 'other.example.org', cookie } }, 403],
    ['a write from the trusted origin, cross-site', { path: `/api/labs/${fx.labId}/progress`, method: 'PUT', headers: { ...proxied, cookie, 'content-type': 'application/json', origin: trusted, 'sec-fetch-site': 'cross-site' }, body: '{"currentStep":"where"}' }, 200],
    ['a write from elsewhere, cross-site', { path: `/api/labs/${fx.labId}/progress`, method: 'PUT', headers: { ...proxied, cookie, 'content-type': 'application/json', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, body: '{"currentStep":"where"}' }, 403],
  ];
  for (const [name, req, status] of cases) assert.equal((await rawRequest(url, req)).status, status, name);

  const events = `${url.replace('http', 'ws')}/ws/events`;
  const upgrades: [string, Record<string, string>, number][] = [
    ['the trusted origin through its Host', { Host: 'labs.example.org', Origin: trusted, Cookie: cookie }, 101],
    ['the trusted origin on the loopback Host', { Origin: trusted, Cookie: cookie }, 101],
    ['another scheme of the trusted origin on the loopback Host', { Origin: 'http://labs.example.org', Cookie: cookie }, 403],
    ['another origin', { Host: 'labs.example.org', Origin: 'https://evil.example', Cookie: cookie }, 403],
    ['the trusted origin without a cookie', { Host: 'labs.example.org', Origin: trusted }, 401],
  ];
  for (const [name, headers, status] of upgrades) assert.equal(await upgradeStatus(events, headers), status, name);
});

test('a LAN bind over HTTP and WebSocket: any Host is served; upgrades need the Origin of the Host addressed', async (t) => {
  const fx = makeFixture(t);
  // Bound to every address, reached over loopback only: the Host header plays the LAN address.
  fx.config = parseConfig(['--host', '0.0.0.0', '--port', '0', '--labs', fx.labsDir, '--data', fx.dataDir, '--token', TOKEN], {});
  const server = await startServer(t, fx, { driver: NO_SANDBOXES });
  const { port } = new URL(server.url);
  const url = `http://127.0.0.1:${port}`;
  const cookie = await signIn(url);
  const lan = `192.168.1.50:${port}`;
  assert.equal((await rawRequest(url, { path: '/api/labs', headers: { host: lan, cookie } })).status, 200, 'a LAN Host');
  assert.equal((await rawRequest(url, { path: '/api/labs', headers: { host: lan } })).status, 401, 'still signed-in only');

  const events = `ws://127.0.0.1:${port}/ws/events`;
  const upgrades: [string, Record<string, string>, number][] = [
    ['the origin of the Host addressed', { Host: lan, Origin: `http://${lan}`, Cookie: cookie }, 101],
    ['another port of that host', { Host: lan, Origin: 'http://192.168.1.50:1', Cookie: cookie }, 403],
    ['another host of the LAN', { Host: lan, Origin: `http://192.168.1.51:${port}`, Cookie: cookie }, 403],
    ['a foreign origin', { Host: lan, Origin: 'http://evil.example', Cookie: cookie }, 403],
    ['no cookie', { Host: lan, Origin: `http://${lan}` }, 401],
  ];
  for (const [name, headers, status] of upgrades) assert.equal(await upgradeStatus(events, headers), status, name);
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
