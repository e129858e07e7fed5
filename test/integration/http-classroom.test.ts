// A class through the whole web app with real sandboxes: the instructor creates a class and a warm
// pool, ten learners join at once and each runs the seed lab's first step in their own sandbox, the
// event stream reports it all, learners cannot reach each other's terminals, results or the
// instructor's routes, the instructor watches a terminal read-only, and ending the class removes
// every sandbox.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import type { ClassEvent } from '../../shared/classroom-events.ts';
import { LABEL } from '../../server/sandbox/naming.ts';
import { SANDBOX_DOCKER, requireDocker } from '../support/require.ts';
import { EventsClient, OPEN_TIMEOUT_MS, TermClient, upgradeStatus } from './http-clients.ts';
import { call, copyLab, field, signIn, startServer } from './http-fixture.ts';
import { loadCatalog } from '../../server/labs/catalog.ts';

const LEARNERS = 10;
/** One sandbox per learner plus one for a late namesake, prepared two at a time (the reset learner's are made on demand). */
const POOL_SIZE = LEARNERS + 1;
const POOL_TIMEOUT_MS = 300_000;
const CHECK_ATTEMPTS = 3;

function sandboxesOf(labId: string): string[] {
  const out = execFileSync('docker', [...SANDBOX_DOCKER, 'ps', '-a', '--filter', `label=${LABEL.lab}=${labId}`, '--format', '{{.Names}}'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

const count = (events: ClassEvent[], fn: (e: ClassEvent) => boolean): number => events.filter(fn).length;

test('a class of ten: pool, concurrent joins, checks, events, isolation and the end of class', async (t) => {
  if (!requireDocker(t)) return;
  const fx = copyLab(t, path.resolve('labs/linux-networks'));
  const server = await startServer(t, fx, { reapSandboxes: true });
  const { url } = server;
  const wsBase = url.replace('http', 'ws');
  const owner = await signIn(url);

  const created = await call(url, owner, 'POST', '/api/classes', { labId: fx.labId, name: 'Integration class' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const classId = field(created.body, 'id');
  const code = field(created.body, 'joinCode');
  assert.match(field(created.body, 'joinUrl'), new RegExp(`/join/${code}$`));

  const board = await EventsClient.open(`${wsBase}/ws/events?class=${classId}`, { Origin: url, Cookie: owner });
  t.after(() => board.close());
  await board.waitFor('the class header', (es) => es.some((e) => e.type === 'class' && e.class.joinCode === code));

  await t.test('the warm pool fills, two at a time, and reports its progress', async () => {
    const sized = await call(url, owner, 'POST', `/api/classes/${classId}/pool`, { size: POOL_SIZE });
    assert.equal(sized.status, 200, JSON.stringify(sized.body));
    // Every limit is named with its numbers: memory, disk and process ids (addresses only for trusted sandboxes).
    assert.match(field(sized.body, 'message'), new RegExp(`^fits for ${POOL_SIZE} sandboxes: memory: ${POOL_SIZE} × 200 MiB = .*; disk: ${POOL_SIZE} × 1024 MiB = .*; processes: ${POOL_SIZE} × 1024 = `));
    await board.waitFor(
      `${POOL_SIZE} ready`,
      (es) => {
        const stopped = es.find((e) => e.type === 'pool' && e.pool.message !== undefined);
        if (stopped) throw new Error(`the pool stopped: ${JSON.stringify(stopped)}`);
        return es.some((e) => e.type === 'pool' && e.pool.ready === POOL_SIZE);
      },
      POOL_TIMEOUT_MS,
    );
    const pools = board.events.flatMap((e) => (e.type === 'pool' ? [e.pool] : []));
    assert.ok(pools.every((p) => p.preparing <= 2), 'never more than two prepared at once');
    assert.equal(sandboxesOf(fx.labId).length, POOL_SIZE);
  });

  const learners: { id: string; cookie: string; term: TermClient }[] = [];
  await t.test(`${LEARNERS} learners join at once and each gets a sandbox of their own`, async () => {
    const joined = await Promise.all(
      Array.from({ length: LEARNERS }, async (_, i) => {
        const res = await call(url, undefined, 'POST', `/api/join/${code.toLowerCase()}`, { name: `Learner ${i}` });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.match(res.setCookie ?? '', /^labrun_learner=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Lax/);
        const cookie = (res.setCookie ?? '').split(';')[0] ?? '';
        const term = await TermClient.open(`${wsBase}/ws/terminal?lab=${fx.labId}`, { Origin: url, Cookie: cookie });
        return { id: field(res.body, 'learnerId'), cookie, term };
      }),
    );
    learners.push(...joined);
    assert.equal(new Set(learners.map((l) => l.id)).size, LEARNERS, 'distinct learners');
    const db = new Database(path.join(fx.dataDir, 'labrun.db'), { readonly: true });
    t.after(() => db.close());
    const rows = db.prepare('SELECT sandbox_id, learner_id FROM pool_assignments').all();
    assert.equal(rows.length, LEARNERS, 'every learner was seated from the pool');
    assert.equal(new Set(rows.map((r) => JSON.stringify(r).match(/"sandbox_id":"(\w+)"/)?.[1])).size, LEARNERS, 'distinct sandboxes');
  });

  await t.test('each runs the first step and its check passes; the same container name and port never clash', async () => {
    await Promise.all(
      learners.map(async (l) => {
        l.term.type('docker run --name dummynginx -p 8080:80 -d nginx >/dev/null && echo started-$((40+2)) && docker ps -q | wc -l\r');
        await l.term.waitFor(/started-42\s+1\s/, OPEN_TIMEOUT_MS);
        let passed = false;
        let last: unknown;
        // nginx answers a moment after `docker run` returns; the check reaches it over HTTP.
        for (let i = 0; i < CHECK_ATTEMPTS && !passed; i++) {
          const res = await call(url, l.cookie, 'POST', `/api/labs/${fx.labId}/steps/${'one-container'}/check`, {});
          assert.equal(res.status, 200, JSON.stringify(res.body));
          last = res.body;
          passed = typeof res.body === 'object' && res.body !== null && Reflect.get(res.body, 'passed') === true;
          if (!passed) await new Promise((r) => setTimeout(r, 1000));
        }
        assert.ok(passed, JSON.stringify(last).slice(0, 2000));
      }),
    );
  });

  await t.test('the event stream reported joins, ready sandboxes, checks and done steps for everyone', async () => {
    const ids = new Set(learners.map((l) => l.id));
    await board.waitFor('every step done', (es) => count(es, (e) => e.type === 'step-done' && ids.has(e.learnerId)) >= LEARNERS);
    const es = board.events;
    assert.equal(count(es, (e) => e.type === 'joined' && ids.has(e.learnerId)), LEARNERS);
    for (const id of ids) {
      assert.ok(es.some((e) => e.type === 'sandbox' && e.learnerId === id && e.state === 'ready'), `${id} ready`);
      assert.ok(es.some((e) => e.type === 'check' && e.learnerId === id && e.passed), `${id} passed`);
    }
  });

  const [a, b] = learners;
  assert.ok(a && b);
  await t.test('learner A cannot open B\'s terminal or read B\'s results; the instructor\'s routes are closed to learners', async () => {
    assert.equal(await upgradeStatus(`${wsBase}/ws/terminal?lab=${fx.labId}&learner=${b.id}`, { Origin: url, Cookie: a.cookie }), 403);
    assert.equal((await call(url, a.cookie, 'GET', `/api/labs/${fx.labId}/attempts?learner=${b.id}`)).status, 403);
    const own = await call(url, a.cookie, 'GET', `/api/labs/${fx.labId}/attempts`);
    assert.equal(own.status, 200);
    assert.equal(field(own.body, 'learnerId'), a.id);
    const forbidden: [string, string, unknown][] = [
      ['GET', '/api/classes', undefined],
      ['POST', '/api/classes', { labId: fx.labId }],
      ['GET', `/api/classes/${classId}`, undefined],
      ['POST', `/api/classes/${classId}/join`, { open: false }],
      ['POST', `/api/classes/${classId}/end`, {}],
      ['POST', `/api/classes/${classId}/broadcast`, { message: 'hi' }],
      ['POST', `/api/classes/${classId}/pool`, { size: 1 }],
      ['GET', '/instructor', undefined],
      ['GET', `/instructor/classes/${classId}`, undefined],
    ];
    for (const [method, route, body] of forbidden) assert.equal((await call(url, a.cookie, method, route, body)).status, 403, `${method} ${route}`);
    // Another lab than the class's: refused too.
    assert.equal((await call(url, a.cookie, 'GET', '/api/labs/some-other-lab')).status, 403);
  });

  await t.test('a learner\'s event stream carries broadcasts, not the others\' progress', async () => {
    const feed = await EventsClient.open(`${wsBase}/ws/events?class=${classId}`, { Origin: url, Cookie: a.cookie });
    t.after(() => feed.close());
    const sent = await call(url, owner, 'POST', `/api/classes/${classId}/broadcast`, { message: 'Break in 5 minutes' });
    assert.equal(sent.status, 200);
    await feed.waitFor('the broadcast', (es) => es.some((e) => e.type === 'broadcast' && e.message === 'Break in 5 minutes'));
    assert.deepEqual([...new Set(feed.events.map((e) => e.type))].sort(), ['broadcast', 'class']);
  });

  await t.test('the instructor watches A\'s terminal read-only: sees the output, cannot type', async () => {
    const watch = await TermClient.open(`${wsBase}/ws/terminal?lab=${fx.labId}&learner=${a.id}`, { Origin: url, Cookie: owner });
    await watch.waitFor(/started-42/);
    assert.ok(watch.controls.some((f) => f.type === 'hello' && f.readOnly));
    watch.type('echo watcher-typed-$((1+1))\r');
    // A pong means the server has handled the watcher's input frame (into the pty or dropped); the
    // pty's order then puts any echo of it before the learner's output, on the learner's own socket.
    await new Promise<void>((resolve) => {
      watch.ws.once('pong', () => resolve());
      watch.ws.ping();
    });
    a.term.type('echo learner-typed-$((2+2))\r');
    await a.term.waitFor(/learner-typed-4/);
    await watch.waitFor(/learner-typed-4/);
    assert.doesNotMatch(a.term.output + watch.output, /watcher-typed-2/);
    await watch.close();
  });

  await t.test('the same browser rejoins as the same learner; a namesake in another browser is someone else', async () => {
    const again = await call(url, a.cookie, 'POST', `/api/join/${code}`, { name: 'Learner 0' });
    assert.equal(again.status, 200);
    assert.equal(field(again.body, 'learnerId'), a.id);
    assert.equal(again.setCookie, null, 'no new cookie');
    const namesake = await call(url, undefined, 'POST', `/api/join/${code}`, { name: 'Learner 0' });
    assert.equal(namesake.status, 201);
    assert.notEqual(field(namesake.body, 'learnerId'), a.id);
    const bad = await call(url, undefined, 'POST', `/api/join/${code}`, { name: '   ' });
    assert.equal(bad.status, 400);
    assert.equal((await call(url, undefined, 'POST', '/api/join/ZZZZZZ', { name: 'x' })).status, 404);
  });

  await t.test('the instructor resets a learner to step 2: a fresh sandbox with step 1 solved, progress kept', async () => {
    const namesake = await call(url, undefined, 'POST', `/api/join/${code}`, { name: 'Reset me' });
    assert.equal(namesake.status, 201);
    const id = field(namesake.body, 'learnerId');
    const cookie = (namesake.setCookie ?? '').split(';')[0] ?? '';
    assert.equal((await call(url, cookie, 'POST', `/api/classes/${classId}/learners/${id}/reset`, { stepId: 'compose-namespaces' })).status, 403, 'not for learners');
    const reset = await call(url, owner, 'POST', `/api/classes/${classId}/learners/${id}/reset`, { stepId: 'compose-namespaces' });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    const lab = await call(url, cookie, 'GET', `/api/labs/${fx.labId}`);
    assert.match(JSON.stringify(lab.body), /"currentStep":"compose-namespaces"/);
    const term = await TermClient.open(`${wsBase}/ws/terminal?lab=${fx.labId}`, { Origin: url, Cookie: cookie });
    term.type('docker ps --format "{{.Names}}" && echo listed-$((1+1))\r');
    await term.waitFor(/dummynginx\s+listed-2/);
    await term.close();
    await board.waitFor('the reset learner on step 2', (es) => es.some((e) => e.type === 'step-opened' && e.learnerId === id && e.stepId === 'compose-namespaces'));
  });

  await t.test('a closed join code turns new learners away; ending the class removes every sandbox and session', async () => {
    assert.equal((await call(url, owner, 'POST', `/api/classes/${classId}/join`, { open: false })).status, 200);
    const late = await call(url, undefined, 'POST', `/api/join/${code}`, { name: 'Late' });
    assert.equal(late.status, 403);
    assert.match(field(late.body, 'error'), /not taking new learners/);

    const ended = await call(url, owner, 'POST', `/api/classes/${classId}/end`, {});
    assert.equal(ended.status, 200, JSON.stringify(ended.body));
    assert.deepEqual(sandboxesOf(fx.labId), [], 'no sandbox of the class is left');
    const after = await call(url, a.cookie, 'GET', `/api/labs/${fx.labId}`);
    assert.equal(after.status, 401);
    assert.match(field(after.body, 'error'), /class session has ended/);
    await Promise.all(learners.map((l) => l.term.closed));
  });

  await t.test('the results, as the board\'s CSV and `labrun export`, list every learner and step with its state', async () => {
    const steps = (await loadCatalog(fx.labsDir)).byId(fx.labId)?.steps ?? [];
    assert.equal(steps.length, 7);
    const res = await fetch(`${url}/api/classes/${classId}/results.csv`, { headers: { cookie: owner } });
    assert.equal(res.status, 200);
    const csv = await res.text();
    const cli = execFileSync('bin/labrun', ['export', '--class', classId, '--data', fx.dataDir, '--labs', fx.labsDir], { encoding: 'utf8' });
    assert.equal(cli, csv, 'the command prints what the board downloads');
    const rows: Record<string, string>[] = parse(csv, { columns: true });
    const learnerIds = [...new Set(rows.map((r) => r.learner_id))];
    // Ten learners, the late namesake and the learner who was reset: every one, with every step.
    assert.equal(learnerIds.length, LEARNERS + 2);
    assert.equal(rows.length, (LEARNERS + 2) * steps.length);
    for (const id of learnerIds) assert.deepEqual(rows.filter((r) => r.learner_id === id).map((r) => r.step_id), steps.map((s) => s.id), `${id}: every step, in order`);
    for (const l of learners) {
      const mine = rows.filter((r) => r.learner_id === l.id);
      const first = mine[0];
      assert.ok(first);
      assert.equal(first.state, 'done', `${l.id} did step one`);
      assert.match(first.done_at ?? '', /^\d{4}-\d\d-\d\dT/);
      assert.ok(Number(first.attempts) >= 1 && Number(first.attempts) <= CHECK_ATTEMPTS);
      assert.equal(Number(first.failed_attempts), Number(first.attempts) - 1, 'failed until the one that passed');
      assert.ok(Number(first.time_on_step_seconds) >= 0);
      assert.deepEqual(mine.slice(1).map((r) => r.state), steps.slice(1).map(() => 'not started'));
    }
    const reset = rows.filter((r) => r.learner_name === 'Reset me');
    assert.deepEqual(reset.map((r) => r.state), ['not started', 'current', 'not started', 'not started', 'not started', 'not started', 'not started']);
    const namesakes = rows.filter((r) => r.learner_name === 'Learner 0');
    assert.equal(namesakes.length, 2 * steps.length, 'the first Learner 0 and the namesake are two learners');
    assert.equal(rows[0]?.step_title, steps[0]?.title);
  });
});
