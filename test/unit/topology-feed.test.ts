// /ws/topology on the real app with the in-memory driver (no Docker): the learner's own model arrives
// on connect and again after an engine event (pushed, no polling), a burst of events is one rebuild,
// the same rules as the terminal apply (a class learner may not watch another's; the instructor may,
// read-only, without starting a sandbox), and the feed stops listening when its last socket closes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { parseTopologyFrame, type TopologyFrame } from '../../shared/topology.ts';
import { FAKE_LAB, startFakeServer } from '../support/fake-server.ts';
import { seedLinksOutput, seedSnapshot, sharedSnapshot } from '../support/topology-fixtures.ts';

interface Socket {
  ws: WebSocket;
  frames: TopologyFrame[];
  next(): Promise<TopologyFrame>;
  closed: Promise<number>;
}

function open(url: string, headers: Record<string, string>): Promise<Socket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const frames: TopologyFrame[] = [];
    const waiting: ((f: TopologyFrame) => void)[] = [];
    ws.on('message', (d) => {
      const f = parseTopologyFrame(String(d));
      assert.ok(f, `a frame that is not in the shared schema: ${String(d).slice(0, 200)}`);
      frames.push(f);
      waiting.shift()?.(f);
    });
    const closed = new Promise<number>((done) => ws.once('close', (code) => done(code)));
    let read = 0;
    const next = (): Promise<TopologyFrame> => {
      const have = frames[read];
      if (have) {
        read++;
        return Promise.resolve(have);
      }
      return new Promise((done) =>
        waiting.push((f) => {
          read = frames.length;
          done(f);
        }),
      );
    };
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => resolve({ ws, frames, next, closed }));
    ws.once('error', reject);
  });
}

async function opened(p: Promise<Socket | number>): Promise<Socket> {
  const s = await p;
  assert.ok(typeof s !== 'number', `upgrade refused with ${String(s)}`);
  return s;
}

test('the learner\'s panel gets the model on connect and again after an engine event, one rebuild per burst', async (t) => {
  const { server, driver, cookie, ws } = await startFakeServer(t);
  driver.snapshot = seedSnapshot();
  let linkReads = 0;
  driver.onExec = (req) => {
    if (req.argv[3] !== 'links') return {};
    linkReads++;
    return { stdout: seedLinksOutput() };
  };
  const s = await opened(open(`${ws}/ws/topology?lab=${FAKE_LAB}`, { Origin: server.url, Cookie: cookie }));
  const first = await s.next();
  assert.equal(first.type, 'model');
  assert.equal(first.type === 'model' && first.model.namespaces.length, 2);
  assert.equal(first.type === 'model' && first.model.veths.length, 2);
  const sb = driver.live()[0];
  assert.ok(sb);
  const readsBefore = linkReads;
  driver.snapshot = sharedSnapshot();
  for (let i = 0; i < 10; i++) sb.emitEngineEvent({ action: i % 2 ? 'start' : 'create' });
  const second = await s.next();
  assert.equal(second.type === 'model' && second.model.namespaces.length, 1, 'both nginx now share one namespace');
  await sleep(300);
  assert.equal(linkReads - readsBefore, 1, 'ten events in a burst were one rebuild');
  // An event that changes nothing drawn sends nothing.
  sb.emitEngineEvent({ action: 'update' });
  await sleep(300);
  assert.equal(s.frames.length, 2);
  s.ws.close();
  await s.closed;
  await sleep(50);
  assert.equal(sb.engineListeners, 0, 'the feed stopped listening to the engine with its last socket');
});

test('the same rules as the terminal: a class learner may not watch another learner; the instructor may, without starting a sandbox', async (t) => {
  const { server, driver, cookie, ws } = await startFakeServer(t);
  const headers = { Origin: server.url, Cookie: cookie, 'Content-Type': 'application/json' };
  const cls = (await (await fetch(`${server.url}/api/classes`, { method: 'POST', headers, body: JSON.stringify({ labId: FAKE_LAB }) })).json()) as { id: string; joinCode: string };
  const joined = await fetch(`${server.url}/api/join/${cls.joinCode}`, { method: 'POST', headers: { Origin: server.url, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'Ada' }) });
  const learnerCookie = (joined.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { learnerId } = (await joined.json()) as { learnerId: string };

  assert.equal(await open(`${ws}/ws/topology?lab=${FAKE_LAB}&learner=local`, { Origin: server.url, Cookie: learnerCookie }), 403, 'a learner watching another learner');
  assert.equal(await open(`${ws}/ws/topology?lab=${FAKE_LAB}`, { Origin: 'http://evil.example', Cookie: learnerCookie }), 403, 'another origin');
  assert.equal(await open(`${ws}/ws/topology?lab=${FAKE_LAB}`, { Origin: server.url }), 401, 'no cookie');

  // Joining seats the learner (in the background): wait for their sandbox, then watch it.
  for (let i = 0; i < 50 && driver.live().length === 0; i++) await sleep(20);
  const made = driver.sandboxes.length;
  const watch = await opened(open(`${ws}/ws/topology?lab=${FAKE_LAB}&learner=${learnerId}`, { Origin: server.url, Cookie: cookie }));
  assert.equal((await watch.next()).type, 'model');
  watch.ws.close();
  const nobody = await opened(open(`${ws}/ws/topology?lab=${FAKE_LAB}&learner=nobody`, { Origin: server.url, Cookie: cookie }));
  const told = await nobody.next();
  assert.equal(told.type, 'unavailable');
  assert.equal(await nobody.closed, 4404);
  assert.equal(driver.sandboxes.length, made, 'watching never made a sandbox');
});

test('when the sandbox goes, its panels are closed so they reconnect to the next one', async (t) => {
  const { server, driver, cookie, ws } = await startFakeServer(t);
  const s = await opened(open(`${ws}/ws/topology?lab=${FAKE_LAB}`, { Origin: server.url, Cookie: cookie }));
  const first = await s.next();
  assert.equal(first.type, 'model');
  assert.match(first.type === 'model' ? (first.model.notes[0] ?? '') : '', /veth ends are not shown/, 'an unreadable link list is said, not hidden');
  await driver.live()[0]?.destroy();
  assert.equal(await s.closed, 4404);
});
