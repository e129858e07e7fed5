// engineExec (server/sandbox/engine-exec.ts) against a fake engine: a command the runtime could not
// start is tried once more, one that fails on its own is not. The real engine's exec is covered by
// the sandbox and checks integration tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { engineExec, runtimeCouldNotStart } from '../../server/sandbox/engine-exec.ts';

const RUNC_DIED = 'OCI runtime exec failed: exec failed: unable to start container process: waiting for init preliminary setup: read init-p: connection reset by peer: unknown\r\n';
const NO_PROGRAM = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "getent": executable file not found in $PATH: unknown\r\n';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** An engine whose execs answer in turn with the given output and exit code; counts the execs made. */
function fakeContainer(answers: { out: string; exitCode: number }[]): { container: Docker.Container; execs: () => number } {
  let made = 0;
  const container = {
    exec: async () => {
      const answer = answers[Math.min(made, answers.length - 1)] as { out: string; exitCode: number };
      made++;
      return {
        start: async () => {
          const stream = new PassThrough();
          setImmediate(() => stream.end(frame(1, answer.out)));
          return stream;
        },
        inspect: async () => ({ Running: false, ExitCode: answer.exitCode, Pid: 0 }),
      };
    },
  } as unknown as Docker.Container;
  return { container, execs: () => made };
}

const OPTS = { argv: ['getent', 'hosts', 'nginx_b'], timeoutMs: 5_000, maxOutputBytes: 64 * 1024, kill: async () => {} };

test('a command the runtime could not start is run again, and the second answer is the result', async () => {
  const { container, execs } = fakeContainer([
    { out: RUNC_DIED, exitCode: 126 },
    { out: '10.201.0.2      nginx_b\n', exitCode: 0 },
  ]);
  const r = await engineExec(container, OPTS);
  assert.equal(execs(), 2);
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, '10.201.0.2      nginx_b\n');
});

test('it is tried only once more: a runtime that keeps failing is reported as such', async () => {
  const { container, execs } = fakeContainer([{ out: RUNC_DIED, exitCode: 126 }]);
  const r = await engineExec(container, OPTS);
  assert.equal(execs(), 2);
  assert.equal(r.exitCode, 126);
  assert.match(r.stdout, /read init-p/);
});

test('a missing program and a command that fails on its own are not retried', async () => {
  for (const answer of [
    { out: NO_PROGRAM, exitCode: 127 },
    { out: 'no such host\n', exitCode: 2 },
    { out: 'OCI runtime exec failed: printed by the command itself\n', exitCode: 0 },
  ]) {
    const { container, execs } = fakeContainer([answer]);
    const r = await engineExec(container, OPTS);
    assert.equal(execs(), 1, answer.out);
    assert.equal(r.exitCode, answer.exitCode);
  }
});

test('runtimeCouldNotStart reads only the runtime error at the start of the output', () => {
  const base = { stderr: '', timedOut: false, truncated: false, durationMs: 1 };
  assert.equal(runtimeCouldNotStart({ ...base, exitCode: 126, stdout: RUNC_DIED }), true);
  assert.equal(runtimeCouldNotStart({ ...base, exitCode: 126, stdout: NO_PROGRAM }), false);
  assert.equal(runtimeCouldNotStart({ ...base, exitCode: 1, stdout: `some output\n${RUNC_DIED}` }), false);
  assert.equal(runtimeCouldNotStart({ ...base, exitCode: null, stdout: RUNC_DIED, timedOut: true }), false);
});
