// The host's view of a Docker-in-Docker sandbox's network namespaces, for port preview and the Ports
// list. Sandboxes have no network the host could route to, so labrun goes *into* their namespaces:
// - which processes belong to a sandbox comes from the host's own /proc (the learner cannot forge it):
//   those in the sandbox's PID namespace and their descendants (inner containers);
// - a relay (netns-relay.mjs) started with `nsenter --net` in one of those namespaces connects to its
//   loopback and passes the connected socket back, so the bytes then flow at full speed with no copy;
// - the relay reports the namespace it is in, and one that is not the namespace asked for (a pid reused
//   between the scan and nsenter) is killed before it connects anywhere.
// Needs root on the host (nsenter into another user's namespaces), as isolated sandboxes already do.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseListenSockets, parseNsPids, parseStat, type ListenSocket } from './proc-net.ts';
import { SandboxError } from './sandbox.ts';

const RELAY_SCRIPT = fileURLToPath(new URL('./netns-relay.mjs', import.meta.url));
/** Node starts in about 0.1 s; a loaded machine may take seconds, and a relay that never says hello is abandoned. */
const RELAY_READY_TIMEOUT_MS = 10_000;
/** The relay's own connect timeout is 5 s; this bounds a relay that stopped answering. */
const CONNECT_TIMEOUT_MS = 8_000;
/** Docker's embedded DNS listens on this address inside every service namespace: not the learner's port. */
const DOCKER_DNS_ADDRESS = '127.0.0.11';

export interface NsProcess {
  pid: number;
  ppid: number;
  startTime: string;
  comm: string;
  pidns: string;
  netns: string;
  /** Pids per PID namespace, the host's first. */
  nsPids: number[];
}

async function readStat(pid: number): Promise<{ ppid: number; startTime: string; comm: string; pidns: string } | undefined> {
  try {
    const stat = parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
    if (!stat) return undefined;
    return { ...stat, pidns: await readlink(`/proc/${pid}/ns/pid`) };
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * Every process of the sandbox whose first process has host pid `initPid`: those in its PID namespace
 * (its init's children, and what `docker exec` started there) and those below them (inner containers).
 */
export async function sandboxProcesses(initPid: number): Promise<NsProcess[]> {
  const pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
  const stats = new Map<number, NonNullable<Awaited<ReturnType<typeof readStat>>>>();
  await Promise.all(
    pids.map(async (pid) => {
      const s = await readStat(pid);
      if (s) stats.set(pid, s);
    }),
  );
  const root = stats.get(initPid);
  if (!root) throw new SandboxError(`the sandbox's first process (pid ${initPid}) is gone`, 'Restart the lab session to get a fresh sandbox.');
  const member = new Map<number, boolean>();
  const isMember = (pid: number, depth = 0): boolean => {
    const known = member.get(pid);
    if (known !== undefined) return known;
    const s = stats.get(pid);
    const yes = s !== undefined && (s.pidns === root.pidns || (s.ppid > 1 && depth < 64 && isMember(s.ppid, depth + 1)));
    member.set(pid, yes);
    return yes;
  };
  const out: NsProcess[] = [];
  await Promise.all(
    [...stats].map(async ([pid, s]) => {
      if (!isMember(pid)) return;
      try {
        const [netns, status] = await Promise.all([readlink(`/proc/${pid}/ns/net`), readFile(`/proc/${pid}/status`, 'utf8')]);
        out.push({ pid, ...s, netns, nsPids: parseNsPids(status) });
      } catch {
        // gone meanwhile
      }
    }),
  );
  return out.sort((a, b) => a.pid - b.pid);
}

/** The listening TCP sockets of the namespace `pid` is in, without Docker's embedded DNS. */
export async function listenSocketsOf(pid: number): Promise<ListenSocket[]> {
  const read = (file: string) => readFile(`/proc/${pid}/net/${file}`, 'utf8').catch(() => '');
  const [v4, v6] = await Promise.all([read('tcp'), read('tcp6')]);
  return [...parseListenSockets(v4, false), ...parseListenSockets(v6, true)].filter((s) => s.address !== DOCKER_DNS_ADDRESS);
}

/** Socket inode → name of the program holding it, over the given processes (for "who listens"). */
export async function socketOwners(procs: readonly NsProcess[]): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  await Promise.all(
    procs.map(async (p) => {
      const fds = await readdir(`/proc/${p.pid}/fd`).catch(() => []);
      for (const fd of fds) {
        const target = await readlink(`/proc/${p.pid}/fd/${fd}`).catch(() => '');
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode && !owners.has(inode)) owners.set(inode, p.comm);
      }
    }),
  );
  return owners;
}

interface Waiting {
  resolve: (s: Socket) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One relay process in one namespace; it leaves by itself when idle, and `dispose()` ends it now. */
export class NetnsRelay {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, Waiting>();
  #next = 0;
  #gone = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (msg: unknown, handle: unknown) => this.#onMessage(msg, handle));
    child.once('exit', () => this.#fail(new Error('the port relay stopped')));
  }

  get alive(): boolean {
    return !this.#gone;
  }

  /** Starts a relay in the namespace of host process `pid`, and checks it landed in `expectedNetns`. */
  static start(pid: number, expectedNetns: string): Promise<NetnsRelay> {
    const child = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, RELAY_SCRIPT], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise<NetnsRelay>((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new SandboxError(`could not reach into the sandbox's network: ${why}`, process.getuid?.() === 0 ? 'Retry; if it keeps failing, restart the lab session.' : 'Port preview needs labrun to run as root (it enters the sandbox\'s network namespace).'));
      };
      const timer = setTimeout(() => fail('the relay did not start in time'), RELAY_READY_TIMEOUT_MS);
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code) => fail(`nsenter exited with ${code ?? 'a signal'}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
      child.once('message', (msg: unknown) => {
        const ready = typeof msg === 'object' && msg !== null ? Reflect.get(msg, 'ready') : undefined;
        if (ready !== expectedNetns) return fail(`the relay is in ${String(ready)}, not in ${expectedNetns}`);
        clearTimeout(timer);
        child.removeAllListeners('exit');
        // An idle relay must not keep labrun's process alive; it leaves by itself when labrun goes.
        child.unref();
        child.channel?.unref();
        resolve(new NetnsRelay(child));
      });
    });
  }

  /** A TCP connection to loopback:port in the relay's namespace. */
  connect(port: number): Promise<Socket> {
    if (this.#gone) return Promise.reject(new Error('the port relay stopped'));
    const id = ++this.#next;
    // While an answer is awaited the channel keeps the process alive, as any pending request does.
    this.#child.channel?.ref();
    return new Promise<Socket>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(id);
        reject(new Error(`port ${port} did not answer in time`));
      }, CONNECT_TIMEOUT_MS);
      this.#waiting.set(id, { resolve, reject, timer });
      this.#child.send({ id, port });
    });
  }

  #settle(id: number): void {
    this.#waiting.delete(id);
    if (this.#waiting.size === 0) this.#child.channel?.unref();
  }

  #onMessage(msg: unknown, handle: unknown): void {
    if (typeof msg !== 'object' || msg === null) return;
    const id: unknown = Reflect.get(msg, 'id');
    const w = typeof id === 'number' ? this.#waiting.get(id) : undefined;
    if (!w || typeof id !== 'number') return;
    this.#settle(id);
    clearTimeout(w.timer);
    const error: unknown = Reflect.get(msg, 'error');
    if (typeof error === 'string') {
      w.reject(Object.assign(new Error(`connect: ${error}`), { code: error }));
      return;
    }
    if (handle instanceof Socket) w.resolve(handle);
    else w.reject(new Error('the port relay sent no connection'));
  }

  #fail(err: Error): void {
    this.#gone = true;
    for (const [id, w] of this.#waiting) {
      clearTimeout(w.timer);
      w.reject(err);
      this.#waiting.delete(id);
    }
  }

  dispose(): void {
    this.#fail(new Error('the port relay was stopped'));
    this.#child.kill('SIGKILL');
  }
}
