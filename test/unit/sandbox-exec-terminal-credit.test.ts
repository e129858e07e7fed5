// ExecTerminal's side of the relay's credit (server/sandbox/exec-terminal.ts) against a fake engine
// exec: output comes in as Docker frames, and what the terminal writes back is read as relay frames.
// The real relay and engine are covered by test/integration/sandbox-stack.test.ts; here the counting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import type Docker from 'dockerode';
import { ExecTerminal, RELAY_CREDIT_BATCH_BYTES, RELAY_WINDOW_BYTES } from '../../server/sandbox/exec-terminal.ts';

/** The hijacked exec stream: `engineOutput` plays the engine's output, `credits` is what the terminal granted. */
class FakeExecStream extends Duplex {
  readonly credits: number[] = [];
  #fromTerminal = Buffer.alloc(0);

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.#fromTerminal = Buffer.concat([this.#fromTerminal, chunk]);
    while (this.#fromTerminal.length >= 5) {
      const len = this.#fromTerminal.readUInt32BE(1);
      if (this.#fromTerminal.length < 5 + len) break;
      if (this.#fromTerminal.toString('latin1', 0, 1) === 'a') this.credits.push(this.#fromTerminal.readUInt32BE(5));
      this.#fromTerminal = this.#fromTerminal.subarray(5 + len);
    }
    done();
  }

  /** One stdout frame of `bytes` bytes, as the engine frames one of the relay's writes. */
  engineOutput(bytes: number): void {
    const header = Buffer.alloc(8);
    header[0] = 1;
    header.writeUInt32BE(bytes, 4);
    this.push(Buffer.concat([header, Buffer.alloc(bytes, 0x61)]));
  }

  /** One stderr frame: the relay's complaints and flush marks. */
  engineStderr(text: string): void {
    const body = Buffer.from(text, 'latin1');
    const header = Buffer.alloc(8);
    header[0] = 2;
    header.writeUInt32BE(body.length, 4);
    this.push(Buffer.concat([header, body]));
  }

  granted(): number {
    return this.credits.reduce((a, b) => a + b, 0);
  }
}

async function startTerminal(): Promise<{ terminal: ExecTerminal; stream: FakeExecStream; received: () => number }> {
  const stream = new FakeExecStream();
  const exec = { start: async () => stream, inspect: async () => ({ Running: false, ExitCode: 0 }) };
  const container = { exec: async () => exec } as unknown as Docker.Container;
  const terminal = new ExecTerminal({ container, cmd: ['bash'], env: [], shellEnv: [], workingDir: '/', cols: 80, rows: 24, signal: () => undefined });
  let received = 0;
  terminal.onData((d) => {
    received += d.length;
  });
  for (let i = 0; i < 10; i++) await tick(); // the exec starts and the demuxer is attached
  return { terminal, stream, received: () => received };
}

/** Lets the stream deliver what was pushed. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await tick();
};

test('output is credited back in batches, and never more than came in', async () => {
  const { terminal, stream, received } = await startTerminal();
  const chunk = 5 * 1024;
  for (let i = 0; i < 40; i++) {
    stream.engineOutput(chunk);
    await settle();
    // What the relay may still send is the window less what it sent and has not been credited for.
    const uncredited = received() - stream.granted();
    assert.ok(uncredited >= 0, 'never credits more than it took in');
    assert.ok(uncredited < RELAY_CREDIT_BATCH_BYTES, `holds back no more than a batch (${uncredited} bytes after ${i + 1} chunks)`);
  }
  assert.equal(received(), 40 * chunk);
  assert.ok(stream.credits.length <= Math.ceil((40 * chunk) / RELAY_CREDIT_BATCH_BYTES), `${stream.credits.length} credits for ${40 * chunk} bytes, not one per chunk`);
  assert.ok(stream.credits.every((c) => c >= RELAY_CREDIT_BATCH_BYTES));
  terminal.kill('SIGKILL');
});

test('a keystroke echo is not credited at once; the relay still has almost all of its window', async () => {
  const { terminal, stream, received } = await startTerminal();
  stream.engineOutput(1);
  await settle();
  assert.equal(received(), 1);
  assert.deepEqual(stream.credits, []);
  assert.ok(RELAY_WINDOW_BYTES - received() > RELAY_WINDOW_BYTES - RELAY_CREDIT_BATCH_BYTES);
  terminal.kill('SIGKILL');
});

test('while paused nothing is credited; on resume everything owed is', async () => {
  const { terminal, stream, received } = await startTerminal();
  terminal.pause();
  for (let i = 0; i < 10; i++) stream.engineOutput(8 * 1024);
  await settle();
  assert.equal(received(), 80 * 1024);
  assert.deepEqual(stream.credits, [], 'a paused terminal grants the relay nothing');
  terminal.resume();
  await settle();
  assert.deepEqual(stream.credits, [80 * 1024]);
  // Small remainders are paid on resume too, so a pause never strands credit.
  terminal.pause();
  stream.engineOutput(10);
  await settle();
  terminal.resume();
  await settle();
  assert.equal(stream.granted(), received());
  terminal.kill('SIGKILL');
});

test('a flush mark that overtakes stdout drops the older bytes and is credited for them all the same', async () => {
  const { terminal, stream, received } = await startTerminal();
  const cuts: number[] = [];
  terminal.onFlush((keep) => cuts.push(keep));
  stream.engineOutput(1000);
  // The mark's line arrives split across two stderr frames, ahead of the last 3000 bytes before it.
  stream.engineStderr('\0flu');
  stream.engineStderr('sh 4000\n');
  await settle();
  assert.deepEqual(cuts, []);
  stream.engineOutput(3000);
  stream.engineOutput(10);
  await settle();
  assert.deepEqual(cuts, [0]);
  assert.equal(received(), 1000 + 10, 'the 3000 bytes older than the flush never reached the session');
  terminal.resume();
  await settle();
  assert.equal(stream.granted(), 4010, 'the relay is credited for what was dropped too');
  terminal.kill('SIGKILL');
});

test('a flush mark behind stdout keeps the newer bytes, and other stderr lines still reach the screen', async () => {
  const { terminal, stream } = await startTerminal();
  const cuts: number[] = [];
  const shown: string[] = [];
  terminal.onFlush((keep) => cuts.push(keep));
  terminal.onData((d) => shown.push(d.toString()));
  stream.engineOutput(500);
  stream.engineStderr('\0flush 480\nlabrun: something went wrong\n');
  await settle();
  assert.deepEqual(cuts, [20]);
  assert.ok(shown.includes('labrun: something went wrong\r\n'), `stderr shown as ${JSON.stringify(shown.slice(-2))}`);
  terminal.kill('SIGKILL');
});
