// Several terminals per learner and lab, over the in-memory driver (no Docker): tab ids and their
// defaults, the per-session limit and its message, names and order kept in the store across a
// restart, the active tab, and the shells behind the tabs (one pty each, a closed tab's shell ended,
// every tab's shell ended when the session stops).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { CloseCode, encodeClientFrame } from '../../shared/protocol.ts';
import { DEFAULT_TERMINAL_ID, MAX_TERMINALS } from '../../shared/api.ts';
import { EMPTY_BOARD, reduceBoard, terminalOfTab } from '../../shared/classroom-events.ts';
import { LearnerSessions } from '../../server/session/learner-sessions.ts';
import { terminalKey } from '../../server/session/session-key.ts';
import { TabError, TerminalTabs, cleanTabTitle } from '../../server/session/terminal-tabs.ts';
import type { Store } from '../../server/store/store.ts';
import { FakeDriver } from '../support/fake-driver.ts';
import { RecordingSink, makeLab, tempStore, until, wsPair } from '../support/session-fixtures.ts';

function tabsIn(t: TestContext, limit?: number): { store: Store; tabs: TerminalTabs } {
  const store = tempStore(t);
  store.ensureLearner('ada');
  store.ensureLearner('bob');
  return { store, tabs: new TerminalTabs(store.database, limit) };
}

function sessionsFor(t: TestContext) {
  const driver = new FakeDriver();
  const store = tempStore(t);
  store.ensureLearner('ada');
  const events = new RecordingSink();
  const sessions = new LearnerSessions({ driver, store, events, idle: { ttlMs: 0, warningMs: 0 }, healthTtlMs: 60_000 });
  t.after(() => sessions.dispose());
  return { driver, store, events, sessions };
}

const refused = (kind: TabError['kind'], message: RegExp) => (err: unknown) => err instanceof TabError && err.kind === kind && message.test(err.message);

test('a session starts with the default terminal; new tabs take the lowest free number', (t) => {
  const { tabs } = tabsIn(t);
  assert.deepEqual(tabs.list('ada', 'lab'), [{ id: DEFAULT_TERMINAL_ID, title: 'Terminal 1' }]);
  assert.deepEqual(tabs.open('ada', 'lab'), { id: '2', title: 'Terminal 2' });
  assert.deepEqual(tabs.open('ada', 'lab', { title: 'logs' }), { id: '3', title: 'logs' });
  tabs.close('ada', 'lab', '2');
  assert.deepEqual(tabs.open('ada', 'lab'), { id: '2', title: 'Terminal 2' }, 'a freed number is reused');
  assert.deepEqual(tabs.list('ada', 'lab').map((x) => x.id), ['1', '3', '2'], 'in the order opened');
  assert.deepEqual(tabs.list('bob', 'lab').map((x) => x.id), ['1'], "another learner's tabs are their own");
  assert.deepEqual(tabs.list('ada', 'other-lab').map((x) => x.id), ['1'], "and another lab's");
});

test('a named terminal (a code block\'s terminal=server) is opened once, then returned as it is', (t) => {
  const { tabs } = tabsIn(t);
  assert.deepEqual(tabs.open('ada', 'lab', { id: 'server' }), { id: 'server', title: 'server' });
  tabs.rename('ada', 'lab', 'server', 'web server');
  assert.deepEqual(tabs.open('ada', 'lab', { id: 'server' }), { id: 'server', title: 'web server' });
  assert.equal(tabs.list('ada', 'lab').length, 2);
});

test('bad ids and titles are refused naming the problem', (t) => {
  const { tabs } = tabsIn(t);
  for (const id of ['', 'Server', 'a/b', '../1', 'x'.repeat(33), 'tab 2', '-1']) {
    assert.throws(() => tabs.open('ada', 'lab', { id }), refused('bad-id', /is not valid/), `id ${JSON.stringify(id)}`);
  }
  assert.throws(() => tabs.rename('ada', 'lab', '1', '   '), refused('bad-title', /needs a name/));
  assert.throws(() => tabs.rename('ada', 'lab', '1', 'x'.repeat(41)), refused('bad-title', /at most 40/));
  assert.throws(() => tabs.rename('ada', 'lab', '9', 'nine'), refused('unknown', /no terminal '9'/));
  assert.throws(() => tabs.close('ada', 'lab', '9'), refused('unknown', /no terminal '9'/));
  assert.equal(cleanTabTitle(' build\u001b[31m\nlog '), 'build [31m log', 'control characters cannot reach a tab');
});

test(`the limit: ${MAX_TERMINALS} terminals, then a clear refusal; closing one makes room`, (t) => {
  const { tabs } = tabsIn(t);
  while (tabs.list('ada', 'lab').length < MAX_TERMINALS) tabs.open('ada', 'lab');
  assert.throws(() => tabs.open('ada', 'lab'), refused('limit', new RegExp(`${MAX_TERMINALS} terminals open.*close one`)));
  assert.throws(() => tabs.open('ada', 'lab', { id: 'server' }), refused('limit', /close one/));
  assert.deepEqual(tabs.open('ada', 'lab', { id: '3' }), { id: '3', title: 'Terminal 3' }, 'an existing tab is not a new one');
  tabs.close('ada', 'lab', '4');
  assert.equal(tabs.open('ada', 'lab', { id: 'server' }).id, 'server');
});

test('names, order and the active tab survive a restart (they live in the store)', (t) => {
  const { store, tabs } = tabsIn(t);
  tabs.open('ada', 'lab', { id: 'server' });
  tabs.open('ada', 'lab');
  tabs.rename('ada', 'lab', '1', 'client');
  tabs.setActive('ada', 'lab', 'term:server', 'server', 1234);
  const again = new TerminalTabs(store.database);
  assert.deepEqual(again.list('ada', 'lab'), [
    { id: '1', title: 'client' },
    { id: 'server', title: 'server' },
    { id: '2', title: 'Terminal 2' },
  ]);
  assert.deepEqual(again.active('ada', 'lab'), { tab: 'term:server', title: 'server', at: 1234 });
  assert.equal(again.active('bob', 'lab'), null);
  tabs.close('ada', 'lab', '1');
  tabs.close('ada', 'lab', 'server');
  tabs.close('ada', 'lab', '2');
  assert.deepEqual(again.list('ada', 'lab'), [{ id: '1', title: 'Terminal 1' }], 'closing the last leaves a fresh default');
});

test('each tab is its own shell; input goes to the tab it was typed in', async (t) => {
  const { driver, sessions } = sessionsFor(t);
  const lab = makeLab(1);
  const one = await wsPair(t);
  (await sessions.prepareTerminal('ada', lab))(one.server);
  await until(() => one.client.frames.some((f) => f.includes('"hello"')), 'hello on terminal 1');
  const tab = sessions.openTerminal('ada', lab.id);
  const two = await wsPair(t);
  (await sessions.prepareTerminal('ada', lab, { terminal: tab.id }))(two.server);
  await until(() => two.client.frames.some((f) => f.includes('"hello"')), 'hello on terminal 2');
  const sb = driver.sandboxes[0];
  assert.ok(sb);
  assert.equal(driver.sandboxes.length, 1, 'both shells run in the same sandbox');
  assert.equal(sb.ptys.length, 2, 'one pty per tab');
  two.client.ws.send(encodeClientFrame({ type: 'input', data: 'echo two\r' }));
  await until(() => sb.ptys[1]?.written.includes('echo two\r') === true, 'input in the second shell');
  assert.deepEqual(sb.ptys[0]?.written, [], 'nothing typed into the first');
  sb.ptys[1]?.emit('only in two');
  await until(() => two.client.frames.some((f) => f.includes('only in two')), 'output of the second shell');
  assert.ok(!one.client.frames.some((f) => f.includes('only in two')), "the first tab does not see the second's output");
  assert.ok(sessions.terminalLive('ada', lab.id, '2'));
  assert.equal(terminalKey('ada', lab.id, '2'), 'ada:fake-lab/2');
});

test('a tab nobody opened cannot be attached; closing a tab ends its shell and tells its page', async (t) => {
  const { driver, sessions } = sessionsFor(t);
  const lab = makeLab(1);
  await assert.rejects(sessions.prepareTerminal('ada', lab, { terminal: '2' }), refused('unknown', /no terminal '2'.*open it first/));
  sessions.openTerminal('ada', lab.id);
  const two = await wsPair(t);
  (await sessions.prepareTerminal('ada', lab, { terminal: '2' }))(two.server);
  await until(() => two.client.frames.some((f) => f.includes('"hello"')), 'hello');
  await sessions.closeTerminal('ada', lab.id, '2');
  const closed = await two.client.closed;
  assert.equal(closed.code, CloseCode.UnknownSession, 'no reconnecting to a closed tab');
  assert.match(closed.reason, /tab was closed/);
  assert.equal(driver.sandboxes[0]?.ptys[0]?.exited, true, 'its shell ended');
  assert.equal(sessions.terminalLive('ada', lab.id, '2'), false);
  assert.deepEqual(sessions.tabs.list('ada', lab.id).map((x) => x.id), ['1']);
});

test("stopping the session ends every tab's shell, each page told why", async (t) => {
  const { driver, sessions } = sessionsFor(t);
  const lab = makeLab(1);
  sessions.openTerminal('ada', lab.id, { id: 'server' });
  const ends = [];
  for (const terminal of ['1', 'server']) {
    const pair = await wsPair(t);
    (await sessions.prepareTerminal('ada', lab, { terminal }))(pair.server);
    await until(() => pair.client.frames.some((f) => f.includes('"hello"')), `hello on ${terminal}`);
    ends.push(pair.client.closed);
  }
  await sessions.stop('ada', lab.id, 'ended');
  for (const closed of await Promise.all(ends)) assert.equal(closed.code, CloseCode.UnknownSession);
  assert.ok(driver.sandboxes[0]?.ptys.every((p) => p.exited));
  assert.deepEqual(sessions.tabs.list('ada', lab.id).map((x) => x.id), ['1', 'server'], 'the tabs stay for the next visit');
});

test('the active tab reaches the board and its row', (t) => {
  const { events, sessions } = sessionsFor(t);
  sessions.setActiveTab('ada', 'fake-lab', 'term:2', 'Terminal 2');
  const e = events.board.at(-1);
  assert.ok(e && e.type === 'tab');
  let board = reduceBoard(EMPTY_BOARD, { type: 'joined', learnerId: 'ada', name: 'Ada', at: 1 });
  board = reduceBoard(board, e);
  assert.deepEqual(board.learners[0]?.activeTab, { tab: 'term:2', title: 'Terminal 2' });
  assert.equal(terminalOfTab('term:2'), '2');
  assert.equal(terminalOfTab('ports'), null);
});
