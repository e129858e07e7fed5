// The learner's session owner over the in-memory driver (no Docker): the idle clock from warning to
// reclaim with the terminal closed for a reason and a fresh sandbox on the next visit; reset-to-step
// running each earlier step's setup exactly once; class end and the warm pool's hand-out and refill.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { encodeClientFrame, CloseCode } from '../../shared/protocol.ts';
import { endClass } from '../../server/classroom/class-lifecycle.ts';
import { ClassEvents } from '../../server/classroom/class-events.ts';
import { ClassStore } from '../../server/classroom/class-store.ts';
import { WarmPool } from '../../server/classroom/warm-pool.ts';
import { silentLogger } from '../../server/log.ts';
import { LearnerSessions } from '../../server/session/learner-sessions.ts';
import type { Store } from '../../server/store/store.ts';
import { FakeDriver, type FakeSandbox } from '../support/fake-driver.ts';
import { RecordingSink, makeLab, tempStore, until, wsPair } from '../support/session-fixtures.ts';

const MIN = 60_000;

function sessionsFor(t: TestContext, over: { driver?: FakeDriver; store?: Store; now?: () => number; seat?: ConstructorParameters<typeof LearnerSessions>[0]['seat'] } = {}) {
  const driver = over.driver ?? new FakeDriver();
  const store = over.store ?? tempStore(t);
  const events = new RecordingSink();
  const sessions = new LearnerSessions({
    driver,
    store,
    events,
    idle: { ttlMs: 10 * MIN, warningMs: MIN },
    healthTtlMs: 60_000,
    ...(over.now && { now: over.now }),
    ...(over.seat && { seat: over.seat }),
  });
  t.after(() => sessions.dispose());
  return { driver, store, events, sessions };
}

test('idle: warned, then reclaimed — the terminal closes saying why, the next visit gets a fresh sandbox', async (t) => {
  let now = 0;
  const { driver, events, sessions } = sessionsFor(t, { now: () => now });
  const lab = makeLab(1);

  const { server, client } = await wsPair(t);
  (await sessions.prepareTerminal('ada', lab))(server);
  await until(() => client.frames.some((f) => f.includes('"hello"')), 'the terminal hello');
  const first = driver.sandboxes[0];
  assert.ok(first);
  assert.deepEqual(first.scripts.filter((s) => s.includes('setup-1')).length, 1, "the current step's setup ran on connect");

  // Typing is activity: it moves the deadline.
  now = 5 * MIN;
  client.ws.send(encodeClientFrame({ type: 'input', data: 'ls\r' }));
  await until(() => sessions.idle.deadline('ada', lab.id) === 15 * MIN, 'typing to move the deadline');

  now = 14 * MIN;
  sessions.idle.tick();
  assert.deepEqual(events.kinds('ada'), ['idle-warning']);
  assert.equal(first.destroyed, false, 'a warning does not stop the sandbox');

  now = 15 * MIN;
  sessions.idle.tick();
  const closed = await client.closed;
  assert.equal(closed.code, CloseCode.UnknownSession, 'closed for good: no reconnecting into a new sandbox unasked');
  assert.match(closed.reason, /stopped because it was idle/);
  await until(() => first.destroyed, 'the sandbox to go');
  assert.deepEqual(events.kinds('ada'), ['idle-warning', 'idle-stopped']);
  assert.equal(sessions.status('ada', lab.id).state, 'none');
  assert.ok(events.board.some((e) => e.type === 'sandbox' && e.state === 'none'), 'the board heard the sandbox went');

  const next = await wsPair(t);
  (await sessions.prepareTerminal('ada', lab))(next.server);
  const second = driver.sandboxes[1];
  assert.ok(second && second !== first && !second.destroyed, 'a fresh sandbox');
  assert.equal(sessions.idle.deadline('ada', lab.id), 25 * MIN, 'with a fresh idle clock');
});

test('extend: the clock starts over with extra time and the learner is told; nothing to extend without a sandbox', async (t) => {
  let now = 0;
  const { events, sessions } = sessionsFor(t, { now: () => now });
  const lab = makeLab(1);
  assert.equal(sessions.extend('ada', lab.id, 30 * MIN), null);
  await sessions.ensure('ada', lab);
  now = 9 * MIN;
  assert.deepEqual(sessions.extend('ada', lab.id, 30 * MIN), { deadline: 49 * MIN });
  assert.deepEqual(events.kinds('ada'), ['extended']);
});

test('reset to step 3: a fresh sandbox, each earlier step set up and solved once, the terminal told why', async (t) => {
  const { driver, store, events, sessions } = sessionsFor(t);
  const lab = makeLab(4);
  const [s1, s2, s3] = lab.steps;
  assert.ok(s1 && s2 && s3);
  store.ensureLearner('ada');

  const { server, client } = await wsPair(t);
  (await sessions.prepareTerminal('ada', lab))(server);
  await until(() => client.frames.some((f) => f.includes('"hello"')), 'the terminal hello');
  const old = driver.sandboxes[0];
  assert.ok(old);

  await sessions.resetTo('ada', lab, s3);
  const closed = await client.closed;
  assert.equal(closed.code, CloseCode.GoingAway, 'the page may reconnect: into the fresh sandbox');
  assert.match(closed.reason, /reset your sandbox to step 3/);
  assert.equal(old.destroyed, true);
  const fresh = driver.live()[0];
  assert.ok(fresh && fresh !== old);
  assert.deepEqual(fresh.scripts.map(script), ['setup-1', 'solve-1', 'setup-2', 'solve-2', 'setup-3']);
  assert.equal(store.getProgress('ada', lab.id).currentStep, s3.id);
  assert.deepEqual(events.kinds('ada'), ['reset']);

  // Going back over the earlier steps runs nothing again: their setup is on record for this sandbox.
  for (const s of [s1, s2, s3]) await sessions.openStep('ada', lab, s);
  const again = await wsPair(t);
  (await sessions.prepareTerminal('ada', lab))(again.server);
  await until(() => again.client.frames.some((f) => f.includes('"hello"')), 'the reconnected terminal');
  assert.deepEqual(fresh.scripts.map(script), ['setup-1', 'solve-1', 'setup-2', 'solve-2', 'setup-3']);
});

test('a terminal that connects during a reset waits for it and lands in the reset sandbox', async (t) => {
  const { driver, store, sessions } = sessionsFor(t);
  const lab = makeLab(2);
  const s2 = lab.steps[1];
  assert.ok(s2);
  store.ensureLearner('ada');
  await sessions.ensure('ada', lab);
  let release: () => void = () => {};
  driver.gate = new Promise((resolve) => (release = resolve));
  const reset = sessions.resetTo('ada', lab, s2);
  const attaching = sessions.prepareTerminal('ada', lab);
  release();
  driver.gate = undefined;
  await reset;
  const { server, client } = await wsPair(t);
  (await attaching)(server);
  await until(() => client.frames.some((f) => f.includes('"hello"')), 'the terminal hello');
  assert.equal(driver.live().length, 1);
  assert.deepEqual(driver.live()[0]?.scripts.map(script), ['setup-1', 'solve-1', 'setup-2']);
});

test('class end: every learner\'s sandbox and the pool\'s spares are destroyed, each open terminal told why', async (t) => {
  const store = tempStore(t);
  const classes = new ClassStore(store.database);
  const driver = new FakeDriver();
  const pool = new WarmPool({ driver, classes });
  t.after(() => pool.dispose());
  const { sessions, events } = sessionsFor(t, { driver, store, seat: (learnerId, lab) => pool.take(learnerId, lab) });
  const lab = makeLab(1);
  const catalog = { labs: [lab], byId: (id: string) => (id === lab.id ? lab : undefined) };
  const cls = classes.createClass(lab.id, 'Tuesday');
  const learners = ['Ada', 'Grace', 'Linus'].map((name) => classes.addLearner(cls.id, name).learner.learnerId);
  assert.equal(pool.resize(lab, 4).ok, true);
  await until(() => pool.status(lab.id).ready === 4, 'the pool to fill');

  const [a, b] = learners;
  assert.ok(a && b);
  await sessions.ensure(a, lab);
  const { server, client } = await wsPair(t);
  (await sessions.prepareTerminal(b, lab))(server);
  await until(() => client.frames.some((f) => f.includes('"hello"')), 'the terminal hello');
  assert.equal(driver.live().length, 4, 'two handed out, two spares');

  const classEvents = new ClassEvents(classes);
  const { destroyed } = await endClass({ catalog, classes, sessions, pool, events: classEvents, logger: silentLogger }, cls);
  assert.equal(destroyed, 3);
  assert.deepEqual(driver.live(), [], 'no sandbox left');
  const closed = await client.closed;
  assert.equal(closed.code, CloseCode.UnknownSession);
  assert.match(closed.reason, /ended the class/);
  for (const l of learners) assert.deepEqual(events.kinds(l), ['class-ended'], l);
});

test('warm pool: learners get prepared sandboxes at once; one more than the head count waits while the pool makes another', async (t) => {
  const store = tempStore(t);
  const classes = new ClassStore(store.database);
  const driver = new FakeDriver();
  const pool = new WarmPool({ driver, classes });
  t.after(() => pool.dispose());
  const { sessions } = sessionsFor(t, { driver, store, seat: (learnerId, lab) => pool.take(learnerId, lab) });
  const lab = makeLab(1);
  const cls = classes.createClass(lab.id, 'Tuesday');
  const [a, b, c] = ['Ada', 'Grace', 'Linus'].map((name) => classes.addLearner(cls.id, name).learner.learnerId);
  assert.ok(a && b && c);

  pool.resize(lab, 2);
  await until(() => pool.status(lab.id).ready === 2, 'the pool to fill');
  const prepared = [...driver.sandboxes];
  const [sa, sb] = await Promise.all([sessions.ensure(a, lab), sessions.ensure(b, lab)]);
  assert.deepEqual(new Set([sa, sb]), new Set(prepared), 'handed out the prepared ones');
  assert.equal(classes.assignmentOf(sa.id)?.learnerId, a, 'the hand-out is on record (its label still says pool)');
  assert.deepEqual(pool.status(lab.id), { target: 2, ready: 0, preparing: 0, assigned: 2, failed: 0, waiting: 0 });

  let release: () => void = () => {};
  driver.gate = new Promise((resolve) => (release = resolve));
  const third = sessions.ensure(c, lab);
  await until(() => sessions.status(c, lab.id).state === 'waiting', 'the third learner to wait for a seat');
  assert.equal(pool.status(lab.id).preparing, 1, 'the pool refills for the learner beyond the head count');
  release();
  const sc = await third;
  assert.equal(driver.sandboxes.length, 3);
  assert.equal((sc as FakeSandbox).spec.learnerId, 'pool');
  assert.equal(sessions.status(c, lab.id).state, 'ready');
  assert.equal(pool.status(lab.id).assigned, 3);
});

/** What a setup or solve exec ran (`set -e` stripped). */
function script(s: string): string {
  return s.replace(/^set -e\n/, '');
}

test("foreground: typed into the learner's terminal when the step opens, once per sandbox, after its setup", async (t) => {
  const { driver, sessions } = sessionsFor(t);
  const lab = makeLab(2);
  const [one, two] = lab.steps;
  assert.ok(one && two);
  one.foreground = 'echo first\necho line two\n';
  two.foreground = 'echo second\n';

  // Opening a step with no terminal types nothing (there is nowhere to type it).
  await sessions.openStep('ada', lab, one);
  const sandbox = driver.sandboxes[0];
  assert.ok(sandbox);
  assert.equal(sandbox.ptys.length, 0);

  // Attaching the terminal opens the current step again: now it is typed, Enter as \r.
  const { server, client } = await wsPair(t);
  (await sessions.prepareTerminal('ada', lab))(server);
  await until(() => client.frames.some((f) => f.includes('"hello"')), 'the terminal hello');
  const pty = sandbox.ptys[0];
  assert.ok(pty);
  await until(() => pty.written.includes('echo first\recho line two\r'), 'the foreground typed');

  // Again (a reload, a check): not typed twice in the same sandbox; the next step types its own.
  await sessions.openStep('ada', lab, one);
  await sessions.openStep('ada', lab, two);
  assert.deepEqual(pty.written, ['echo first\recho line two\r', 'echo second\r']);
  assert.ok(sandbox.scripts.findIndex((s) => s.includes('setup-2')) >= 0, 'the setup ran before');
});
