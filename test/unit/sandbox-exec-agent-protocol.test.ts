// The exec agent's line protocol (server/sandbox/exec-agent.ts ↔ exec-agent.pl), without Docker:
// every field is hex, so spaces, newlines, NULs and non-UTF-8 bytes cannot break a line apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentRequestLine, parseAgentLine } from '../../server/sandbox/exec-agent.ts';

const hex = (s: string): string => Buffer.from(s).toString('hex');

test('a request is one line: id, cap, cwd, env and each argument hex-encoded', () => {
  const line = agentRequestLine('abc', { argv: ['sh', '-c', 'echo "a b"\nexit 3'], workingDir: '/root/my lab', env: { A: '1 2', B: 'x=y' }, timeoutMs: 5000, maxOutputBytes: 1024 });
  assert.ok(line.endsWith('\n'));
  assert.equal(line.indexOf('\n'), line.length - 1, 'no newline inside the line');
  assert.deepEqual(line.trimEnd().split(' '), ['R', 'abc', '1024', hex('/root/my lab'), hex('A=1 2\0B=x=y'), hex('sh'), hex('-c'), hex('echo "a b"\nexit 3')]);
});

test('an answer decodes exit code, kill and truncation flags and both streams', () => {
  assert.deepEqual(parseAgentLine(`D abc 3 0 1 ${hex('out\n')} ${hex('err')}`), { id: 'abc', exitCode: 3, killed: false, truncated: true, stdout: 'out\n', stderr: 'err' });
  assert.deepEqual(parseAgentLine('D abc - 1 0  '), { id: 'abc', exitCode: null, killed: true, truncated: false, stdout: '', stderr: '' });
});

test('anything that is not an answer is ignored, not misread', () => {
  for (const line of ['', 'hello', 'D', 'D abc 3 0 0 00', 'D abc three 0 0 00 00', 'X abc 0 0 0 00 00', 'D  0 0 0 00 00']) assert.equal(parseAgentLine(line), undefined, line);
});
