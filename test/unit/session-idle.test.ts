// The idle decision table: when a learner is warned and when their sandbox is reclaimed, with an
// injected clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideIdle, idleDeadline, leftText, warningMessage, type IdleClock, type IdlePolicy } from '../../server/session/idle-policy.ts';

const MIN = 60_000;
const policy: IdlePolicy = { ttlMs: 45 * MIN, warningMs: 5 * MIN };
const clock = (over: Partial<IdleClock> = {}): IdleClock => ({ lastActivity: 0, extraMs: 0, warned: false, ...over });

test('the idle decision table', () => {
  const rows: [string, IdleClock, IdlePolicy, number, ReturnType<typeof decideIdle>][] = [
    ['just active', clock(), policy, 0, { action: 'none' }],
    ['before the warning window', clock(), policy, 40 * MIN - 1, { action: 'none' }],
    ['at the warning window', clock(), policy, 40 * MIN, { action: 'warn', msLeft: 5 * MIN }],
    ['inside the window, not yet warned', clock(), policy, 44 * MIN, { action: 'warn', msLeft: MIN }],
    ['inside the window, already warned', clock({ warned: true }), policy, 44 * MIN, { action: 'none' }],
    ['at the TTL', clock({ warned: true }), policy, 45 * MIN, { action: 'reclaim' }],
    ['past the TTL, never warned (server was busy)', clock(), policy, 50 * MIN, { action: 'reclaim' }],
    ['activity moved the clock', clock({ lastActivity: 30 * MIN }), policy, 50 * MIN, { action: 'none' }],
    ['extension adds time', clock({ extraMs: 15 * MIN }), policy, 50 * MIN, { action: 'none' }],
    ['extension: warned before its own end', clock({ extraMs: 15 * MIN }), policy, 55 * MIN, { action: 'warn', msLeft: 5 * MIN }],
    ['TTL off', clock(), { ttlMs: 0, warningMs: 0 }, 1e12, { action: 'none' }],
    ['tiny TTL', clock({ lastActivity: 1000 }), { ttlMs: 3000, warningMs: 1000 }, 3000, { action: 'warn', msLeft: 1000 }],
    ['tiny TTL reached', clock({ lastActivity: 1000, warned: true }), { ttlMs: 3000, warningMs: 1000 }, 4000, { action: 'reclaim' }],
  ];
  for (const [name, c, p, now, want] of rows) assert.deepEqual(decideIdle(c, p, now), want, name);
});

test('the deadline is infinite when the TTL is off', () => {
  assert.equal(idleDeadline(clock(), { ttlMs: 0, warningMs: 0 }), Infinity);
  assert.equal(idleDeadline(clock({ lastActivity: 10, extraMs: 5 }), policy), 10 + 45 * MIN + 5);
});

test('the warning says how long is left in words a learner reads at a glance', () => {
  assert.equal(leftText(5 * MIN), '5 min');
  assert.equal(leftText(1000), '1 s');
  assert.equal(leftText(0), '1 s');
  assert.match(warningMessage(5 * MIN), /stopped in 5 min because it has been idle — press any key/);
});

test('--idle-ttl and --idle-warning: durations, defaults, 0 = never, warning capped at a third', async () => {
  const { parseConfig } = await import('../../server/config.ts');
  const base = ['--token', 'x'.repeat(16)];
  assert.deepEqual(pick(parseConfig(base, {})), [45 * MIN, 5 * MIN]);
  assert.deepEqual(pick(parseConfig([...base, '--idle-ttl', '3s', '--idle-warning', '1s'], {})), [3000, 1000]);
  assert.deepEqual(pick(parseConfig(base, { LABRUN_IDLE_TTL: '2h' })), [120 * MIN, 5 * MIN]);
  assert.deepEqual(pick(parseConfig([...base, '--idle-ttl', '6m'], {})), [6 * MIN, 2 * MIN]);
  assert.deepEqual(pick(parseConfig([...base, '--idle-ttl=0'], {})), [0, 0]);
  assert.throws(() => parseConfig([...base, '--idle-ttl', 'soon'], {}), /--idle-ttl: must be a duration/);
});

function pick(c: { idleTtlMs: number; idleWarningMs: number }): [number, number] {
  return [c.idleTtlMs, c.idleWarningMs];
}

test('IdleReaper: warns once, reclaims at the TTL, activity and extensions move the clock, untracked sessions are left alone', async () => {
  const { IdleReaper } = await import('../../server/session/idle-reaper.ts');
  let now = 0;
  const seen: string[] = [];
  const reaper = new IdleReaper({
    policy: { ttlMs: 3000, warningMs: 1000 },
    now: () => now,
    onWarn: (learner, lab, msLeft) => seen.push(`warn ${learner}/${lab} ${msLeft}`),
    onReclaim: async (learner, lab) => {
      seen.push(`reclaim ${learner}/${lab}`);
    },
  });
  try {
    reaper.track('a', 'lab');
    reaper.track('b', 'lab');
    reaper.touch('pool-spare', 'lab');
    now = 1500;
    reaper.touch('b', 'lab');
    reaper.tick();
    assert.deepEqual(seen, []);
    now = 2000;
    reaper.tick();
    reaper.tick();
    assert.deepEqual(seen, ['warn a/lab 1000'], 'warned once');
    now = 3000;
    reaper.tick();
    assert.deepEqual(seen.slice(1), ['reclaim a/lab'], 'b was active at 1500, so is not warned yet');
    now = 3500;
    reaper.tick();
    assert.deepEqual(seen.slice(2), ['warn b/lab 1000']);
    assert.equal(reaper.extend('b', 'lab', 10_000), true);
    assert.equal(reaper.deadline('b', 'lab'), 3500 + 3000 + 10_000);
    now = 6500;
    reaper.tick();
    assert.equal(seen.length, 3, 'the extension holds off both warning and reclaim');
    await new Promise((r) => setImmediate(r));
    assert.equal(reaper.deadline('a', 'lab'), null, 'a reclaimed clock is dropped');
    assert.equal(reaper.extend('a', 'lab', 0), false);
  } finally {
    reaper.dispose();
  }
});
