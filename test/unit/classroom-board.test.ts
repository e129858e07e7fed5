import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTY_BOARD, cellState, isIdle, isStuck, parseClassEvent, reduceBoard, shortDuration, type BoardState, type ClassEvent } from '../../shared/classroom-events.ts';

const MIN = 60_000;
const header: ClassEvent = {
  type: 'class',
  class: { id: 'c1', labId: 'lab', labTitle: 'Lab', name: 'Monday', joinCode: 'ACD234', joinOpen: true, endedAt: null, recording: false, steps: [{ id: 's1', title: 'One' }, { id: 's2', title: 'Two' }] },
};

function board(events: ClassEvent[]): BoardState {
  return events.reduce(reduceBoard, EMPTY_BOARD);
}

test('the board folds events into one row per learner', () => {
  const b = board([
    header,
    { type: 'joined', learnerId: 'a', name: 'Ada', at: 0 },
    { type: 'joined', learnerId: 'b', name: 'Bob', at: 1 },
    { type: 'joined', learnerId: 'a', name: 'Ada again', at: 2 },
    { type: 'sandbox', learnerId: 'a', state: 'ready', at: 3 },
    { type: 'step-opened', learnerId: 'a', stepId: 's1', at: 10 },
    { type: 'check', learnerId: 'a', stepId: 's1', passed: false, at: 20 },
    { type: 'check', learnerId: 'a', stepId: 's1', passed: false, at: 30 },
    { type: 'check', learnerId: 'a', stepId: 's1', passed: true, at: 40 },
    { type: 'step-done', learnerId: 'a', stepId: 's1', at: 40 },
    { type: 'step-done', learnerId: 'a', stepId: 's1', at: 41 },
    { type: 'step-opened', learnerId: 'a', stepId: 's2', at: 50 },
    { type: 'check', learnerId: 'ghost', stepId: 's1', passed: true, at: 60 },
    { type: 'broadcast', message: 'Break at 11', at: 70 },
  ]);
  assert.equal(b.header?.joinCode, 'ACD234');
  assert.deepEqual(b.learners.map((r) => r.name), ['Ada', 'Bob'], 'a second join of the same id and unknown learners change nothing');
  const a = b.learners[0];
  assert.ok(a);
  assert.equal(a.sandbox, 'ready');
  assert.deepEqual(a.done, ['s1']);
  assert.deepEqual(a.failedChecks, { s1: 2 });
  assert.equal(a.currentStep, 's2');
  assert.equal(a.stepSince, 50);
  assert.equal(a.failingSince, null);
  assert.equal(a.lastActivity, 50);
  assert.deepEqual(b.broadcasts, [{ message: 'Break at 11', at: 70 }]);
  assert.equal(cellState(a, 's1'), 'done');
  assert.equal(cellState(a, 's2'), 'current');
  const bob = b.learners[1];
  assert.ok(bob);
  assert.equal(cellState(bob, 's1'), 'todo');
});

test('stuck = checks on the current step failing for longer than the threshold', () => {
  const base: ClassEvent[] = [header, { type: 'joined', learnerId: 'a', name: 'Ada', at: 0 }, { type: 'step-opened', learnerId: 'a', stepId: 's1', at: 0 }];
  const cases: { name: string; events: ClassEvent[]; now: number; stuck: boolean; cell: string }[] = [
    { name: 'no checks yet', events: [], now: 60 * MIN, stuck: false, cell: 'current' },
    { name: 'failing for 6 min', events: [{ type: 'check', learnerId: 'a', stepId: 's1', passed: false, at: 1 * MIN }], now: 7 * MIN, stuck: true, cell: 'failing' },
    { name: 'failing for 4 min', events: [{ type: 'check', learnerId: 'a', stepId: 's1', passed: false, at: 3 * MIN }], now: 7 * MIN, stuck: false, cell: 'failing' },
    {
      name: 'failing since the first failure, not the last',
      events: [
        { type: 'check', learnerId: 'a', stepId: 's1', passed: false, at: 1 * MIN },
        { type: 'check', learnerId: 'a', stepId: 's1', passed: false, at: 6 * MIN },
      ],
      now: 7 * MIN,
      stuck: true,
      cell: 'failing',
    },
    {
      name: 'a pass clears it',
      events: [
        { type: 'check', learnerId: 'a', stepId: 's1', passed: false, at: 1 * MIN },
        { type: 'check', learnerId: 'a', stepId: 's1', passed: true, at: 2 * MIN },
        { type: 'step-done', learnerId: 'a', stepId: 's1', at: 2 * MIN },
      ],
      now: 30 * MIN,
      stuck: false,
      cell: 'done',
    },
    {
      name: 'moving to another step clears it',
      events: [
        { type: 'check', learnerId: 'a', stepId: 's1', passed: false, at: 1 * MIN },
        { type: 'step-opened', learnerId: 'a', stepId: 's2', at: 2 * MIN },
      ],
      now: 30 * MIN,
      stuck: false,
      cell: 'todo',
    },
  ];
  for (const c of cases) {
    const row = board([...base, ...c.events]).learners[0];
    assert.ok(row);
    assert.equal(isStuck(row, c.now, 5 * MIN), c.stuck, c.name);
    assert.equal(cellState(row, 's1'), c.cell, c.name);
  }
});

test('idle = nothing for a while, unless finished', () => {
  const steps = [{ id: 's1' }, { id: 's2' }];
  const row = board([header, { type: 'joined', learnerId: 'a', name: 'Ada', at: 0 }, { type: 'step-opened', learnerId: 'a', stepId: 's1', at: 1 * MIN }]).learners[0];
  assert.ok(row);
  assert.equal(isIdle(row, steps, 5 * MIN, 10 * MIN), false);
  assert.equal(isIdle(row, steps, 12 * MIN, 10 * MIN), true);
  const finished = { ...row, done: ['s1', 's2'] };
  assert.equal(isIdle(finished, steps, 60 * MIN, 10 * MIN), false);
});

test('event frames are parsed strictly', () => {
  assert.deepEqual(parseClassEvent('{"type":"broadcast","message":"hi","at":1}'), { type: 'broadcast', message: 'hi', at: 1 });
  for (const bad of ['', 'not json', '{"type":"broadcast"}', '{"type":"nope","at":1}', '{"type":"check","learnerId":"a","stepId":"s","passed":"yes","at":1}']) {
    assert.equal(parseClassEvent(bad), null, bad);
  }
});

test('durations read naturally', () => {
  const cases: [number, string][] = [[0, '0 s'], [35_000, '35 s'], [4 * MIN + 10_000, '4 min'], [125 * MIN, '2 h 5 min'], [-5, '0 s']];
  for (const [ms, want] of cases) assert.equal(shortDuration(ms), want);
});
