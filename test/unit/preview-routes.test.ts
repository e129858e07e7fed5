// Port preview through the real web app with the in-memory sandbox driver (no Docker): the driver's
// "sandbox port" is a real HTTP + WebSocket app on a local port, so the proxy, the ticket flow, the
// rewriting of redirects and cookies, the CSP sandbox, the clear page when nothing listens and the
// 403s are exercised as a browser would meet them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { FAKE_LAB, startFakeServer } from '../support/fake-server.ts';
import { startApp } from '../support/preview-app.ts';
import { PREVIEW_SANDBOX_CSP } from '../../server/preview/preview-routes.ts';

async function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { headers, redirect: 'manual' });
}

test('port preview through the app: ticket, proxy, rewriting, CSP sandbox, refusals', async (t) => {
  const { server, driver, cookie } = await startFakeServer(t);
  const app = await startApp(t);
  driver.ports.set('8080', app.port);
  driver.ports.set('9080@nginx_b', app.port);
  const base = server.url;

  // The learner's sandbox exists once the lab is used (here: a Check).
  const checked = await fetch(`${base}/api/labs/${FAKE_LAB}/steps/only/check`, { method: 'POST', headers: { cookie, origin: base, 'content-type': 'application/json' }, body: '{}' });
  assert.equal(checked.status, 200);

  /** Follows the entry redirect like a browser; returns the ticketed URL of the preview root. */
  const open = async (target: string, asCookie = cookie, query = ''): Promise<string> => {
    const entry = await get(`${base}/preview/${FAKE_LAB}/${target}/${query}`, { cookie: asCookie });
    assert.equal(entry.status, 303, await entry.text());
    const location = entry.headers.get('location') ?? '';
    assert.match(location, /^\.\.\/\.\.\/@/, 'the redirect is relative, so it holds under any sub-path');
    return new URL(location, `${base}/preview/${FAKE_LAB}/${target}/`).href;
  };

  await t.test('the entry needs the labrun cookie', async () => {
    const res = await get(`${base}/preview/${FAKE_LAB}/8080/`);
    assert.equal(res.status, 401);
  });

  const root = await open('8080');

  await t.test('the app answers through the preview, in a sandboxed document', async () => {
    const res = await get(root);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /hello from the app/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.ok(csp.startsWith(PREVIEW_SANDBOX_CSP), csp);
    assert.doesNotMatch(csp, /allow-same-origin/);
    assert.match(csp, /default-src 'self'/, "the app's own policy still applies on top");
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(app.seen.at(-1)?.url, '/');
    assert.match(app.seen.at(-1)?.prefix ?? '', /^\/preview\/@.+\/8080$/);
  });

  await t.test('redirects to the app\'s own root stay inside the preview; other sites are left alone', async () => {
    assert.equal((await get(`${root}redirect`)).headers.get('location'), './landing?x=1');
    assert.equal((await get(`${root}deep/er/redirect`)).headers.get('location'), '../../landing?x=1');
    assert.equal((await get(`${root}absolute`)).headers.get('location'), './abs-landing');
    assert.equal((await get(`${root}elsewhere`)).headers.get('location'), 'https://example.invalid/');
    const bare = await get(root.replace(/\/$/, ''));
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get('location'), './8080/');
  });

  await t.test('labrun\'s cookies never reach the app, and the app cannot set them', async () => {
    await get(`${root}who`, { cookie: `${cookie}; app=1` });
    assert.equal(app.seen.at(-1)?.cookie, 'app=1');
    const res = await get(`${root}cookies`);
    const set = res.headers.getSetCookie();
    assert.equal(set.length, 2, set.join(' | '));
    assert.ok(set.every((c) => !/labrun_/.test(c)));
    const rootPath = new URL(root).pathname;
    assert.ok(set.every((c) => c.includes(`Path=${rootPath}`) && !/Domain=/i.test(c)), set.join(' | '));
    assert.equal(res.headers.get('clear-site-data'), null);
  });

  await t.test('the app\'s page (an opaque origin) may read the app\'s own answers; preflights are answered', async () => {
    const res = await get(`${root}data`, { origin: 'null' });
    assert.equal(res.headers.get('access-control-allow-origin'), 'null');
    assert.equal((await get(root)).headers.get('access-control-allow-origin'), null, 'only for the sandboxed page');
    const pre = await fetch(`${root}data`, { method: 'OPTIONS', headers: { origin: 'null', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'null');
    assert.equal(pre.headers.get('access-control-allow-methods'), 'PUT');
    // labrun's own API never lets such a page read it.
    const apiRes = await get(`${base}/api/labs`, { origin: 'null', cookie });
    assert.equal(apiRes.headers.get('access-control-allow-origin'), null);
  });

  await t.test('form posts pass through with their body', async () => {
    const res = await fetch(`${root}form`, { method: 'POST', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' } });
    assert.equal(await res.text(), 'posted:a=1');
  });

  await t.test('a WebSocket echoes through the preview (its Origin is the sandboxed page\'s: null)', async () => {
    const ws = new WebSocket(`${root.replace('http', 'ws')}socket`, { headers: { Origin: 'null' } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('ping-42'));
      ws.once('message', (d) => resolve(String(d)));
      ws.once('error', reject);
    });
    ws.close();
    assert.equal(reply, 'echo:ping-42');
  });

  await t.test('a port in a service\'s namespace has its own preview', async () => {
    const svc = await open('9080@nginx_b');
    assert.match(await (await get(svc)).text(), /hello from the app/);
  });

  await t.test('nothing listening gives a page that says so and how to start something', async () => {
    const res = await get(await open('8081'));
    assert.equal(res.status, 502);
    const html = await res.text();
    assert.match(html, /Nothing listens on port 8081 in your sandbox/);
    assert.match(html, /docker run -d -p 8081:80 nginx/);
  });

  await t.test('a ticket opens only its own port, and a forged one nothing', async () => {
    const other = root.replace('/8080/', '/8082/');
    assert.equal((await get(other)).status, 403);
    const forged = root.replace(/@([a-z0-9]+)\.(\d+)\.[^/]+/, '@$1.$2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    assert.equal((await get(forged)).status, 403);
    const later = root.replace(/@([a-z0-9]+)\.(\d+)\./, (_m, l: string, e: string) => `@${l}.${Number(e) + 1}.`);
    assert.equal((await get(later)).status, 403, 'moving the expiry breaks the signature');
  });

  await t.test('another learner gets 403, with their own cookie at the entry and with the link itself', async () => {
    const created = await fetch(`${base}/api/classes`, { method: 'POST', headers: { cookie, origin: base, 'content-type': 'application/json' }, body: JSON.stringify({ labId: FAKE_LAB }) });
    const code = String(Reflect.get((await created.json()) as object, 'joinCode'));
    const joined = await fetch(`${base}/api/join/${code}`, { method: 'POST', headers: { origin: base, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Other' }) });
    assert.equal(joined.status, 201);
    const other = (joined.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const otherId = String(Reflect.get((await joined.json()) as object, 'learnerId'));
    const asked = await get(`${base}/preview/${FAKE_LAB}/8080/?learner=local`, { cookie: other });
    assert.equal(asked.status, 403);
    assert.match(await asked.text(), /another learner/);
    assert.equal((await get(root, { cookie: other })).status, 403);
    // Their own preview is theirs (joining gave them a sandbox).
    assert.equal((await get(await open('8080', other))).status, 200);
    // The instructor may open a learner's preview; one without a sandbox gets a page that says so.
    assert.equal((await get(await open('8080', cookie, `?learner=${otherId}`))).status, 200);
    const none = await get(await open('8080', cookie, '?learner=lnobody'));
    assert.equal(none.status, 503);
    assert.match(await none.text(), /sandbox is not running/);
  });
});
