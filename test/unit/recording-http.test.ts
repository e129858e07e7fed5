// Terminal recordings through the interfaces people touch, on the real app with the in-memory driver
// (no Docker): with recording off nothing is written; the instructor turns it on for a class and the
// learner's terminal output lands in a valid asciicast v2 file; the learner lists and downloads their
// own, another learner gets 403, the instructor gets any; ending the class removes them.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { outputText, parseAsciicast } from '../../server/recording/asciicast.ts';
import type { FakeSandbox } from '../support/fake-driver.ts';
import { FAKE_LAB, startFakeServer } from '../support/fake-server.ts';

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.cast'));
}

async function until<T>(what: string, fn: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('recording: off writes nothing; on records the terminal as asciicast v2; own or instructor only; gone with the class', async (t) => {
  const { server, driver, cookie, ws, dataDir } = await startFakeServer(t);
  const recDir = path.join(dataDir, 'recordings');
  const owner = { Origin: server.url, Cookie: cookie, 'Content-Type': 'application/json' };
  const post = (route: string, body: unknown, headers: Record<string, string> = owner) => fetch(`${server.url}${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const cls = (await (await post('/api/classes', { labId: FAKE_LAB })).json()) as { id: string; joinCode: string; recording: boolean };
  assert.equal(cls.recording, false, 'a new class does not record');
  const join = async (name: string) => {
    const res = await post(`/api/join/${cls.joinCode}`, { name }, { Origin: server.url, 'Content-Type': 'application/json' });
    return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '', id: ((await res.json()) as { learnerId: string }).learnerId };
  };
  const ada = await join('Ada');
  const bob = await join('Bob');

  const term = new WebSocket(`${ws}/ws/terminal?lab=${FAKE_LAB}`, { headers: { Origin: server.url, Cookie: ada.cookie } });
  await new Promise((resolve, reject) => {
    term.once('open', resolve);
    term.once('error', reject);
  });
  const sb = await until('Ada\'s sandbox and shell', () => driver.live().find((s: FakeSandbox) => s.learnerId === ada.id && s.ptys.length > 0));
  const pty = sb.ptys[0];
  assert.ok(pty);
  term.send(JSON.stringify({ type: 'resize', cols: 100, rows: 30 }));
  pty.emit('before-recording\r\n');
  await sleep(50);
  assert.deepEqual(files(dataDir), [], 'recording off: no file was written');

  const on = (await (await post(`/api/classes/${cls.id}/recording`, { on: true })).json()) as { recording: boolean };
  assert.equal(on.recording, true);
  assert.equal((await post(`/api/classes/${cls.id}/recording`, { on: true }, { Origin: server.url, Cookie: ada.cookie, 'Content-Type': 'application/json' })).status, 403, 'a learner cannot turn it on or off');
  // A character split across two reads is recorded whole.
  const euro = Buffer.from('€');
  pty.emit('recorded-');
  pty.emitBytes(euro.subarray(0, 1));
  pty.emitBytes(euro.subarray(1));
  pty.emit('line one\r\n');
  term.send(JSON.stringify({ type: 'input', data: 'ls\r' }));
  await sleep(50);

  const list = await fetch(`${server.url}/api/labs/${FAKE_LAB}/recordings`, { headers: { Cookie: ada.cookie } });
  assert.equal(list.status, 200);
  const mine = (await list.json()) as { recording: boolean; recordings: { id: string }[] };
  assert.equal(mine.recording, true, 'the learner is told recording is on');
  assert.equal(mine.recordings.length, 1);
  const id = mine.recordings[0]?.id ?? '';

  // Turning it off closes the file at once; nothing more is written.
  await post(`/api/classes/${cls.id}/recording`, { on: false });
  pty.emit('after-recording\r\n');
  await sleep(50);

  const url = `${server.url}/api/labs/${FAKE_LAB}/recordings/${id}.cast`;
  const own = await fetch(`${url}?download`, { headers: { Cookie: ada.cookie } });
  assert.equal(own.status, 200);
  assert.match(own.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="?${id}\\.cast`));
  const text = await own.text();
  const cast = parseAsciicast(text);
  assert.ok(cast.ok, cast.ok ? '' : `line ${cast.line}: ${cast.error}`);
  assert.deepEqual([cast.header.width, cast.header.height], [100, 30], 'the header has the terminal\'s size');
  const out = outputText(cast.events);
  assert.match(out, /recorded-€line one/);
  assert.doesNotMatch(out, /before-recording|after-recording/);
  assert.deepEqual(cast.events.filter((e) => e[1] === 'm').map((e) => e[2]), ['only'], 'the step the learner is on, as a marker');
  assert.equal(cast.events.filter((e) => e[1] === 'i').length, 0, 'keystrokes are not recorded by default');

  assert.equal((await fetch(url, { headers: { Cookie: bob.cookie } })).status, 404, 'Bob asking for his own recording of that id: he has none');
  assert.equal((await fetch(`${url}?learner=${ada.id}`, { headers: { Cookie: bob.cookie } })).status, 403, 'Bob asking for Ada\'s');
  assert.equal((await fetch(`${server.url}/api/labs/${FAKE_LAB}/recordings?learner=${ada.id}`, { headers: { Cookie: bob.cookie } })).status, 403);
  assert.equal((await fetch(`${url}?learner=${ada.id}`, { headers: { Cookie: cookie } })).status, 200, 'the instructor may');
  assert.equal((await fetch(`${server.url}/api/labs/${FAKE_LAB}/recordings/..%2F..%2Flabrun.db?learner=${ada.id}`, { headers: { Cookie: cookie } })).status, 404, 'no path out of the recordings');

  term.close();
  assert.equal(files(recDir).length, 1);
  assert.equal((await post(`/api/classes/${cls.id}/end`, {})).status, 200);
  assert.deepEqual(files(recDir), [], 'ending the class removed its recordings');
});

test('only the board\'s page lets WebAssembly compile (the recording player); no page allows JavaScript eval', async (t) => {
  const { server, cookie } = await startFakeServer(t);
  const csp = async (route: string): Promise<string> => (await fetch(`${server.url}${route}`, { headers: { Cookie: cookie } })).headers.get('content-security-policy') ?? '';
  const board = await csp('/instructor/classes/c0123456789ab');
  assert.match(board, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  assert.equal(board.replace("'wasm-unsafe-eval'", '').includes('unsafe'), false, 'nothing else is relaxed');
  for (const route of ['/', `/labs/${FAKE_LAB}`, '/instructor', `/api/labs/${FAKE_LAB}/recordings`]) {
    assert.match(await csp(route), /script-src 'self'(;|$)/, route);
  }
});
