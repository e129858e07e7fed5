// Port preview behind a real nginx that serves labrun at a sub-path (/labrun/, prefix stripped), as a
// classroom's reverse proxy would: every redirect labrun writes is relative, so the entry redirect,
// the app's own redirects and WebSocket upgrades all stay under the prefix. And labrun run with
// --base-path /labrun behind docs/deploying.md's nginx (prefix passed on): the same, with the app's
// cookies scoped under the base path, and the preview absent outside it. The sandbox side is the
// in-memory driver with a real local app; the proxy is the real nginx of this machine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { FAKE_LAB, startFakeServer } from '../support/fake-server.ts';
import { startApp } from '../support/preview-app.ts';
import { startNginx as startDocumentedNginx } from '../support/nginx.ts';
import { requireNginx } from '../support/require.ts';

const NGINX = '/usr/sbin/nginx';

/** Starts nginx in front of `upstream` at /labrun/ on a free loopback port; returns its base URL. */
async function startNginx(t: TestContext, upstream: string): Promise<string | undefined> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const conf = path.join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location /labrun/ {
      proxy_pass ${upstream}/;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
    }
  }
}
`,
    );
    const child = spawn(NGINX, ['-c', conf, '-p', dir], { stdio: 'ignore' });
    t.after(() => {
      child.kill();
    });
    for (let i = 0; i < 40; i++) {
      await sleep(50);
      if (child.exitCode !== null) break;
      const ok = await fetch(`http://127.0.0.1:${port}/labrun/healthz`).then((r) => r.ok, () => false);
      if (ok) return `http://127.0.0.1:${port}/labrun`;
    }
    child.kill();
  }
  return undefined;
}

test('the preview works behind a reverse proxy at a sub-path', async (t) => {
  if (!existsSync(NGINX)) {
    if (process.env.CI) throw new Error(`no nginx at ${NGINX}; CI must install it (apt-get install nginx-light)`);
    t.skip(`no nginx at ${NGINX}`);
    return;
  }
  const { server, driver, cookie } = await startFakeServer(t);
  const app = await startApp(t);
  driver.ports.set('8080', app.port);
  const checked = await fetch(`${server.url}/api/labs/${FAKE_LAB}/steps/only/check`, { method: 'POST', headers: { cookie, origin: server.url, 'content-type': 'application/json' }, body: '{}' });
  assert.equal(checked.status, 200);
  const base = await startNginx(t, server.url);
  assert.ok(base, 'nginx did not start');

  const entryUrl = `${base}/preview/${FAKE_LAB}/8080/`;
  const entry = await fetch(entryUrl, { headers: { cookie }, redirect: 'manual' });
  assert.equal(entry.status, 303);
  const root = new URL(entry.headers.get('location') ?? '', entryUrl);
  assert.match(root.pathname, new RegExp(`^/labrun/preview/@[^/]+/${FAKE_LAB}/8080/$`));

  const page = await fetch(root);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /hello from the app/);

  const redirected = await fetch(new URL('sub/../deep/er/redirect', root), { redirect: 'manual' });
  const landing = new URL(redirected.headers.get('location') ?? '', new URL('deep/er/redirect', root));
  assert.equal(landing.pathname, `${root.pathname}landing`);

  const ws = new WebSocket(new URL('socket', root).href.replace('http', 'ws'), { headers: { Origin: 'null' } });
  const reply = await new Promise<string>((resolve, reject) => {
    ws.once('open', () => ws.send('through-nginx'));
    ws.once('message', (d) => resolve(String(d)));
    ws.once('error', reject);
  });
  ws.close();
  assert.equal(reply, 'echo:through-nginx');
});

test('with --base-path behind the documented nginx: entry, app, cookies, redirects and WebSockets stay under the base path', async (t) => {
  if (!requireNginx(t)) return;
  const BASE = '/labrun';
  const { server, driver, cookie } = await startFakeServer(t, ['--base-path', BASE, '--trusted-proxy', '127.0.0.1']);
  const direct = new URL(server.url);
  assert.equal(direct.pathname, BASE);
  const app = await startApp(t);
  driver.ports.set('8080', app.port);
  const checked = await fetch(`${server.url}/api/labs/${FAKE_LAB}/steps/only/check`, { method: 'POST', headers: { cookie, origin: direct.origin, 'content-type': 'application/json' }, body: '{}' });
  assert.equal(checked.status, 200);
  // Outside the base path there is no preview (nor anything else of labrun's).
  assert.equal((await fetch(`${direct.origin}/preview/${FAKE_LAB}/8080/`, { headers: { cookie }, redirect: 'manual' })).status, 404);
  const nginx = await startDocumentedNginx(t, Number(direct.port));

  const entryUrl = `${nginx.origin}${BASE}/preview/${FAKE_LAB}/8080/`;
  const entry = await fetch(entryUrl, { headers: { cookie }, redirect: 'manual' });
  assert.equal(entry.status, 303, nginx.errors());
  const root = new URL(entry.headers.get('location') ?? '', entryUrl);
  assert.match(root.pathname, new RegExp(`^${BASE}/preview/@[^/]+/${FAKE_LAB}/8080/$`));
  // Signed out, the entry answers labrun's page, styled from under the base path.
  const signedOut = await fetch(entryUrl, { redirect: 'manual' });
  assert.equal(signedOut.status, 401);
  assert.match(await signedOut.text(), new RegExp(`href="${BASE}/app.css"`));

  const page = await fetch(root);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /hello from the app/);

  const cookies = (await fetch(new URL('cookies', root))).headers.getSetCookie();
  assert.deepEqual(cookies.map((c) => c.split(';')[0]), ['app=1', 'wide=2'], 'labrun_session is never set by the app');
  assert.ok(cookies.every((c) => c.includes(`Path=${root.pathname}`)), cookies.join(' | '));

  const redirected = await fetch(new URL('deep/er/redirect', root), { redirect: 'manual' });
  assert.equal(new URL(redirected.headers.get('location') ?? '', new URL('deep/er/redirect', root)).pathname, `${root.pathname}landing`);

  const ws = new WebSocket(new URL('socket', root).href.replace('http', 'ws'), { headers: { Origin: 'null' } });
  const reply = await new Promise<string>((resolve, reject) => {
    ws.once('open', () => ws.send('under-the-base-path'));
    ws.once('message', (d) => resolve(String(d)));
    ws.once('error', reject);
  });
  ws.close();
  assert.equal(reply, 'echo:under-the-base-path');
});
