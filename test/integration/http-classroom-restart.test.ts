// A classroom server killed hard (SIGKILL) mid-class and started again on the same data folder:
// progress is intact, the learners' cookies still work, each learner gets their own sandbox back
// (a warm-pool sandbox's owner comes from SQLite, its label still says "pool"), and the pool's
// unassigned sandbox is re-adopted and handed to the next learner instead of a new one being made.
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { LABEL } from '../../server/sandbox/naming.ts';
import { SANDBOX_DOCKER, requireDocker } from '../support/require.ts';
import { EventsClient, TermClient } from './http-clients.ts';
import { TOKEN, call, field, makeFixture, reapFixtureSandboxes, signIn, type Fixture } from './http-fixture.ts';

const POOL_SIZE = 3;
const START_TIMEOUT_MS = 180_000;
const POOL_TIMEOUT_MS = 240_000;

function sandboxesOf(labId: string): string[] {
  const out = execFileSync('docker', [...SANDBOX_DOCKER, 'ps', '-a', '--filter', `label=${LABEL.lab}=${labId}`, '--format', '{{.Names}}'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).sort();
}

/** Starts `labrun serve` as its own process; resolves with its URL once it prints that it is ready. */
function serve(t: TestContext, fx: Fixture): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.resolve('server/cli.ts'), 'serve', '--port', '0', '--labs', fx.labsDir, '--data', fx.dataDir, '--token', TOKEN],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`labrun serve did not get ready:\n${out}`)), START_TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /labrun is ready: (http:\/\/\S+)\/\?token=/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({ url: m[1], child });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`labrun serve exited with ${code}:\n${out}`));
    });
  });
}

/** Where the fixture lab's workspace is in a sandbox (lab.yaml: `workspace: webfix`). */
const WORKSPACE = '/root/webfix';
const MARKER = '.whoami';

/** Sandbox container → the marker a learner wrote in it, read from the host (not through the server). */
function markersBySandbox(labId: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const name of sandboxesOf(labId)) {
    const out = execFileSync('docker', [...SANDBOX_DOCKER, 'exec', name, 'sh', '-c', `cat ${WORKSPACE}/${MARKER} 2>/dev/null || true`], { encoding: 'utf8' }).trim();
    if (out) found.set(name, out);
  }
  return found;
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

test('kill -9 mid-class: progress, cookies, sandboxes and the pool survive a restart', async (t) => {
  if (!requireDocker(t)) return;
  const fx = makeFixture(t);
  t.after(() => reapFixtureSandboxes(fx));

  const first = await serve(t, fx);
  const owner = await signIn(first.url);
  const created = await call(first.url, owner, 'POST', '/api/classes', { labId: fx.labId });
  assert.equal(created.status, 201);
  const classId = field(created.body, 'id');
  const code = field(created.body, 'joinCode');
  const board = await EventsClient.open(`${first.url.replace('http', 'ws')}/ws/events?class=${classId}`, { Origin: first.url, Cookie: owner });
  assert.equal((await call(first.url, owner, 'POST', `/api/classes/${classId}/pool`, { size: POOL_SIZE })).status, 200);
  await board.waitFor(`${POOL_SIZE} ready`, (es) => es.some((e) => e.type === 'pool' && e.pool.ready === POOL_SIZE), POOL_TIMEOUT_MS);
  board.close();
  const before = sandboxesOf(fx.labId);
  assert.equal(before.length, POOL_SIZE);

  const join = async (url: string, name: string): Promise<{ id: string; cookie: string }> => {
    const res = await call(url, undefined, 'POST', `/api/join/${code}`, { name });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { id: field(res.body, 'learnerId'), cookie: (res.setCookie ?? '').split(';')[0] ?? '' };
  };
  const ada = await join(first.url, 'Ada');
  const bob = await join(first.url, 'Bob');
  const term = await TermClient.open(`${first.url.replace('http', 'ws')}/ws/terminal?lab=${fx.labId}`, { Origin: first.url, Cookie: ada.cookie });
  term.type('echo hello > greeting.txt && echo wrote-$((20+22))\r');
  await term.waitFor(/wrote-42/);
  const check = await call(first.url, ada.cookie, 'POST', `/api/labs/${fx.labId}/steps/hello/check`, {});
  assert.equal(Reflect.get(Object(check.body), 'passed'), true, JSON.stringify(check.body));
  // Each learner marks their own sandbox; the host then says which container is whose.
  const nonce = new Map([ada, bob].map((l) => [l.id, `${l.id}-${randomBytes(4).toString('hex')}`]));
  const bobTerm = await TermClient.open(`${first.url.replace('http', 'ws')}/ws/terminal?lab=${fx.labId}`, { Origin: first.url, Cookie: bob.cookie });
  for (const [l, tc] of [[ada, term], [bob, bobTerm]] as const) {
    tc.type(`echo ${nonce.get(l.id)} > ${MARKER} && echo marked-$((5+5))\r`);
    await tc.waitFor(/marked-10/);
  }
  const sandboxOf = new Map([...markersBySandbox(fx.labId)].map(([name, marker]) => [marker, name]));
  const ownedBefore = [ada, bob].map((l) => sandboxOf.get(nonce.get(l.id) ?? ''));
  assert.equal(new Set(ownedBefore.filter(Boolean)).size, 2, `two learners, two marked sandboxes: ${JSON.stringify([...sandboxOf])}`);

  await killHard(first.child);
  await Promise.all([term.closed, bobTerm.closed]);

  const second = await serve(t, fx);
  t.after(() => {
    second.child.kill('SIGTERM');
  });
  const ws = second.url.replace('http', 'ws');

  await t.test('the learner\'s cookie still works and the step is still done', async () => {
    const lab = await call(second.url, ada.cookie, 'GET', `/api/labs/${fx.labId}`);
    assert.equal(lab.status, 200, JSON.stringify(lab.body));
    assert.match(JSON.stringify(lab.body), /"completedSteps":\["hello"\]/);
  });

  await t.test('each learner reconnects to their own sandbox, re-adopted (not a new one)', async () => {
    const again = await TermClient.open(`${ws}/ws/terminal?lab=${fx.labId}`, { Origin: second.url, Cookie: ada.cookie });
    again.type('cat greeting.txt && echo same-$((1+1))\r');
    await again.waitFor(/hello\s+same-2/);
    await again.close();
    const other = await TermClient.open(`${ws}/ws/terminal?lab=${fx.labId}`, { Origin: second.url, Cookie: bob.cookie });
    other.type('ls greeting.txt 2>&1; echo bob-$((2+2))\r');
    await other.waitFor(/No such file[\s\S]*bob-4/);
    await other.close();
    assert.deepEqual(sandboxesOf(fx.labId), before, 'the same three sandboxes, none made or lost');
    // Every learner, not just one: their terminal shows the marker they left, which the host still
    // finds in the container it was in before the kill.
    for (const [i, l] of [ada, bob].entries()) {
      const tc = await TermClient.open(`${ws}/ws/terminal?lab=${fx.labId}`, { Origin: second.url, Cookie: l.cookie });
      tc.type(`echo "mine-$((0+1))=$(cat ${MARKER})"\r`);
      await tc.waitFor(/mine-1=\S*\r?\n/);
      await tc.close();
      assert.equal(/mine-1=(\S*)/.exec(tc.output)?.[1], nonce.get(l.id), `${l.id} is in the sandbox they marked`);
      assert.equal(markersBySandbox(fx.labId).get(ownedBefore[i] ?? ''), nonce.get(l.id), `${l.id}'s sandbox is the container it was before`);
    }
  });

  await t.test('the pool\'s unassigned sandbox goes to the next learner', async () => {
    const cyd = await join(second.url, 'Cyd');
    const t3 = await TermClient.open(`${ws}/ws/terminal?lab=${fx.labId}`, { Origin: second.url, Cookie: cyd.cookie });
    t3.type('echo cyd-$((3+3))\r');
    await t3.waitFor(/cyd-6/);
    await t3.close();
    assert.deepEqual(sandboxesOf(fx.labId), before);
    const db = new Database(path.join(fx.dataDir, 'labrun.db'), { readonly: true });
    t.after(() => db.close());
    const owners = db.prepare('SELECT learner_id FROM pool_assignments ORDER BY learner_id').all().map((r) => JSON.stringify(r));
    assert.equal(owners.length, 3);
    for (const l of [ada, bob, cyd]) assert.ok(owners.some((o) => o.includes(l.id)), `${l.id} has a pool sandbox`);
  });

  await t.test('the board rebuilds the class from the store', async () => {
    const b = await EventsClient.open(`${ws}/ws/events?class=${classId}`, { Origin: second.url, Cookie: owner });
    await b.waitFor('history', (es) => es.filter((e) => e.type === 'joined').length === 3 && es.some((e) => e.type === 'step-done' && e.learnerId === ada.id));
    b.close();
  });
});
