// The terminal bench's machine-wide CPU breakdown: what it counts between two /proc snapshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeHostCpu, hostCpuSince, hostCpuSnapshot, programOf, type HostCpuSnapshot } from '../../bench/support/host-cpu.ts';

const snapshot = (processes: Array<[number, string, number]>, busyTicks: number, idleTicks: number): HostCpuSnapshot => ({
  processes: new Map(processes.map(([pid, comm, ticks]) => [pid, [comm, ticks]])),
  busyTicks,
  idleTicks,
});

test('counts what each program used in the span, a process started meanwhile in full, by program, most first', () => {
  const before = snapshot([[1, 'node', 100], [2, 'chromium', 50], [3, 'chromium', 10], [4, 'sleep', 7]], 1000, 500);
  const after = snapshot([[1, 'node', 103], [2, 'chromium', 60], [3, 'chromium', 15], [4, 'sleep', 7], [9, 'kworker/u8:1-events_unbound', 2], [10, 'kworker/0:2', 1]], 1030, 520);
  const span = hostCpuSince(before, after);
  assert.deepEqual(span.byProgram, [['chromium', 150], ['node', 30], ['kworker', 30]]);
  assert.equal(span.busyMs, 300);
  assert.equal(span.idleMs, 200);
  assert.equal(describeHostCpu(span, 2), 'machine busy 300 ms, idle 200 ms (chromium 150, node 30)');
});

test('a process gone by the second snapshot is not counted, and a pid reused by a new program counts only its own time', () => {
  const before = snapshot([[5, 'bash', 40], [6, 'seq', 20]], 0, 0);
  const after = snapshot([[5, 'bash', 45]], 0, 0);
  assert.deepEqual(hostCpuSince(before, after).byProgram, [['bash', 50]]);
  const reused = hostCpuSince(snapshot([[7, 'old', 900]], 0, 0), snapshot([[7, 'new', 3]], 0, 0));
  assert.deepEqual(reused.byProgram, [['new', 30]]);
});

test('kernel worker names collapse to one program, other names stay', () => {
  assert.equal(programOf('kworker/u8:3-events_unbound'), 'kworker');
  assert.equal(programOf('ksoftirqd/1'), 'ksoftirqd');
  assert.equal(programOf('labrun-pty-rela'), 'labrun-pty-rela');
});

test('reads this machine: this process is listed and the machine has been busy', async () => {
  const s = await hostCpuSnapshot();
  assert.equal(s.processes.get(process.pid)?.[0], 'node');
  assert.ok(s.busyTicks > 0 && s.idleTicks >= 0);
});
