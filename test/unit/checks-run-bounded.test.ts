// A step's checks run several at a time: results keep the declared order, no more than the limit run
// at once, and a `serial` check starts only after every check before it has finished.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBounded } from '../../server/checks/run-step.ts';

interface Item {
  name: string;
  ms: number;
  serial?: boolean;
}

async function trace(items: Item[], limit: number) {
  let now = 0;
  let peak = 0;
  const events: string[] = [];
  const results = await runBounded(items, limit, async (item) => {
    now++;
    peak = Math.max(peak, now);
    events.push(`start ${item.name}`);
    await sleep(item.ms);
    events.push(`end ${item.name}`);
    now--;
    return item.name.toUpperCase();
  });
  return { results, peak, events };
}

test('results come back in the declared order, whatever finishes first', async () => {
  const { results, peak } = await trace([{ name: 'slow', ms: 60 }, { name: 'fast', ms: 5 }, { name: 'mid', ms: 30 }], 4);
  assert.deepEqual(results, ['SLOW', 'FAST', 'MID']);
  assert.equal(peak, 3, 'all three ran at once');
});

test('no more than the limit run at once', async () => {
  const items = Array.from({ length: 9 }, (_, i) => ({ name: `c${i}`, ms: 10 + (i % 3) * 5 }));
  const { results, peak } = await trace(items, 4);
  assert.equal(peak, 4);
  assert.deepEqual(results, items.map((i) => i.name.toUpperCase()));
});

test('a serial check waits for every check before it, and later ones wait for it to start', async () => {
  const { events } = await trace([{ name: 'a', ms: 40 }, { name: 'b', ms: 10 }, { name: 'writes-then-reads', ms: 10, serial: true }, { name: 'd', ms: 5 }], 4);
  const at = (e: string) => events.indexOf(e);
  assert.ok(at('start writes-then-reads') > at('end a') && at('start writes-then-reads') > at('end b'), events.join(', '));
  assert.ok(at('start d') > at('start writes-then-reads'), events.join(', '));
});
