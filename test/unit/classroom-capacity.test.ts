import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMemAvailable, planCapacity } from '../../server/classroom/capacity.ts';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

test('MemAvailable is read from /proc/meminfo', () => {
  const meminfo = 'MemTotal:       24683816 kB\nMemFree:        18585000 kB\nMemAvailable:   23198000 kB\nBuffers: 1 kB\n';
  assert.equal(parseMemAvailable(meminfo), 23198000 * 1024);
  assert.equal(parseMemAvailable('MemTotal: 1 kB\n'), undefined);
});

test('capacity plans: fits, tight, refused — with the numbers', () => {
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
    const plan = planCapacity(c.count, c.available);
    assert.equal(plan.level, c.level, `${c.count} in ${c.available / MIB} MiB: ${plan.message}`);
    assert.equal(plan.fits, c.fits);
    assert.equal(plan.neededBytes, c.count * 200 * MIB);
  }
  const refused = planCapacity(118, 24 * GIB);
  assert.match(refused.message, /118 sandboxes × 200 MiB = 23600 MiB; 24576 MiB available, 23552 MiB usable .*room for 117/);
});
