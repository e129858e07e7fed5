// The terminal relay (server/sandbox/pty-relay.pl) run on this host with pipes, as the sandbox runs it
// behind the engine's exec: the pty it opens, the credit that bounds its output, sizes, the shell's
// environment and exit status, and what happens when the server goes away. No Docker needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { relayCredit, relayFrame, relaySize } from '../../server/sandbox/exec-terminal.ts';

const RELAY = fileURLToPath(new URL('../../server/sandbox/pty-relay.pl', import.meta.url));

interface Relay {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  outBytes: () => number;
  err: () => string;
  exit: Promise<number | null>;
  send: (type: 'i' | 'r' | 'a', payload: Buffer) => void;
  until: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
}

function startRelay(t: { after: (fn: () => void) => void }, window: number, shellEnv: string[], argv: string[], size = { cols: 80, rows: 24 }): Relay {
  const child = spawn('perl', [RELAY, String(size.cols), String(size.rows), String(window), ...shellEnv, '--', ...argv]);
  let out = Buffer.alloc(0);
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out = Buffer.concat([out, d])));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  t.after(() => child.kill('SIGKILL'));
  const text = (): string => out.toString('latin1');
  return {
    child,
    out: text,
    outBytes: () => out.length,
    err: () => err,
    exit,
    send: (type, payload) => child.stdin.write(relayFrame(type, payload)),
    async until(pattern, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (!pattern.test(text())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}; output ends ${JSON.stringify(text().slice(-200))}, stderr ${JSON.stringify(err)}`);
        await sleep(10);
      }
    },
  };
}

test('the shell runs on a pty of its own, its output reaching stdout', async (t) => {
  const r = startRelay(t, 65536, [], ['sh', '-c', 'tty; test -t 0 && echo stdin-is-a-tty; read line; echo "got:$line"']);
  await r.until(/stdin-is-a-tty/);
  assert.match(r.out(), /\/dev\/pts\/\d+/);
  r.send('i', Buffer.from('hello\r'));
  await r.until(/got:hello/);
  assert.equal(await r.exit, 0);
});

test('output stops at the window until credit comes, then all of it arrives', async (t) => {
  const window = 4096;
  const r = startRelay(t, window, [], ['sh', '-c', 'head -c 200000 /dev/zero | tr "\\0" x; echo; echo all-done']);
  await sleep(500);
  assert.ok(r.outBytes() <= window, `${r.outBytes()} bytes came without credit for more than ${window}`);
  assert.ok(r.outBytes() > 0, 'nothing came at all');
  let credited = 0;
  const end = Date.now() + 10_000;
  while (!/all-done/.test(r.out()) && Date.now() < end) {
    const owed = r.outBytes() - credited;
    if (owed > 0) {
      r.send('a', relayCredit(owed));
      credited += owed;
    }
    await sleep(5);
  }
  assert.match(r.out(), /all-done/);
  assert.ok(r.outBytes() >= 200_000);
  assert.equal(await r.exit, 0);
});

test('Ctrl-C under a flood: the pty is flushed, so little more than the window is left to read', async (t) => {
  const window = 16 * 1024;
  // bash, not sh -c: the prompt that follows the interrupt is what a learner waits for.
  const r = startRelay(t, window, [], ['bash', '--norc', '--noprofile', '-i'], { cols: 80, rows: 24 });
  r.send('i', Buffer.from("PS1='PROMPT> '\r"));
  await r.until(/PROMPT> $/);
  let credited = r.outBytes();
  r.send('a', relayCredit(credited));
  r.send('i', Buffer.from('yes\r'));
  // Let yes fill everything it can while no more credit is given.
  await sleep(300);
  const atKey = r.outBytes();
  r.send('i', Buffer.from('\x03'));
  await sleep(100);
  const end = Date.now() + 10_000;
  while (!/PROMPT> $/.test(r.out()) && Date.now() < end) {
    const owed = r.outBytes() - credited;
    if (owed > 0) {
      r.send('a', relayCredit(owed));
      credited += owed;
    }
    await sleep(5);
  }
  assert.match(r.out(), /PROMPT> $/);
  const after = r.outBytes() - atKey;
  // The window plus what the pty itself holds (a few kB); the kernel dropped the rest of yes's output.
  assert.ok(after <= window + 64 * 1024, `${after} bytes came after Ctrl-C`);
});

/** Floods the shell with `yes` under the given stty settings, presses `key` with no credit left, and returns the relay's stderr. */
async function interruptFlood(t: { after: (fn: () => void) => void }, stty: string, key: string): Promise<{ err: string; atKey: number; out: string }> {
  const window = 16 * 1024;
  const r = startRelay(t, window, [], ['bash', '--norc', '--noprofile', '-i']);
  r.send('i', Buffer.from("PS1='PROMPT> '\r"));
  await r.until(/PROMPT> $/);
  r.send('a', relayCredit(r.outBytes()));
  // After the flood `cat -v` shows any key that reached it as a byte.
  r.send('i', Buffer.from(`stty ${stty}; yes | head -c 300000; cat -v\r`));
  await sleep(300);
  const atKey = r.outBytes();
  r.send('i', Buffer.from(key));
  // Credit for all that came, and then some, until the output stops growing.
  let credited = atKey;
  r.send('a', relayCredit(window));
  for (let i = 0; i < 100; i++) {
    await sleep(10);
    const owed = r.outBytes() - credited;
    if (owed > 0) {
      r.send('a', relayCredit(owed));
      credited += owed;
    }
  }
  return { err: r.err(), atKey, out: r.out() };
}

test('Ctrl-C under a flood with ISIG: the kernel\'s flush is reported as a mark naming the output offset', async (t) => {
  const { err, atKey } = await interruptFlood(t, 'isig -noflsh', '\x03');
  const mark = /\0flush (\d+)\n/.exec(err);
  assert.ok(mark, `no flush mark on stderr (${JSON.stringify(err)})`);
  // Credit had run out when the key came: the relay had written exactly what it was sent at the key.
  assert.equal(Number(mark[1]), atKey, 'the mark names what was written before the flush');
});

test('no flush, no mark: with NOFLSH the tty keeps its output, and so must the server', async (t) => {
  const { err } = await interruptFlood(t, 'isig noflsh', '\x03');
  assert.doesNotMatch(err, /flush/, 'the kernel flushed nothing, so nothing may be dropped');
});

test('no mark in raw mode: with ISIG off Ctrl-C is a byte for the program, not a flush', async (t) => {
  const { err, out } = await interruptFlood(t, '-isig -echo', '\x03\x04');
  assert.doesNotMatch(err, /flush/);
  // No echo: the ^C on screen is cat -v's.
  assert.match(out, /\^C/, 'cat -v received the byte and showed it');
});

test('a resize reaches the shell as its terminal size', async (t) => {
  const r = startRelay(t, 65536, [], ['sh', '-c', 'stty size; read x; stty size'], { cols: 100, rows: 30 });
  await r.until(/30 100/);
  r.send('r', relaySize(132, 43));
  r.send('i', Buffer.from('\r'));
  await r.until(/43 132/);
});

test('the K=V pairs are the shell\'s environment only, and its exit status is the relay\'s', async (t) => {
  const r = startRelay(t, 65536, ['LABRUN_TEST_TOKEN=abc123'], ['sh', '-c', 'echo "token:$LABRUN_TEST_TOKEN"; echo "relay:$(tr "\\0" "\\n" < /proc/$PPID/environ | grep -c LABRUN_TEST_TOKEN)"; exit 7']);
  await r.until(/relay:\d/);
  assert.match(r.out(), /token:abc123/);
  assert.match(r.out(), /relay:0/);
  assert.equal(await r.exit, 7);
});

test('when the server goes away (stdin closes) the shell is hung up and the relay ends', async (t) => {
  const marker = `sleep-marker-${process.pid}`;
  const r = startRelay(t, 65536, [], ['bash', '-c', `exec -a ${marker} sleep 100`]);
  await sleep(300);
  r.child.stdin.end();
  await r.exit;
  let alive = true;
  for (let i = 0; i < 50 && alive; i++) {
    const p = spawn('pgrep', ['-f', marker]);
    alive = (await new Promise<number | null>((done) => p.once('exit', done))) === 0;
    if (alive) await sleep(50);
  }
  assert.equal(alive, false, 'the shell outlived the relay');
});

test('a shell that does not exist is reported in the terminal with the shell\'s usual status', async (t) => {
  const r = startRelay(t, 65536, [], ['no-such-shell-anywhere']);
  assert.equal(await r.exit, 127);
  assert.match(r.out(), /labrun: no-such-shell-anywhere: No such file or directory/);
});

test('frames split anywhere are put back together', async (t) => {
  const r = startRelay(t, 65536, [], ['sh', '-c', 'read line; echo "got:$line"']);
  const frame = relayFrame('i', Buffer.from('split-up\r'));
  for (const byte of frame) {
    r.child.stdin.write(Buffer.from([byte]));
    await sleep(2);
  }
  await r.until(/got:split-up/);
});
