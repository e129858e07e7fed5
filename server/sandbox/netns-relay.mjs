// The port relay of one network namespace. labrun starts it as `nsenter --net=<a sandbox's namespace>
// node netns-relay.mjs` with an IPC channel as its only way in: for each `{ id, port }` it receives, it
// opens a TCP connection to the loopback address *of that namespace* and hands the connected socket
// itself back over the channel (the file descriptor moves to labrun, so the bytes never pass through
// here again). It listens on nothing and connects only to loopback, so nothing in the sandbox can use
// it to reach the host. Plain JavaScript, not TypeScript: it must start in milliseconds without tsx.
import { readlinkSync } from 'node:fs';
import net from 'node:net';

/** Leaves when labrun has asked for nothing this long (labrun starts a new one when needed). */
const IDLE_EXIT_MS = 60_000;
/** A port that does not answer the connect within this is reported as unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;

let idle = setTimeout(() => process.exit(0), IDLE_EXIT_MS);

/** Connects to loopback:port, IPv4 first, then IPv6 (a server bound to [::1] only). */
function connect(port, hosts, done, refused = false) {
  const [host, ...rest] = hosts;
  // Paused before connecting: the socket must not read anything here that labrun would then miss.
  const socket = new net.Socket();
  socket.pause();
  const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
  socket.once('connect', () => {
    clearTimeout(timer);
    done(null, socket);
  });
  socket.once('error', (err) => {
    clearTimeout(timer);
    const wasRefused = refused || err.code === 'ECONNREFUSED';
    if (rest.length > 0 && (err.code === 'ECONNREFUSED' || err.code === 'EADDRNOTAVAIL' || err.code === 'ENETUNREACH')) connect(port, rest, done, wasRefused);
    // A namespace without IPv6 says EADDRNOTAVAIL for ::1; that IPv4 was refused is the news.
    else done(wasRefused ? Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) : err);
  });
  socket.connect({ host, port });
}

process.on('message', (msg) => {
  clearTimeout(idle);
  idle = setTimeout(() => process.exit(0), IDLE_EXIT_MS);
  const id = typeof msg?.id === 'number' ? msg.id : -1;
  const port = msg?.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    process.send({ id, error: 'EINVAL' });
    return;
  }
  connect(port, ['127.0.0.1', '::1'], (err, socket) => {
    if (err) process.send({ id, error: err.code ?? 'EIO' });
    else process.send({ id, ok: true }, socket);
  });
});
process.on('disconnect', () => process.exit(0));
// The first message says which namespace this process really is in, so labrun can refuse a relay
// that ended up anywhere but the namespace it meant.
process.send({ ready: readlinkSync('/proc/self/ns/net') });
