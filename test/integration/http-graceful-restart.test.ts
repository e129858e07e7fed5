// Graceful shutdown, then a restart in the same process on the same data folder: close() keeps the
// sandboxes running; the next server (adoption on, as `labrun serve` runs) gives the learner back the
// very container they had, and destroys the warm-pool spares of a class that ended while it was down.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ClassStore } from '../../server/classroom/class-store.ts';
import { POOL_LEARNER } from '../../server/classroom/warm-pool.ts';
import { LABEL } from '../../server/sandbox/naming.ts';
import { Store } from '../../server/store/store.ts';
import { SANDBOX_DOCKER, requireDocker } from '../support/require.ts';
import { EventsClient, TermClient } from './http-clients.ts';
import { call, field, makeFixture, signIn, startServer } from './http-fixture.ts';

const POOL_TIMEOUT_MS = 240_000;
/** An unused pool sandbox is destroyed in the background after adoption; removal takes seconds. */
const SPARE_GONE_MS = 60_000;
/** The instructor's own terminal (token sign-in) belongs to this learner id (see app.ts). */
const LOCAL_LEARNER = 'local';
/** Where the fixture lab's workspace is in a sandbox (lab.yaml: `workspace: webfix`). */
const WORKSPACE = '/root/webfix';
const MARKER = '.whoami';

function sandboxesOf(labId: string, learnerId: string): string[] {
  const filters = ['--filter', `label=${LABEL.lab}=${labId}`, '--filter', `label=${LABEL.learner}=${learnerId}`];
  const out = execFileSync('docker', [...SANDBOX_DOCKER, 'ps', '-a', ...filters, '--format', '{{.Names}}'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

test('close() then a restart with adoption: the learner\'s sandbox comes back, an ended class\'s spares go', async (t) => {
  if (!requireDocker(t)) return;
  const fx = makeFixture(t);
  const first = await startServer(t, fx, { reapSandboxes: true, adopt: true });
  const owner = await signIn(first.url);
  const nonce = `marker-${randomBytes(4).toString('hex')}`;
  const term = await TermClient.open(`${first.url.replace('http', 'ws')}/ws/terminal?lab=${fx.labId}`, { Origin: first.url, Cookie: owner });
  term.type(`echo ${nonce} > ${MARKER} && echo marked-$((5+5))\r`);
  await term.waitFor(/marked-10/);
  await term.close();

  const created = await call(first.url, owner, 'POST', '/api/classes', { labId: fx.labId });
  assert.equal(created.status, 201);
  const classId = field(created.body, 'id');
  const board = await EventsClient.open(`${first.url.replace('http', 'ws')}/ws/events?class=${classId}`, { Origin: first.url, Cookie: owner });
  assert.equal((await call(first.url, owner, 'POST', `/api/classes/${classId}/pool`, { size: 1 })).status, 200);
  await board.waitFor('1 ready', (es) => es.some((e) => e.type === 'pool' && e.pool.ready === 1), POOL_TIMEOUT_MS);
  board.close();

  const mine = sandboxesOf(fx.labId, LOCAL_LEARNER);
  const spares = sandboxesOf(fx.labId, POOL_LEARNER);
  assert.equal(mine.length, 1, `one sandbox for the learner: ${mine.join(', ')}`);
  assert.equal(spares.length, 1, `one pool spare: ${spares.join(', ')}`);

  await first.close();
  assert.deepEqual([sandboxesOf(fx.labId, LOCAL_LEARNER), sandboxesOf(fx.labId, POOL_LEARNER)], [mine, spares], 'close() keeps the sandboxes');
  // The class ends while no server runs (ending it live would remove its spares at once).
  const store = new Store(fx.dataDir);
  new ClassStore(store.database).end(classId);
  store.close();

  const second = await startServer(t, fx, { reapSandboxes: true, adopt: true });

  await t.test('the learner\'s terminal shows their marker, in the same container', async () => {
    const again = await TermClient.open(`${second.url.replace('http', 'ws')}/ws/terminal?lab=${fx.labId}`, { Origin: second.url, Cookie: await signIn(second.url) });
    again.type(`echo "mine-$((0+1))=$(cat ${MARKER})"\r`);
    await again.waitFor(/mine-1=\S*\r?\n/);
    await again.close();
    assert.equal(/mine-1=(\S*)/.exec(again.output)?.[1], nonce);
    assert.deepEqual(sandboxesOf(fx.labId, LOCAL_LEARNER), mine, 'no new sandbox was made');
    const onHost = execFileSync('docker', [...SANDBOX_DOCKER, 'exec', mine[0] ?? '', 'cat', `${WORKSPACE}/${MARKER}`], { encoding: 'utf8' }).trim();
    assert.equal(onHost, nonce, 'the marker is in the container the learner had before');
    assert.equal(second.adopted, 1, 'the learner\'s sandbox is counted as adopted; the spare has no owner');
  });

  await t.test('the ended class\'s pool spare is destroyed', async () => {
    const deadline = Date.now() + SPARE_GONE_MS;
    while (sandboxesOf(fx.labId, POOL_LEARNER).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(sandboxesOf(fx.labId, POOL_LEARNER), [], `the spare ${spares.join(', ')} is still there`);
  });
});
