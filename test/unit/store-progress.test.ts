import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Store } from '../../server/store/store.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'labrun-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a fresh store has no progress', (t) => {
  const store = new Store(tempDir(t));
  t.after(() => store.close());
  store.ensureLearner('local');
  assert.deepEqual(store.getProgress('local', 'lab'), { labId: 'lab', currentStep: null, completedSteps: [], updatedAt: null });
  assert.equal(store.allProgress('local').size, 0);
});

test('current step, completions and attempts survive reopening', (t) => {
  const dir = tempDir(t);
  const a = new Store(dir);
  a.ensureLearner('local');
  a.setCurrentStep('local', 'lab', 'one');
  a.recordAttempt('local', 'lab', 'one', false, { passed: false, why: 'nope' });
  a.recordAttempt('local', 'lab', 'one', true, { passed: true });
  a.recordAttempt('local', 'lab', 'one', true, { passed: true });
  a.setCurrentStep('local', 'lab', 'two');
  a.setCurrentStep('local', 'other', 'x');
  a.close();
  a.close(); // idempotent

  const b = new Store(dir);
  t.after(() => b.close());
  const p = b.getProgress('local', 'lab');
  assert.equal(p.currentStep, 'two');
  assert.deepEqual(p.completedSteps, ['one']);
  assert.deepEqual([...b.allProgress('local').keys()].sort(), ['lab', 'other']);
  const attempts = b.attempts('local', 'lab');
  assert.deepEqual(attempts.map((x) => x.passed), [false, true, true]);
  assert.deepEqual(attempts[0]?.result, { passed: false, why: 'nope' });
});

test('learners are kept apart', (t) => {
  const store = new Store(tempDir(t));
  t.after(() => store.close());
  store.ensureLearner('a');
  store.ensureLearner('b');
  store.recordAttempt('a', 'lab', 's', true, {});
  assert.deepEqual(store.getProgress('a', 'lab').completedSteps, ['s']);
  assert.deepEqual(store.getProgress('b', 'lab').completedSteps, []);
});

test('progress for an unknown learner is refused (foreign key), not silently orphaned', (t) => {
  const store = new Store(tempDir(t));
  t.after(() => store.close());
  assert.throws(() => store.setCurrentStep('ghost', 'lab', 's'), /FOREIGN KEY/);
});

test('schema is migrated once and uses WAL', (t) => {
  const dir = tempDir(t);
  const s = new Store(dir);
  assert.equal(s.schemaVersion, 4);
  s.close();
  const db = new Database(path.join(dir, 'labrun.db'));
  t.after(() => db.close());
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
});

test('a database from a newer labrun is refused with a clear message', (t) => {
  const dir = tempDir(t);
  new Store(dir).close();
  const db = new Database(path.join(dir, 'labrun.db'));
  db.pragma('user_version = 99');
  db.close();
  assert.throws(() => new Store(dir), /schema version 99, newer than this labrun knows/);
});
