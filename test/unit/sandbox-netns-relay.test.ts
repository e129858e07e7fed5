// The namespace relay on its own, without Docker: in a network namespace this test makes (`unshare -n`)
// it connects to that namespace's loopback and hands the socket back; nothing listening is reported as
// refused; and a relay that lands in another namespace than the one asked for (a pid reused between the
// scan and nsenter) is refused before it connects anywhere. Needs root, as port preview does.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetnsRelay } from '../../server/sandbox/netns.ts';

const PORT = 9931;

test('the relay reaches only the loopback of the namespace it was meant for', async (t) => {
  if (process.getuid?.() !== 0) {
    if (process.env.CI) throw new Error('this test needs root (nsenter), as CI has');
    t.skip('needs root');
    return;
  }
  // A namespace of our own with a server on its loopback, which the host's loopback does not have.
  const server = `require('net').createServer((s) => s.end('from-the-namespace')).listen(${PORT}, '127.0.0.1')`;
  const child = spawn('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec "$0" -e "$1"`, process.execPath, server], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const pid = child.pid;
  assert.ok(pid);
  let netns = '';
  for (let i = 0; i < 100; i++) {
    netns = readlinkSync(`/proc/${pid}/ns/net`);
    if (netns !== readlinkSync('/proc/self/ns/net')) break;
    await sleep(20);
  }
  assert.notEqual(netns, readlinkSync('/proc/self/ns/net'), 'unshare made no namespace');

  const relay = await NetnsRelay.start(pid, netns);
  t.after(() => relay.dispose());
  let socket: Awaited<ReturnType<NetnsRelay['connect']>> | undefined;
  for (let i = 0; i < 50 && !socket; i++) {
    socket = await relay.connect(PORT).catch(async () => {
      await sleep(100); // the server is still starting
      return undefined;
    });
  }
  assert.ok(socket, 'never connected');
  socket.resume();
  const text = await new Promise<string>((resolve) => {
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString()));
    socket.on('end', () => resolve(got));
  });
  assert.equal(text, 'from-the-namespace');

  await assert.rejects(relay.connect(PORT + 1), (err: unknown) => err instanceof Error && 'code' in err && err.code === 'ECONNREFUSED');

  // Told to expect another namespace than the pid is in: refused, and it never connects.
  await assert.rejects(NetnsRelay.start(pid, 'net:[1]'), /the relay is in net:\[\d+\], not in net:\[1\]/);
});
