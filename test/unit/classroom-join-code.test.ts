import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ClassStore } from '../../server/classroom/class-store.ts';
import { Store } from '../../server/store/store.ts';
import { JOIN_CODE_ALPHABET, JOIN_CODE_LENGTH, cleanDisplayName, hashSessionSecret, newJoinCode, newSessionSecret, normalizeJoinCode } from '../../server/classroom/join-code.ts';

test('join codes use only the unambiguous alphabet and have the right length', () => {
  for (let i = 0; i < 200; i++) {
    const code = newJoinCode();
    assert.equal(code.length, JOIN_CODE_LENGTH);
    for (const c of code) assert.ok(JOIN_CODE_ALPHABET.includes(c), `${c} in ${code}`);
  }
  for (const c of '0O1IL5S8B') assert.ok(!JOIN_CODE_ALPHABET.includes(c), `${c} is ambiguous`);
  // A fixed random source gives a predictable code: first and last letters of the alphabet.
  assert.equal(newJoinCode(() => 0), 'AAAAAA');
  assert.equal(newJoinCode((max) => max - 1), '999999');
});

test('typed codes are normalised or refused', () => {
  const cases: [string, string | null][] = [
    ['ACD234', 'ACD234'],
    ['acd234', 'ACD234'],
    [' acd-234 ', 'ACD234'],
    ['ACD 234', 'ACD234'],
    ['ACD23', null],
    ['ACD2345', null],
    ['ACD0O1', null],
    ['', null],
    ['../etc', null],
  ];
  for (const [input, want] of cases) assert.equal(normalizeJoinCode(input), want, JSON.stringify(input));
});

test('display names are cleaned', () => {
  const cases: [string, string | null][] = [
    ['Ada', 'Ada'],
    ['  Ada   Lovelace ', 'Ada Lovelace'],
    ['Ada\u0000\u001b[31m', 'Ada[31m'],
    ['   ', null],
    ['', null],
    ['x'.repeat(100), 'x'.repeat(40)],
    ['Zoë 👩‍💻', 'Zoë 👩‍💻'],
  ];
  for (const [input, want] of cases) assert.equal(cleanDisplayName(input), want, JSON.stringify(input));
});

test('session secrets are random and only their hash is kept', (t) => {
  const a = newSessionSecret();
  const b = newSessionSecret();
  assert.notEqual(a.secret, b.secret);
  assert.match(a.secret, /^[0-9a-f]{64}$/);
  assert.equal(a.hash, hashSessionSecret(a.secret));
  assert.notEqual(a.hash, a.secret);

  // What the store really holds: every cell of every table, and the database files' raw bytes.
  const dir = mkdtempSync(path.join(tmpdir(), 'labrun-joincode-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new Store(dir);
  const classes = new ClassStore(store.database);
  const cls = classes.createClass('some-lab', 'A class');
  const { learner, secret } = classes.addLearner(cls.id, 'Ada');
  assert.equal(classes.learnerBySecret(secret)?.learnerId, learner.learnerId, 'the cookie still finds its learner');
  assert.equal(classes.learnerBySecret(hashSessionSecret(secret)), undefined, 'the stored hash is not itself a cookie');
  store.close();

  const db = new Database(path.join(dir, 'labrun.db'), { readonly: true });
  t.after(() => db.close());
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all().map(String);
  const cells = tables.flatMap((table) => db.prepare(`SELECT * FROM "${table}"`).raw().all().flat().map(String));
  assert.ok(cells.includes(hashSessionSecret(secret)), 'the hash is stored');
  assert.ok(!cells.some((c) => c.includes(secret)), 'the secret is in no table');
  for (const file of readdirSync(dir)) {
    assert.ok(!readFileSync(path.join(dir, file)).includes(secret), `the secret is not in ${file}`);
  }
});
