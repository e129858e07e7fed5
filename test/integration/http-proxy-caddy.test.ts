// The documented Caddy configuration (docs/deploying.md) in front of labrun on /labrun, with a real
// Caddy, over HTTP and WebSocket (the browser run is the nginx e2e test's): sign-in under the prefix
// with a cookie scoped to it, the API, a WebSocket through the proxy with the proxy's Origin, and a
// join link naming the proxy's address.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../server/config.ts';
import { startCaddy } from '../support/caddy.ts';
import { requireCaddy } from '../support/require.ts';
import { upgradeStatus } from './http-clients.ts';
import { NO_SANDBOXES, TOKEN, call, field, makeFixture, startServer } from './http-fixture.ts';

test('behind Caddy on /labrun: sign-in, API, WebSocket and join links through the proxy', async (t) => {
  if (!requireCaddy(t)) return;
  const fx = makeFixture(t);
  const config = parseConfig(['--port', '0', '--labs', fx.labsDir, '--data', fx.dataDir, '--token', TOKEN, '--base-path', '/labrun', '--trusted-proxy', '127.0.0.1'], {});
  const server = await startServer(t, { ...fx, config }, { driver: NO_SANDBOXES });
  const caddy = await startCaddy(t, Number(new URL(server.url).port));
  const app = `${caddy.origin}/labrun`;

  const bare = await fetch(`${caddy.origin}/labrun`, { redirect: 'manual' });
  assert.ok(bare.status >= 300 && bare.status < 400 && (bare.headers.get('location') ?? '').endsWith('/labrun/'), `${bare.status} ${bare.headers.get('location')}`);
  const exchange = await fetch(`${app}/?token=${TOKEN}`, { redirect: 'manual' });
  assert.equal(exchange.status, 303);
  assert.equal(exchange.headers.get('location'), '/labrun/');
  assert.match(exchange.headers.get('set-cookie') ?? '', /; Path=\/labrun; HttpOnly; SameSite=Strict/);
  const cookie = (exchange.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const index = await (await fetch(`${app}/`, { headers: { cookie } })).text();
  assert.match(index, /<meta name="labrun-base" content="\/labrun">/);

  const created = await call(app, cookie, 'POST', '/api/classes', { labId: fx.labId });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(field(created.body, 'joinUrl'), `${app}/join/${field(created.body, 'joinCode')}`);
  assert.equal(await upgradeStatus(`${app.replace('http', 'ws')}/ws/events`, { Origin: caddy.origin, Cookie: cookie }), 101);
  assert.equal(await upgradeStatus(`${app.replace('http', 'ws')}/ws/events`, { Origin: 'http://evil.example', Cookie: cookie }), 403);
});
