// Terminal tabs through the whole app with the in-memory driver (no Docker): the tab API's answers
// and refusals, `&term=` on the terminal socket (unknown, malformed, a closed tab's socket told so),
// the limit, the active tab, and who may see whose tabs — a learner asking for another's is refused
// where the instructor, asking the same, is answered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { ClassView, Joined, TerminalTab, TerminalTabs } from '../../shared/api.ts';
import { MAX_TERMINALS } from '../../shared/api.ts';
import { FAKE_LAB, startFakeServer } from '../support/fake-server.ts';

interface Opened {
  status: number;
  first?: Promise<string>;
  closed?: Promise<{ code: number; reason: string }>;
  ws?: WebSocket;
}

function upgrade(url: string, headers: Record<string, string>): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const first = new Promise<string>((done) => ws.once('message', (d) => done(String(d))));
    const closed = new Promise<{ code: number; reason: string }>((done) => ws.once('close', (code, reason) => done({ code, reason: String(reason) })));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('open', () => resolve({ status: 101, ws, first, closed }));
    ws.once('error', reject);
  });
}

test('terminal tabs over HTTP and the terminal socket', async (t) => {
  const { server, driver, cookie, ws } = await startFakeServer(t);
  const headers = { Cookie: cookie, Origin: server.url };
  const api = async (method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${server.url}/api/labs/${FAKE_LAB}${route}`, {
      method,
      headers: { ...headers, ...(body !== undefined && { 'Content-Type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  };
  const term = (id?: string): string => `${ws}/ws/terminal?lab=${FAKE_LAB}${id === undefined ? '' : `&term=${encodeURIComponent(id)}`}`;

  const first = TerminalTabs.parse((await api('GET', '/terminals')).body);
  assert.deepEqual(first, { terminals: [{ id: '1', title: 'Terminal 1' }], active: null, limit: MAX_TERMINALS });

  const opened = await api('POST', '/terminals', {});
  assert.equal(opened.status, 201);
  assert.deepEqual(TerminalTab.parse(opened.body), { id: '2', title: 'Terminal 2' });
  assert.deepEqual(await api('POST', '/terminals', { id: 'Web Server' }), { status: 400, body: { error: "terminal id 'Web Server' is not valid: use 1-32 lowercase letters, digits, '-' or '_'" } });
  assert.deepEqual(await api('PATCH', '/terminals/2', { title: 'server' }), { status: 200, body: { id: '2', title: 'server' } });
  assert.deepEqual(await api('PATCH', '/terminals/9', { title: 'x' }), { status: 404, body: { error: "no terminal '9' in this session" } });
  assert.equal((await api('PATCH', '/terminals/2', { title: '' })).status, 400);

  // The first terminal without &term= (what clients before tabs open), then the second tab by id.
  const one = await upgrade(term(), headers);
  assert.equal(one.status, 101);
  assert.match((await one.first) ?? '', /"hello"/);
  const two = await upgrade(term('2'), headers);
  assert.equal(two.status, 101);
  assert.match((await two.first) ?? '', /"hello"/);
  assert.equal(driver.live()[0]?.ptys.length, 2, 'two shells in one sandbox');
  assert.equal((await upgrade(term('9'), headers)).status, 404, 'a tab nobody opened');
  assert.equal((await upgrade(term('../1'), headers)).status, 400, 'not a terminal id');

  // Closing the tab ends its shell; its socket is told, and does not come back.
  const closedTabs = TerminalTabs.parse((await api('DELETE', '/terminals/2')).body);
  assert.deepEqual(closedTabs.terminals.map((x) => x.id), ['1']);
  assert.deepEqual(await two.closed, { code: 4404, reason: 'this terminal tab was closed' });
  assert.equal(driver.live()[0]?.ptys[1]?.exited, true);
  assert.equal((await api('DELETE', '/terminals/2')).status, 404);

  // The limit, with a message that says what to do.
  for (let n = 1; n < MAX_TERMINALS; n++) assert.equal((await api('POST', '/terminals', {})).status, 201);
  const refused = await api('POST', '/terminals', {});
  assert.equal(refused.status, 409);
  assert.match(JSON.stringify(refused.body), /6 terminals open, the most a session may have; close one to open another/);

  assert.deepEqual(await api('PUT', '/workspace/active', { tab: 'term:3', title: 'Terminal 3' }), { status: 200, body: { tab: 'term:3', title: 'Terminal 3' } });
  assert.deepEqual(TerminalTabs.parse((await api('GET', '/terminals')).body).active, { tab: 'term:3', title: 'Terminal 3' });
  assert.equal((await api('PUT', '/workspace/active', { tab: 'Not A Tab!', title: 'x' })).status, 400);
  one.ws?.close();
});

test("a learner cannot list or watch another learner's terminals; the instructor can", async (t) => {
  const { server, cookie, ws } = await startFakeServer(t);
  const owner = { Cookie: cookie, Origin: server.url };
  const post = async (route: string, body: unknown, h: Record<string, string>) =>
    fetch(`${server.url}${route}`, { method: 'POST', headers: { ...h, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const cls = ClassView.parse(await (await post('/api/classes', { labId: FAKE_LAB }, owner)).json());
  const join = async (name: string) => {
    const res = await post(`/api/join/${cls.joinCode}`, { name }, { Origin: server.url });
    const id = Joined.parse(await res.json()).learnerId;
    return { id, headers: { Cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '', Origin: server.url } };
  };
  const ada = await join('Ada');
  const bob = await join('Bob');
  assert.equal((await post(`/api/labs/${FAKE_LAB}/terminals`, {}, ada.headers)).status, 201);
  const adaTwo = await upgrade(`${ws}/ws/terminal?lab=${FAKE_LAB}&term=2`, ada.headers);
  assert.equal(adaTwo.status, 101);
  await adaTwo.first;

  const listOf = (h: Record<string, string>) => fetch(`${server.url}/api/labs/${FAKE_LAB}/terminals?learner=${ada.id}`, { headers: h });
  const watch = (h: Record<string, string>) => upgrade(`${ws}/ws/terminal?lab=${FAKE_LAB}&learner=${ada.id}&term=2`, h);

  const bobList = await listOf(bob.headers);
  assert.equal(bobList.status, 403);
  assert.match(JSON.stringify(await bobList.json()), /another learner's terminals/);
  assert.equal((await watch(bob.headers)).status, 403, "Bob cannot watch Ada's second terminal");

  const ownerList = TerminalTabs.parse(await (await listOf(owner)).json());
  assert.deepEqual(ownerList.terminals.map((x) => x.id), ['1', '2'], 'the same request from the instructor is answered');
  const watching = await watch(owner);
  assert.equal(watching.status, 101);
  assert.match((await watching.first) ?? '', /"readOnly":true/);
  watching.ws?.close();
  adaTwo.ws?.close();
});
