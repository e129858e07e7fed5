// Idle reclaiming and the instructor's extend/end, through the whole web app with real sandboxes and a
// 3 s idle TTL (1 s warning): an idle learner is warned, then their sandbox is removed and their
// terminal closed with a reason while their progress stays; the next visit gets a fresh sandbox, which
// typing keeps alive; the instructor extends one learner's time and ends another's session, and
// learner cookies are refused both.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import type { ClassEvent } from '../../shared/classroom-events.ts';
import { LABEL } from '../../server/sandbox/naming.ts';
import { SANDBOX_DOCKER, requireDocker } from '../support/require.ts';
import { EventsClient, OPEN_TIMEOUT_MS, TermClient } from './http-clients.ts';
import { call, field, makeFixture, signIn, startServer } from './http-fixture.ts';

const TTL_MS = 3000;
const WARNING_MS = 1000;
/** How long the test waits for the idle timer to act: the TTL plus removing a sandbox. */
const RECLAIM_TIMEOUT_MS = 60_000;
/** Keep typing (or stay extended) for longer than the TTL, to show the sandbox is kept. */
const HOLD_MS = 2 * TTL_MS;
const TYPE_EVERY_MS = 500;

function sandboxesOf(labId: string, learnerId: string): string[] {
  const out = execFileSync('docker', [...SANDBOX_DOCKER, 'ps', '-a', '--filter', `label=${LABEL.lab}=${labId}`, '--filter', `label=${LABEL.learner}=${learnerId}`, '--format', '{{.Names}}'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

async function until(what: string, ok: () => boolean, timeoutMs = RECLAIM_TIMEOUT_MS): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sessionKinds = (es: ClassEvent[]): string[] => es.flatMap((e) => (e.type === 'session' ? [e.kind] : []));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('idle sandboxes are warned then reclaimed with progress kept; activity and the instructor keep them; the instructor can end one', async (t) => {
  if (!requireDocker(t)) return;
  const fx = makeFixture(t);
  fx.config = { ...fx.config, idleTtlMs: TTL_MS, idleWarningMs: WARNING_MS };
  const { url } = await startServer(t, fx, { reapSandboxes: true });
  const ws = url.replace('http', 'ws');
  const owner = await signIn(url);
  const headers = { Origin: url, Cookie: owner };
  /** The local learner's terminal from the second subtest, kept open for the third. */
  let localTerm: TermClient | undefined;

  await t.test('an idle learner (local mode) is warned, then their sandbox goes and their terminal says why; progress stays', async () => {
    const notices = await EventsClient.open(`${ws}/ws/events`, headers);
    t.after(() => notices.close());
    const term = await TermClient.open(`${ws}/ws/terminal?lab=${fx.labId}`, headers);
    term.type('echo hello > greeting.txt && echo wrote-$((20+22))\r');
    await term.waitFor(/wrote-42/, OPEN_TIMEOUT_MS);
    const check = await call(url, owner, 'POST', `/api/labs/${fx.labId}/steps/hello/check`, {});
    assert.equal(Reflect.get(Object(check.body), 'passed'), true, JSON.stringify(check.body).slice(0, 1000));
    assert.equal(sandboxesOf(fx.labId, 'local').length, 1);

    await notices.waitFor('the idle warning, then the stop', (es) => sessionKinds(es).includes('idle-stopped'), RECLAIM_TIMEOUT_MS);
    assert.deepEqual(sessionKinds(notices.events), ['idle-warning', 'idle-stopped'], 'warned first');
    const warning = notices.events.find((e) => e.type === 'session' && e.kind === 'idle-warning');
    assert.match(warning?.type === 'session' ? warning.message : '', /will be stopped in 1 s because it has been idle — press any key/);
    const closed = await term.closed;
    assert.equal(closed.code, 4404);
    assert.match(closed.reason, /stopped because it was idle/);
    await until('the sandbox to be removed', () => sandboxesOf(fx.labId, 'local').length === 0);

    const lab = await call(url, owner, 'GET', `/api/labs/${fx.labId}`);
    assert.equal(lab.status, 200);
    assert.deepEqual(Reflect.get(Object(Reflect.get(Object(lab.body), 'progress')), 'completedSteps'), ['hello'], 'progress kept');
  });

  await t.test('the next visit gets a fresh sandbox, and typing keeps it past the TTL', async () => {
    const notices = await EventsClient.open(`${ws}/ws/events`, headers);
    t.after(() => notices.close());
    const term = await TermClient.open(`${ws}/ws/terminal?lab=${fx.labId}`, headers);
    t.after(() => term.close());
    term.type('test -e greeting.txt || echo fresh-$((40+2))\r');
    await term.waitFor(/fresh-42/, OPEN_TIMEOUT_MS);
    for (let waited = 0; waited < HOLD_MS; waited += TYPE_EVERY_MS) {
      term.type(':\r');
      await sleep(TYPE_EVERY_MS);
    }
    term.type('echo still-$((1+1))\r');
    await term.waitFor(/still-2/);
    assert.deepEqual(sessionKinds(notices.events), [], 'neither warned nor stopped');
    assert.equal(sandboxesOf(fx.labId, 'local').length, 1);
    localTerm = term;
  });

  await t.test('the instructor extends one learner and ends another; learner cookies get 403 on both', async () => {
    // The local learner's stream, open beside the class learners' ones: the local sandbox left running
    // by the previous subtest goes idle while they watch theirs, so notices for someone else are
    // flowing. Open before anything else and kept busy until the class learners' streams are open:
    // making their sandboxes can take longer than the TTL, and a stop before then is seen by nobody.
    const localNotices = await EventsClient.open(`${ws}/ws/events`, headers);
    t.after(() => localNotices.close());
    assert.ok(localTerm, 'the previous subtest left the local terminal open');
    const keepLocalBusy = setInterval(() => localTerm?.type(':\r'), TYPE_EVERY_MS);
    t.after(() => clearInterval(keepLocalBusy));
    const created = await call(url, owner, 'POST', '/api/classes', { labId: fx.labId });
    assert.equal(created.status, 201);
    const classId = field(created.body, 'id');
    const code = field(created.body, 'joinCode');
    const board = await EventsClient.open(`${ws}/ws/events?class=${classId}`, headers);
    t.after(() => board.close());
    const join = async (name: string) => {
      const res = await call(url, undefined, 'POST', `/api/join/${code}`, { name });
      assert.equal(res.status, 201);
      const cookie = (res.setCookie ?? '').split(';')[0] ?? '';
      const h = { Origin: url, Cookie: cookie };
      const notices = await EventsClient.open(`${ws}/ws/events`, h);
      t.after(() => notices.close());
      const term = await TermClient.open(`${ws}/ws/terminal?lab=${fx.labId}`, h);
      return { id: field(res.body, 'learnerId'), cookie, notices, term };
    };
    const [kept, ended] = await Promise.all([join('Kept'), join('Ended')]).finally(() => clearInterval(keepLocalBusy));
    t.after(() => kept.term.close());
    assert.deepEqual(sessionKinds(localNotices.events), [], 'the local learner was kept busy until now');

    for (const action of ['extend', 'end']) {
      const res = await call(url, kept.cookie, 'POST', `/api/classes/${classId}/learners/${ended.id}/${action}`, {});
      assert.equal(res.status, 403, `a learner may not ${action}`);
    }
    assert.equal((await call(url, owner, 'POST', `/api/classes/${classId}/learners/nobody/end`, {})).status, 404);

    const extended = await call(url, owner, 'POST', `/api/classes/${classId}/learners/${kept.id}/extend`, { minutes: 5 });
    assert.equal(extended.status, 200, JSON.stringify(extended.body));
    await kept.notices.waitFor('the extension notice', (es) => sessionKinds(es).includes('extended'));

    // With no warm pool sized, class learners' sandboxes are made for them and carry their ids.
    assert.equal(sandboxesOf(fx.labId, ended.id).length, 1);
    const end = await call(url, owner, 'POST', `/api/classes/${classId}/learners/${ended.id}/end`, {});
    assert.equal(end.status, 200, JSON.stringify(end.body));
    const closed = await ended.term.closed;
    assert.equal(closed.code, 4404);
    assert.match(closed.reason, /instructor ended your session/);
    assert.deepEqual(sessionKinds(ended.notices.events).slice(-1), ['ended']);
    assert.deepEqual(sandboxesOf(fx.labId, ended.id), [], 'the ended learner\'s sandbox is gone');
    await board.waitFor('the end on the board', (es) => es.some((e) => e.type === 'session' && e.learnerId === ended.id && e.kind === 'ended'));
    // The ended learner is still in the class: their page still answers.
    assert.equal((await call(url, ended.cookie, 'GET', `/api/labs/${fx.labId}`)).status, 200);

    // The extended learner sits idle past the TTL and keeps their sandbox.
    await sleep(HOLD_MS);
    assert.ok(!sessionKinds(kept.notices.events).includes('idle-stopped'), 'the extension held');
    assert.equal(sandboxesOf(fx.labId, kept.id).length, 1);
    kept.term.type('echo kept-$((3*3))\r');
    await kept.term.waitFor(/kept-9/);

    // Each learner's own stream carried only their notices: none of the other's, none of the local learner's.
    await localNotices.waitFor("the local learner's idle stop", (es) => sessionKinds(es).includes('idle-stopped'), RECLAIM_TIMEOUT_MS);
    const streams: [string, string, ClassEvent[]][] = [
      ['Kept', kept.id, kept.notices.events],
      ['Ended', ended.id, ended.notices.events],
      ['local', 'local', localNotices.events],
    ];
    for (const [name, id, es] of streams) {
      const foreign = es.filter((e) => e.type !== 'session' || e.learnerId !== id);
      assert.deepEqual(foreign, [], `${name}'s stream carries only ${name}'s notices`);
    }
    assert.ok(!sessionKinds(kept.notices.events).includes('ended'), "Kept never heard of Ended's end");
    assert.ok(!sessionKinds(ended.notices.events).includes('extended'), "Ended never heard of Kept's extension");
  });
});
