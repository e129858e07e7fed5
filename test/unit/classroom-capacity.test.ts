import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMemAvailable, planCapacity, type Resource } from '../../server/classroom/capacity.ts';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

const memory = (available: number): Resource => ({ name: 'memory', unit: 'bytes', perSandbox: 200 * MIB, available, reserve: GIB });

test('MemAvailable is read from /proc/meminfo', () => {
  const meminfo = 'MemTotal:       24683816 kB\nMemFree:        18585000 kB\nMemAvailable:   23198000 kB\nBuffers: 1 kB\n';
  assert.equal(parseMemAvailable(meminfo), 23198000 * 1024);
  assert.equal(parseMemAvailable('MemTotal: 1 kB\n'), undefined);
});

test('memory alone: fits, tight, refused — with the numbers', () => {
  const cases: { count: number; available: number; level: 'ok' | 'warn' | 'refuse'; fits: number }[] = [
    // 24 GiB machine: (24 - 1) GiB usable / 200 MiB = 117 sandboxes.
    { count: 30, available: 24 * GIB, level: 'ok', fits: 117 },
    { count: 100, available: 24 * GIB, level: 'warn', fits: 117 },
    { count: 118, available: 24 * GIB, level: 'refuse', fits: 117 },
    { count: 0, available: 24 * GIB, level: 'ok', fits: 117 },
    // Less than the reserve: nothing fits.
    { count: 1, available: 512 * MIB, level: 'refuse', fits: 0 },
    { count: 0, available: 512 * MIB, level: 'ok', fits: 0 },
  ];
  for (const c of cases) {
    const plan = planCapacity(c.count, [memory(c.available)]);
    assert.equal(plan.level, c.level, `${c.count} in ${c.available / MIB} MiB: ${plan.message}`);
    assert.equal(plan.fits, c.fits);
    assert.equal(plan.resources[0]?.needed, c.count * 200 * MIB);
  }
  const refused = planCapacity(118, [memory(24 * GIB)]);
  assert.match(refused.message, /^not enough room for 118 sandboxes: memory: 118 × 200 MiB = 23600 MiB; 24576 MiB available, 23552 MiB usable .*room for 117/);
});

test('every limit counts: the smallest decides, and the message names it', () => {
  // The trusted level's failure this replaces: memory said "room for 111" while the address pools had room for 24.
  const addresses: Resource = { name: 'addresses', unit: 'count', perSandbox: 1, available: 24, reserve: 0 };
  const plan = planCapacity(30, [memory(23 * GIB), addresses]);
  assert.equal(plan.level, 'refuse');
  assert.equal(plan.fits, 24);
  assert.equal(plan.tightest, 'addresses');
  assert.match(plan.message, /addresses: 30 × 1 = 30; 24 available/);
  assert.doesNotMatch(plan.message, /memory:/, 'only the limits that refuse are named');

  const disk: Resource = { name: 'disk', unit: 'bytes', perSandbox: GIB, available: 40 * GIB, reserve: 5 * GIB, note: 'each sandbox may grow to 10 GiB' };
  const diskPlan = planCapacity(60, [memory(23 * GIB), disk]);
  assert.equal(diskPlan.tightest, 'disk');
  assert.equal(diskPlan.fits, 35);
  assert.match(diskPlan.message, /disk: .*room for 35\); each sandbox may grow to 10 GiB/);
});

test('a cap (process ids) over the host\'s total only warns; no limits means unchecked', () => {
  const pids: Resource = { name: 'processes', unit: 'count', perSandbox: 1024, available: 32000, reserve: 4096, cap: true };
  const plan = planCapacity(60, [memory(23 * GIB), pids]);
  assert.equal(plan.level, 'warn');
  assert.equal(plan.tightest, 'processes');
  assert.match(plan.message, /^room is tight for 60 sandboxes: processes: 60 × 1024 = 61440/);
  const free = planCapacity(60, []);
  assert.equal(free.level, 'ok');
  assert.equal(free.tightest, undefined);
});
