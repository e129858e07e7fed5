// WebSocket upgrades go through the same express chain as HTTP routes, shown on the real app with
// the in-memory sandbox driver (no Docker): the Origin rule, then the cookie, then the lab rule and
// the instructor rule, each refusal an ordinary HTTP answer; an accepted upgrade reaches a terminal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { FAKE_LAB, startFakeServer as start } from '../support/fake-server.ts';

const LAB = FAKE_LAB;

interface Opened {
  status: number;
  ws?: WebSocket;
  /** The first message, and the close code: listened for from the start, as both can come with the handshake. */
  first?: Promise<string>;
  closed?: Promise<number>;
}

/** 101 when the upgrade opened, else the HTTP status it was refused with. */
function upgrade(url: string, headers: Record<string, string>): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const first = new Promise<string>((done) => ws.once('message', (d) => done(String(d))));
    const closed = new Promise<number>((done) => ws.once('close', (code) => done(code)));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('open', () => resolve({ status: 101, ws, first, closed }));
    ws.once('error', (err) => reject(err));
  });
}

test('upgrades pass the same guards as routes: origin, then cookie, then lab and instructor rules', async (t) => {
  const { server, cookie, ws } = await start(t);
  const own = server.url;
  const terminal = `${ws}/ws/terminal?lab=${LAB}`;
  const rows: [string, string, Record<string, string>, number][] = [
    ['no cookie', terminal, { Origin: own }, 401],
    ['forged cookie', terminal, { Origin: own, Cookie: 'labrun_session=abc' }, 401],
    ['foreign origin with cookie', terminal, { Origin: 'http://evil.example', Cookie: cookie }, 403],
    ['no origin', terminal, { Cookie: cookie }, 403],
    ['wrong host', terminal, { Origin: own, Cookie: cookie, Host: 'evil.example' }, 403],
    ['unknown lab', terminal.replace(LAB, 'nope'), { Origin: own, Cookie: cookie }, 404],
    ['unknown path under /ws', `${ws}/ws/other`, { Origin: own, Cookie: cookie }, 404],
    ['a page route is no WebSocket', `${ws}/labs/${LAB}`, { Origin: own, Cookie: cookie }, 404],
    ['unknown class', `${ws}/ws/events?class=nope`, { Origin: own, Cookie: cookie }, 404],
    ['own notices', `${ws}/ws/events`, { Origin: own, Cookie: cookie }, 101],
  ];
  for (const [name, url, headers, status] of rows) {
    const r = await upgrade(url, headers);
    r.ws?.close();
    assert.equal(r.status, status, name);
  }
  // A plain GET of a WebSocket endpoint is not an upgrade.
  assert.equal((await fetch(terminal.replace('ws', 'http'), { headers: { Cookie: cookie } })).status, 426);
});

test('an accepted terminal upgrade reaches a shell in the learner\'s sandbox; a watcher with nothing to watch is told so', async (t) => {
  const { server, driver, cookie, ws } = await start(t);
  const opened = await upgrade(`${ws}/ws/terminal?lab=${LAB}`, { Origin: server.url, Cookie: cookie });
  assert.equal(opened.status, 101);
  assert.match((await opened.first) ?? '', /"type":"hello"/);
  assert.equal(driver.live().length, 1, 'the sandbox was made before the upgrade completed');
  assert.equal(driver.live()[0]?.ptys.length, 1);
  opened.ws?.close();

  const watch = await upgrade(`${ws}/ws/terminal?lab=${LAB}&learner=nobody`, { Origin: server.url, Cookie: cookie });
  assert.equal(watch.status, 101, 'the instructor may watch');
  assert.equal(await watch.closed, 4404);
});
