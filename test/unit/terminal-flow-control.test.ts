import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckWindow, PauseReasons, Watermark } from '../../server/terminal/flow-control.ts';

test('Watermark pauses above high and resumes only below low (hysteresis)', () => {
  const mark = new Watermark(100, 10);
  const steps: Array<[number, 'pause' | 'resume' | null, boolean]> = [
    [50, null, false],
    [100, null, false], // at the mark is not above it
    [101, 'pause', true],
    [500, null, true],
    [50, null, true], // between the marks: stays paused
    [10, null, true], // at low is not below it
    [9, 'resume', false],
    [50, null, false],
  ];
  for (const [level, transition, paused] of steps) {
    assert.equal(mark.update(level), transition, `level ${level}`);
    assert.equal(mark.paused, paused, `level ${level}`);
  }
});

test('Watermark refuses a low mark that is not below the high one', () => {
  assert.throws(() => new Watermark(10, 10), /low/);
});

test('AckWindow counts sent minus acked bytes and pauses at the high watermark', () => {
  const w = new AckWindow(100_000, 5_000);
  assert.equal(w.sent(64 * 1024), null);
  assert.equal(w.sent(64 * 1024), 'pause');
  assert.equal(w.unacked, 128 * 1024);
  assert.equal(w.acked(5_000), null);
  assert.equal(w.acked(100_000), null); // 26072 left: still above low
  assert.equal(w.acked(25_000), 'resume');
  assert.equal(w.unacked, 1072);
  assert.equal(w.paused, false);
});

test('AckWindow clamps acks beyond what was sent so a client cannot bank credit', () => {
  const w = new AckWindow(100, 10);
  w.sent(50);
  w.acked(1_000_000);
  assert.equal(w.unacked, 0);
  assert.equal(w.sent(101), 'pause');
});

test('PauseReasons pauses while any reason holds and reports only combined transitions', () => {
  const r = new PauseReasons<'ack' | 'socket' | 'detached'>();
  const steps: Array<['ack' | 'socket' | 'detached', boolean, 'pause' | 'resume' | null]> = [
    ['ack', false, null],
    ['ack', true, 'pause'],
    ['socket', true, null],
    ['ack', true, null],
    ['ack', false, null],
    ['socket', false, 'resume'],
    ['detached', true, 'pause'],
    ['detached', false, 'resume'],
  ];
  for (const [reason, on, transition] of steps) assert.equal(r.set(reason, on), transition, `${reason}=${on}`);
  assert.equal(r.paused, false);
});
