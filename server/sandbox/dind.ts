// The Docker-in-Docker sandbox driver: one container per learner running its own dockerd. The host
// talks to the inner daemon through a unix socket in a per-sandbox folder under stateDir (no TCP port
// is exposed). Two isolation levels (see engines.ts):
// - isolated (default): on labrun's user-namespace-remapping engine, with no network, a read-only root
//   filesystem, labrun's seccomp profile, and a disk of its own (disk.ts) for everything it writes;
// - trusted: on the host engine with broad capabilities, its own bridge network and a volume.
import { spawn as spawnProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readdir, readlink, rm, stat } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { join, posix, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Docker from 'dockerode';
import { z } from 'zod';
import {
  SandboxError,
  type EngineEvent,
  type EngineSnapshot,
  type ExecRequest,
  type ExecResult,
  type ListeningPort,
  type Sandbox,
  type SandboxDriver,
  type SandboxLimits,
  type SandboxProgress,
  type SandboxSpec,
} from './sandbox.ts';
import { errorMessage, ignoreMissing } from './docker-errors.ts';
import { PROBE_LABEL, isolatedHostConfig, probePrivilege, securityHostConfig, waitForDaemon } from './dind-container.ts';
import { copyDisk, createEmptyDisk, diskBinds, mountDisk, unmountDisk } from './disk.ts';
import { DEFAULT_SANDBOX_ENGINE, copyImage, engineAt, remapIdsOf, type Isolation, type RemapIds } from './engines.ts';
import { engineExec } from './engine-exec.ts';
import { NetnsRelay, listenSocketsOf, sandboxProcesses, socketOwners, type NsProcess } from './netns.ts';
import { GOLDEN_BUILDER_LABEL, ensureGolden } from './golden.ts';
import { AgentUnavailable, ExecAgent } from './exec-agent.ts';
import { ExecTerminal } from './exec-terminal.ts';
import type { PtyLike } from '../terminal/pty.ts';
import { SANDBOX_IMAGE } from '../images/ensure-images.ts';
import type { ImageMapping } from '../images/recipe.ts';
import { resolveImageNames } from '../images/recipes.ts';
import {
  LABEL,
  SANDBOX_LABEL_VERSION,
  assertWorkspaceName,
  composeProjectName,
  parseSandboxLabels,
  resourceName,
  sandboxIdFromName,
  sandboxLabels,
  type SandboxIdentity,
} from './naming.ts';

/** Enough for dockerd plus a few small services; one CPU so two cores serve a handful of learners. */
export const DEFAULT_LIMITS: SandboxLimits = {
  memoryBytes: 1.5 * 1024 ** 3,
  nanoCpus: 1e9,
  pidsLimit: 1024,
};

/**
 * Network of the sandbox engine that sandboxes of labs with `egress: true` join; made, with the host
 * rules that keep it from this host, private ranges and other sandboxes, by scripts/ensure-sandbox-engine.sh.
 */
export const EGRESS_NETWORK = 'labrun-egress';

/** Room for a lab's images, a few stacks and the learner's files; the image file is sparse, so unused room costs nothing. */
export const DEFAULT_DISK_BYTES = 10 * 1024 ** 3;

/** Ready in 1–6.5 s measured (one / five at once), plus seeding images; a cold, busy disk can take far longer. */
const DEFAULT_READY_TIMEOUT_MS = 90_000;
const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
/** Checks read short outputs; a runaway command must not fill the server's memory. */
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** Internal housekeeping execs (mkdir, kill) finish in milliseconds; bound them anyway. */
const HOUSEKEEPING_TIMEOUT_MS = 10_000;
/** sun_path is 108 bytes on Linux; a longer socket path fails with a confusing EINVAL. */
const MAX_SOCKET_PATH = 107;
const PING_TIMEOUT_MS = 2_000;
/** Helpers live seconds; one this old was abandoned, and a younger one may belong to a running labrun. */
const HELPER_MAX_AGE_S = 60 * 60;
/** A disk is made before its container: one without a container younger than this may be mid-create. */
const ORPHAN_DISK_AGE_MS = 10 * 60_000;
/** What the topology panel redraws on: a container or network appearing, going, (dis)connecting or changing state. */
const ENGINE_EVENT_ACTIONS = ['create', 'start', 'restart', 'die', 'destroy', 'rename', 'pause', 'unpause', 'update', 'connect', 'disconnect'];
const engineEventSchema = z.object({
  Type: z.string(),
  Action: z.string(),
  Actor: z.object({ ID: z.string() }).optional(),
  timeNano: z.number().optional(),
  time: z.number().optional(),
});
/** Environment variable that marks a terminal's shell (and its children) so they can be found and ended. */
const TERMINAL_ENV = 'LABRUN_TERMINAL';
/** How long which namespace a port target is in stays known: a preview page's assets come in a burst. */
const TARGET_CACHE_MS = 3_000;

/** A namespace a port can be reached in: the sandbox's own, or a service's (by compose service or container name). */
interface PortTarget {
  name: string | undefined;
  proc: NsProcess;
  /** Joined another container's namespace (network_mode: service:…): that one names it in the Ports list. */
  joined?: boolean;
}

/** Where a new sandbox's state lives and with which security settings it runs. */
interface Placement {
  hostConfig: Docker.HostConfig;
  binds: string[];
  /** Host ids the sandbox's root maps to (isolated), who must own what it writes to. */
  owner: RemapIds | undefined;
  /** Whether the entrypoint copies a golden folder before the daemon starts (trusted with images). */
  seeding: boolean;
}

const bridgeOptionsSchema = z.object({ Options: z.record(z.string(), z.string()).optional() });

export interface DindDriverOptions {
  /** Host folder for per-sandbox sockets, disks and the golden image state, e.g. `data/sandboxes`. */
  stateDir: string;
  limits?: Partial<SandboxLimits>;
  /** `isolated` (default) or `trusted`; see the header of this module. */
  isolation?: Isolation;
  /**
   * The engine sandboxes run on, as a unix:// URL: by default labrun's sandbox engine
   * (LABRUN_SANDBOX_ENGINE or unix:///run/labrun-engine.sock) when isolated, the host engine when trusted.
   */
  engineUrl?: string;
  /** Where images are built and copied from; the host engine by default. */
  imageEngine?: Docker;
  /** Size of an isolated sandbox's disk (inner images and containers, workspace, /tmp). */
  diskBytes?: number;
  /** Sandbox image; defaults to labrun/sandbox:trixie. */
  image?: string;
  /** Longest wait for a new or restarted sandbox's inner daemon to answer. */
  readyTimeoutMs?: number;
  /**
   * Where golden image states live; default `<stateDir>/golden`. Drivers with different stateDirs
   * (e.g. test fixtures) can share one to prepare each image set only once.
   */
  goldenDir?: string;
  /**
   * Maps the image names a spec declares (nginx:latest) to the host images loaded under them
   * (labrun/nginx:trixie); by default through the recipes in images/.
   */
  resolveImages?: (names: readonly string[]) => Promise<ImageMapping[]>;
}

/** The engine sandboxes of this level run on by default. */
export function defaultEngineUrl(isolation: Isolation, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return isolation === 'isolated' ? (env.LABRUN_SANDBOX_ENGINE || DEFAULT_SANDBOX_ENGINE) : undefined;
}

interface DriverContext {
  engine: Docker;
  /** For the docker CLI a terminal runs (DOCKER_HOST); undefined = the host engine. */
  engineUrl: string | undefined;
  stateDir: string;
  isolation: Isolation;
}

function runDir(ctx: DriverContext, id: string): string {
  return join(ctx.stateDir, id);
}

/** An isolated sandbox's disk image and where the host mounts it. */
function diskPaths(ctx: DriverContext, id: string): { image: string; mountPoint: string } {
  const dir = join(ctx.stateDir, 'disks');
  return { image: join(dir, `${id}.img`), mountPoint: join(dir, id) };
}

/** Removes everything a sandbox consists of; each part may already be gone. */
async function removeSandboxResources(ctx: DriverContext, id: string): Promise<void> {
  const name = resourceName(id);
  await ignoreMissing(() => ctx.engine.getContainer(name).remove({ force: true, v: true }));
  await ignoreMissing(() => ctx.engine.getVolume(name).remove());
  await ignoreMissing(() => ctx.engine.getNetwork(name).remove());
  const disk = diskPaths(ctx, id);
  await unmountDisk(disk.mountPoint);
  await rm(disk.image, { force: true });
  await rm(runDir(ctx, id), { recursive: true, force: true });
}

/** The inner engine of a dind sandbox (Docker tests compare against it); throws for any other driver's. */
export function innerEngine(sb: Sandbox): Docker {
  if (!(sb instanceof DindSandbox)) throw new Error(`sandbox ${sb.id} is not a Docker-in-Docker sandbox`);
  return sb.innerEngine();
}

class DindSandbox implements Sandbox {
  readonly workspacePath: string;
  readonly labId: string;
  readonly learnerId: string;
  readonly workspace: string;
  readonly createdAt: Date;
  private readonly containerName: string;
  private readonly socketPath: string;
  private readonly inner: Docker;
  /** Runs the sandbox shell's commands without an Engine API exec each (see exec-agent.ts). */
  private readonly agent: ExecAgent;
  private destroying: Promise<void> | undefined;
  /** One relay per network namespace, by the namespace's id (net:[inode]). */
  private readonly relays = new Map<string, Promise<NetnsRelay>>();
  private targetCache: { at: number; targets: Promise<PortTarget[]> } | undefined;

  constructor(
    private readonly ctx: DriverContext,
    readonly id: string,
    identity: SandboxIdentity,
  ) {
    this.labId = identity.labId;
    this.learnerId = identity.learnerId;
    this.workspace = identity.workspace;
    this.createdAt = identity.createdAt;
    this.workspacePath = posix.join('/root', identity.workspace);
    this.containerName = resourceName(id);
    this.socketPath = join(runDir(ctx, id), 'docker.sock');
    this.inner = new Docker({ socketPath: this.socketPath });
    this.agent = new ExecAgent(() => this.container);
  }

  private get container(): Docker.Container {
    return this.ctx.engine.getContainer(this.containerName);
  }

  async exec(req: ExecRequest): Promise<ExecResult> {
    try {
      return await this.execUnguarded(req);
    } catch (err) {
      if (err instanceof SandboxError) throw err;
      // Most likely the sandbox stopped or was removed under us; say that rather than a raw engine error.
      const healthy = await this.isHealthy();
      throw new SandboxError(
        healthy
          ? `running ${req.argv[0] ?? ''} in sandbox ${this.containerName}${req.service ? ` (service ${req.service})` : ''} failed: ${errorMessage(err)}`
          : `sandbox ${this.containerName} is not running or its Docker daemon does not answer (${errorMessage(err)})`,
        healthy ? 'Retry; if it keeps failing, restart the lab session.' : 'Restart the lab session to get a fresh sandbox.',
      );
    }
  }

  private async execUnguarded(req: ExecRequest): Promise<ExecResult> {
    if (req.argv.length === 0) throw new SandboxError('exec needs a command (argv was empty)', 'Pass the program and its arguments as argv.');
    const timeoutMs = req.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const maxOutputBytes = req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    if (req.service !== undefined) {
      const target = await this.serviceContainer(req.service);
      return engineExec(target, { argv: req.argv, env: req.env, stdin: req.stdin, timeoutMs, maxOutputBytes, kill: (pid) => this.killTree(pid) });
    }
    // The agent's frames carry no stdin: a command fed input (the editor's save) takes an Engine API exec.
    if (req.stdin === undefined) {
      try {
        return await this.agent.run({ argv: req.argv, workingDir: this.workspacePath, env: req.env, timeoutMs, maxOutputBytes });
      } catch (err) {
        if (!(err instanceof AgentUnavailable)) throw err;
      }
    }
    // Without the agent: the outer engine reports host PIDs, which mean nothing inside the sandbox;
    // coreutils timeout (in our image) kills the command's whole process group instead.
    const argv = ['timeout', '--kill-after=1', String(timeoutMs / 1000), ...req.argv];
    const result = await engineExec(this.container, {
      argv,
      env: req.env,
      stdin: req.stdin,
      workingDir: this.workspacePath,
      timeoutMs,
      maxOutputBytes,
      kill: async () => {},
    });
    // 124 is timeout's own "timed out" status; our timer and its timer race by a few milliseconds.
    if (result.exitCode === 124 && result.durationMs >= timeoutMs * 0.9) return { ...result, exitCode: null, timedOut: true };
    return result;
  }

  /** The running container of a compose service of the workspace's project, found by compose's labels. */
  private async serviceContainer(service: string): Promise<Docker.Container> {
    const project = composeProjectName(this.workspace);
    const found = await this.inner.listContainers({
      filters: { label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`], status: ['running'] },
    });
    const first = found.sort((a, b) => (a.Names[0] ?? '').localeCompare(b.Names[0] ?? ''))[0];
    if (!first) {
      throw new SandboxError(
        `service ${service} is not running in project ${project}`,
        `Start the stack in ${this.workspacePath} (for example \`docker compose up -d\`), then check again.`,
      );
    }
    return this.inner.getContainer(first.Id);
  }

  /** Kills an inner exec and everything it started; inner PIDs are the sandbox's own PID namespace. */
  private async killTree(pid: number): Promise<void> {
    await engineExec(this.container, {
      // List the whole tree first, parents before children, then kill it in that order: a parent
      // killed after its child could still run its next command (`sleep 30; echo late`).
      argv: ['bash', '-c', 't() { echo "$1"; local c; for c in $(pgrep -P "$1"); do t "$c"; done; }; kill -KILL $(t "$0") 2>/dev/null; true', String(pid)],
      timeoutMs: HOUSEKEEPING_TIMEOUT_MS,
      maxOutputBytes: 4096,
      kill: async () => {},
    });
  }

  /** The inner daemon's Engine API itself: for this driver and Docker tests only, never the contract. */
  innerEngine(): Docker {
    return this.inner;
  }

  async engineSnapshot(): Promise<EngineSnapshot> {
    const list = await this.inner.listContainers({ all: true });
    // A container removed between list and inspect is simply gone: skip it rather than fail the check.
    const containers = (await Promise.all(list.map((c) => this.inner.getContainer(c.Id).inspect().catch(() => undefined)))).filter((x) => x !== undefined);
    return { containers, networks: await this.inner.listNetworks() };
  }

  async *engineEvents(signal: AbortSignal): AsyncIterable<EngineEvent> {
    const stream = await this.inner.getEvents({ filters: { type: ['container', 'network'], event: ENGINE_EVENT_ACTIONS } });
    const stop = (): void => {
      // dockerode types the stream as a plain ReadableStream; it is a socket that can be destroyed.
      (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
    };
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      // The engine writes one JSON object per line.
      for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
        if (line.trim() === '') continue;
        let raw: unknown;
        try {
          raw = JSON.parse(line);
        } catch {
          continue;
        }
        const e = engineEventSchema.safeParse(raw);
        if (!e.success) continue;
        yield { type: e.data.Type, action: e.data.Action, id: e.data.Actor?.ID ?? '', time: e.data.timeNano !== undefined ? e.data.timeNano / 1e6 : (e.data.time ?? 0) * 1000 };
      }
    } finally {
      signal.removeEventListener('abort', stop);
      stop();
    }
  }

  openTerminal(cols: number, rows: number): PtyLike {
    const token = randomBytes(8).toString('hex');
    const terminal = new ExecTerminal({
      container: this.container,
      cmd: ['bash', '-l'],
      env: ['TERM=xterm-256color', `LABRUN_WORKSPACE=${this.workspacePath}`],
      // Only the shell's session carries the token: signalling it must not reach the relay.
      shellEnv: [`${TERMINAL_ENV}=${token}`],
      workingDir: this.workspacePath,
      cols: Math.max(1, Math.floor(cols)),
      rows: Math.max(1, Math.floor(rows)),
      signal: (sig) => void this.signalTerminalSession(token, sig).catch(() => {}),
    });
    // What the shell left running in its session (e.g. `sleep 1000 &`) goes when the shell ends.
    terminal.onExit(() => void this.signalTerminalSession(token, 'SIGKILL').catch(() => {}));
    return terminal;
  }

  /** Signals the session of every process carrying this terminal's token in its environment. */
  private async signalTerminalSession(token: string, signal: string): Promise<void> {
    const script = `
      for e in /proc/[0-9]*/environ; do
        if tr '\\0' '\\n' < "$e" 2>/dev/null | grep -qx "${TERMINAL_ENV}=$0"; then
          p=\${e#/proc/}; s=$(ps -o sid= -p "\${p%/environ}" | tr -d ' ')
          [ -n "$s" ] && sids="$sids $s"
        fi
      done
      for s in $sids; do pkill "-$1" -s "$s"; done
      true`;
    await this.exec({ argv: ['bash', '-c', script, token, signal.replace(/^SIG/, '')], timeoutMs: HOUSEKEEPING_TIMEOUT_MS, maxOutputBytes: 4096 });
  }

  async copyIn(hostDir: string, destDir: string): Promise<void> {
    const info = await stat(hostDir).catch(() => undefined);
    if (!info?.isDirectory()) throw new SandboxError(`cannot copy ${hostDir} into the sandbox: it is not a folder`, 'Check the lab\'s files/ folder exists.');
    await this.mkdirInside(destDir);
    const tar = spawnProcess('tar', ['-C', hostDir, '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tarErr = '';
    tar.stderr.on('data', (d: Buffer) => (tarErr += d.toString()));
    const exited = new Promise<number | null>((done) => tar.once('close', done));
    try {
      await this.container.putArchive(tar.stdout, { path: destDir });
    } finally {
      tar.kill();
    }
    const code = await exited;
    if (code !== 0 && code !== null) throw new SandboxError(`could not pack ${hostDir} to copy it into the sandbox: ${tarErr.trim()}`, 'Check the folder is readable.');
  }

  private async mkdirInside(dir: string): Promise<void> {
    const r = await engineExec(this.container, { argv: ['mkdir', '-p', '--', dir], timeoutMs: HOUSEKEEPING_TIMEOUT_MS, maxOutputBytes: 4096, kill: async () => {} });
    if (r.exitCode !== 0) throw new SandboxError(`could not create ${dir} in sandbox ${this.containerName}: ${r.stderr.trim()}`, 'Check the sandbox is running.');
  }

  async isHealthy(): Promise<boolean> {
    try {
      const info = await this.container.inspect();
      if (!info.State.Running) return false;
      await new Docker({ socketPath: this.socketPath, timeout: PING_TIMEOUT_MS }).ping();
      return true;
    } catch {
      return false;
    }
  }

  /** The namespaces ports can be reached in, from the host's /proc; the inner engine only names them. */
  private portTargets(): Promise<PortTarget[]> {
    if (this.targetCache && Date.now() - this.targetCache.at < TARGET_CACHE_MS) return this.targetCache.targets;
    const targets = this.scanPortTargets();
    this.targetCache = { at: Date.now(), targets };
    targets.catch(() => (this.targetCache = undefined));
    return targets;
  }

  private freshPortTargets(): Promise<PortTarget[]> {
    this.targetCache = undefined;
    return this.portTargets();
  }

  private async scanPortTargets(): Promise<PortTarget[]> {
    const info = await this.container.inspect();
    if (!info.State.Running || !info.State.Pid) {
      throw new SandboxError(`sandbox ${this.containerName} is not running`, 'Restart the lab session to get a fresh sandbox.');
    }
    const procs = await sandboxProcesses(info.State.Pid);
    const root = procs.find((p) => p.pid === info.State.Pid);
    if (!root) throw new SandboxError(`sandbox ${this.containerName} has no first process`, 'Restart the lab session to get a fresh sandbox.');
    const targets: PortTarget[] = [{ name: undefined, proc: root }];
    // The inner engine belongs to the learner: what it says only names namespaces found above, by pid.
    const level = root.nsPids.length - 1;
    const project = composeProjectName(this.workspace);
    for (const c of await this.inner.listContainers().catch(() => [])) {
      const detail = await this.inner.getContainer(c.Id).inspect().catch(() => undefined);
      const pid = detail?.State.Pid;
      const proc = typeof pid === 'number' && pid > 0 ? procs.find((p) => p.nsPids[level] === pid) : undefined;
      if (!proc) continue;
      const service = c.Labels?.['com.docker.compose.project'] === project ? c.Labels['com.docker.compose.service'] : undefined;
      const joined = detail?.HostConfig.NetworkMode?.startsWith('container:') ?? false;
      targets.push({ name: service ?? (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''), proc, joined });
    }
    // Everything else of the sandbox, grouped by namespace, for the Ports list's program names.
    for (const p of procs) if (!targets.some((t) => t.proc.pid === p.pid)) targets.push({ name: '', proc: p });
    return targets;
  }

  async connectPort(port: number, opts: { service?: string } = {}): Promise<Duplex> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SandboxError(`port ${port} is not a TCP port`, 'Use a number from 1 to 65535.');
    const find = (targets: PortTarget[]): PortTarget | undefined => targets.find((t) => t.name === opts.service && t.name !== '');
    // A service started since the cached scan (compose up, then the preview at once): scan afresh before saying no.
    const target = find(await this.portTargets()) ?? find(await this.freshPortTargets());
    if (!target) {
      throw new SandboxError(
        `no running service or container named ${opts.service ?? ''} in your sandbox`,
        'Start it (for example `docker compose up -d`), or open the port without a service.',
      );
    }
    const netns = target.proc.netns;
    // Belt and braces: whatever the scan found, never relay inside the server's own network.
    if (netns === (await readlink('/proc/self/ns/net'))) throw new SandboxError('refusing to connect inside the server\'s own network', 'This is a bug in labrun; please report it.');
    let relay = this.relays.get(netns);
    if (!relay || !(await relay.then((r) => r.alive, () => false))) {
      relay = NetnsRelay.start(target.proc.pid, netns);
      this.relays.set(netns, relay);
      relay.catch(() => this.relays.delete(netns));
    }
    try {
      return await (await relay).connect(port);
    } catch (err) {
      const where = opts.service ? `in ${opts.service}'s network namespace` : 'in your sandbox';
      if (err instanceof SandboxError) throw err;
      if (err instanceof Error && 'code' in err && err.code === 'ECONNREFUSED') {
        throw new SandboxError(`nothing listens on port ${port} ${where}`, 'Start the service, then reload.', 'refused');
      }
      throw new SandboxError(`could not connect to port ${port} ${where}: ${errorMessage(err)}`, 'Retry; if it keeps failing, restart the lab session.');
    }
  }

  async listeningPorts(): Promise<ListeningPort[]> {
    // Fresh, not cached: a program that just started must show with its name.
    const targets = await this.scanPortTargets();
    const byNetns = new Map<string, { name: string | undefined; procs: NsProcess[] }>();
    // The namespace's owner names it; a container that joined it, or a bare process, only if nothing else does.
    const rank = (t: PortTarget): number => (t.name === undefined ? 0 : t.name === '' ? 3 : t.joined ? 2 : 1);
    for (const t of [...targets].sort((a, b) => rank(a) - rank(b))) {
      const group = byNetns.get(t.proc.netns);
      if (!group) byNetns.set(t.proc.netns, { name: t.name, procs: [t.proc] });
      else group.procs.push(t.proc);
    }
    const out: ListeningPort[] = [];
    for (const { name, procs } of byNetns.values()) {
      if (name === '' || !procs[0]) continue; // a namespace of the sandbox no container owns
      const [sockets, owners] = await Promise.all([listenSocketsOf(procs[0].pid), socketOwners(procs)]);
      for (const s of sockets) {
        const process = owners.get(s.inode);
        out.push({ port: s.port, address: s.address, ...(name !== undefined && { service: name }), ...(process !== undefined && { process }) });
      }
    }
    return out.sort((a, b) => (a.service ?? '').localeCompare(b.service ?? '') || a.port - b.port || a.address.localeCompare(b.address));
  }

  destroy(): Promise<void> {
    for (const relay of this.relays.values()) void relay.then((r) => r.dispose(), () => {});
    this.relays.clear();
    this.agent.close();
    this.destroying ??= removeSandboxResources(this.ctx, this.id).catch((err: unknown) => {
      this.destroying = undefined; // let a later call retry
      throw err;
    });
    return this.destroying;
  }

  /** Makes the workspace and copies the lab's files into it. */
  async prepareWorkspace(filesDir: string | undefined): Promise<void> {
    await this.mkdirInside(this.workspacePath);
    if (filesDir !== undefined) await this.copyIn(filesDir, this.workspacePath);
  }
}

export class DindDriver implements SandboxDriver {
  readonly isolation: Isolation;
  private readonly ctx: DriverContext;
  private readonly imageEngine: Docker;
  private readonly limits: SandboxLimits;
  private readonly image: string;
  private readonly readyTimeoutMs: number;
  private readonly goldenDir: string;
  private readonly diskBytes: number;
  private readonly resolveImages: DindDriverOptions['resolveImages'];
  private mtu: Promise<string | undefined> | undefined;
  private remap: Promise<RemapIds> | undefined;

  constructor(opts: DindDriverOptions) {
    this.isolation = opts.isolation ?? 'isolated';
    const engineUrl = opts.engineUrl ?? defaultEngineUrl(this.isolation);
    this.ctx = { engine: engineAt(engineUrl), engineUrl, stateDir: resolve(opts.stateDir), isolation: this.isolation };
    this.imageEngine = opts.imageEngine ?? new Docker();
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.image = opts.image ?? SANDBOX_IMAGE;
    this.readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    this.goldenDir = resolve(opts.goldenDir ?? join(this.ctx.stateDir, 'golden'));
    this.diskBytes = opts.diskBytes ?? DEFAULT_DISK_BYTES;
    this.resolveImages = opts.resolveImages;
  }

  /** The engine this driver's sandboxes run on (for tests and tools that inspect them). */
  get engine(): Docker {
    return this.ctx.engine;
  }

  /** Host ids of the sandbox engine's remapped root; refuses an engine that does not remap. */
  private remapIds(): Promise<RemapIds> {
    this.remap ??= remapIdsOf(this.ctx.engine).then(
      (ids) => {
        if (ids) return ids;
        throw new SandboxError(
          `the sandbox engine at ${this.ctx.engineUrl ?? 'the default socket'} does not remap user namespaces, so root in a sandbox would be root on this host`,
          'Start labrun\'s sandbox engine with scripts/ensure-docker.sh (as root), or choose --isolation=trusted.',
        );
      },
      (err: unknown) => {
        throw new SandboxError(
          `labrun's sandbox engine does not answer at ${this.ctx.engineUrl ?? 'the default socket'} (${errorMessage(err)})`,
          'Start it with scripts/ensure-docker.sh (as root; npm start does), or choose --isolation=trusted.',
        );
      },
    );
    this.remap.catch(() => (this.remap = undefined));
    return this.remap;
  }

  async create(spec: SandboxSpec, onProgress?: (p: SandboxProgress) => void): Promise<Sandbox> {
    assertWorkspaceName(spec.workspace);
    const started = Date.now();
    const progress = (step: SandboxProgress['step'], message: string) => onProgress?.({ step, message, elapsedMs: Date.now() - started });
    const id = randomBytes(5).toString('hex');
    const name = resourceName(id);
    const socketPath = join(runDir(this.ctx, id), 'docker.sock');
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new SandboxError(`the sandbox socket path ${socketPath} is longer than a unix socket allows`, 'Use a shorter stateDir.');
    }
    const createdAt = new Date();
    const labels = sandboxLabels(spec, createdAt);
    const sandbox = new DindSandbox(this.ctx, id, { ...spec, createdAt, version: SANDBOX_LABEL_VERSION });
    try {
      const placement = this.isolation === 'isolated' ? await this.placeIsolated(id, spec, progress) : await this.placeTrusted(id, spec, labels, progress);
      progress('container', `starting container ${name}`);
      await mkdir(runDir(this.ctx, id), { recursive: true });
      if (placement.owner) await chown(runDir(this.ctx, id), placement.owner.uid, placement.owner.gid);
      const uid = process.getuid?.();
      const container = await this.ctx.engine.createContainer({
        name,
        Image: this.image,
        Hostname: 'sandbox',
        Labels: labels,
        Env: uid !== undefined && uid !== 0 ? [`LABRUN_SOCKET_OWNER=${uid}:${process.getgid?.() ?? uid}`] : [],
        HostConfig: {
          ...placement.hostConfig,
          Binds: [...placement.binds, `${runDir(this.ctx, id)}:/run/labrun`],
          Memory: this.limits.memoryBytes,
          MemorySwap: this.limits.memoryBytes,
          NanoCpus: this.limits.nanoCpus,
          PidsLimit: this.limits.pidsLimit,
        },
      });
      await container.start();
      // With images, the entrypoint first copies the golden state: the longest part of a start.
      progress('daemon', placement.seeding ? "copying the preloaded images and starting the sandbox's Docker daemon" : "starting the sandbox's Docker daemon");
      await waitForDaemon(this.ctx.engine, container.id, name, socketPath, this.readyTimeoutMs);
      for (const tag of spec.images) {
        await sandbox.innerEngine().getImage(tag).inspect().catch((err: unknown) => {
          throw new SandboxError(`image ${tag} is missing inside sandbox ${name} after preloading (${errorMessage(err)})`, `Delete the golden states in ${this.goldenDir} and retry.`);
        });
      }
      progress('files', `preparing ${sandbox.workspacePath}`);
      await sandbox.prepareWorkspace(spec.filesDir);
      progress('ready', `sandbox ${name} is ready`);
      return sandbox;
    } catch (err) {
      await sandbox.destroy().catch(() => {});
      if (err instanceof SandboxError) throw err;
      throw new SandboxError(`could not create a sandbox for ${spec.learnerId} in lab ${spec.labId}: ${errorMessage(err)}`, 'Check that Docker is running and `labrun images` has built the images.');
    }
  }

  /** Isolated: the sandbox image on the sandbox engine, and a disk of its own (a golden copy when the lab has images). */
  private async placeIsolated(id: string, spec: SandboxSpec, progress: (step: SandboxProgress['step'], message: string) => void): Promise<Placement> {
    const owner = await this.remapIds();
    await copyImage(this.imageEngine, this.ctx.engine, this.image, (line) => progress('images', line));
    if (spec.egress) await this.assertEgressNetwork();
    const hostConfig = { ...isolatedHostConfig(), ...(spec.egress && { NetworkMode: EGRESS_NETWORK }) };
    const disk = diskPaths(this.ctx, id);
    await mkdir(join(this.ctx.stateDir, 'disks'), { recursive: true });
    if (spec.images.length > 0) {
      progress('images', `preparing images ${spec.images.join(', ')}`);
      const golden = await this.golden(spec.images, (line) => progress('images', line));
      progress('disk', 'copying the disk with the preloaded images');
      await copyDisk(golden, disk.image);
    } else {
      progress('disk', 'creating its disk');
      await createEmptyDisk(disk.image, this.diskBytes, owner);
    }
    await mountDisk(disk.image, disk.mountPoint, owner);
    return { hostConfig, binds: diskBinds(disk.mountPoint), owner, seeding: false };
  }

  /**
   * The golden state for an image set, built once (see golden.ts) by a sandbox of this driver's level:
   * a disk image for isolated sandboxes, a folder for trusted ones.
   */
  private async golden(images: string[], log: (line: string) => void, signal?: AbortSignal): Promise<string> {
    const build =
      this.isolation === 'isolated'
        ? { hostConfig: isolatedHostConfig(), disk: { sizeBytes: this.diskBytes, owner: await this.remapIds() } }
        : { hostConfig: securityHostConfig(await probePrivilege(this.ctx.engine, this.image)) };
    return ensureGolden(this.ctx.engine, {
      goldenDir: this.goldenDir,
      sandboxImage: this.image,
      images,
      imageEngine: this.imageEngine,
      build,
      ...(this.resolveImages ? { resolveImages: this.resolveImages } : {}),
      log,
      ...(signal && { signal }),
    });
  }

  /**
   * Makes ready, before the first learner asks, what creating sandboxes for these image sets needs:
   * the sandbox image on the sandbox engine and each set's golden state (seconds, once per version).
   */
  async prepare(imageSets: readonly string[][], log: (line: string) => void = () => {}, signal?: AbortSignal): Promise<void> {
    if (this.isolation === 'isolated') {
      await this.remapIds();
      await copyImage(this.imageEngine, this.ctx.engine, this.image, log);
    }
    for (const images of imageSets) if (images.length > 0 && !signal?.aborted) await this.golden(images, log, signal);
  }

  /** The egress network and its filter rules are the host's setup (scripts/ensure-sandbox-engine.sh), not ours. */
  private async assertEgressNetwork(): Promise<void> {
    await this.ctx.engine
      .getNetwork(EGRESS_NETWORK)
      .inspect()
      .catch((err: unknown) => {
        throw new SandboxError(
          `this lab asks for egress, but the sandbox engine has no ${EGRESS_NETWORK} network (${errorMessage(err)})`,
          'Run scripts/ensure-docker.sh as root: it creates the network and the host rules that keep egress away from this host and other sandboxes.',
        );
      });
  }

  /** Trusted: a bridge network and a volume on the host engine; the golden folder is copied in by the entrypoint. */
  private async placeTrusted(
    id: string,
    spec: SandboxSpec,
    labels: Record<string, string>,
    progress: (step: SandboxProgress['step'], message: string) => void,
  ): Promise<Placement> {
    const { engine } = this.ctx;
    const name = resourceName(id);
    progress('network', `creating network ${name}`);
    const mtu = await this.bridgeMtu();
    await engine.createNetwork({
      Name: name,
      Driver: 'bridge',
      Labels: labels,
      CheckDuplicate: true,
      Options: mtu === undefined ? {} : { 'com.docker.network.driver.mtu': mtu },
    });
    progress('volume', `creating volume ${name}`);
    await engine.createVolume({ Name: name, Labels: labels });
    const binds = [`${name}:/var/lib/docker`];
    const hostConfig = { ...securityHostConfig(await probePrivilege(engine, this.image)), NetworkMode: name };
    if (spec.images.length > 0) {
      progress('images', `preparing images ${spec.images.join(', ')}`);
      const golden = await this.golden(spec.images, (line) => progress('images', line));
      binds.push(`${golden}:/labrun/golden:ro`);
    }
    return { hostConfig, binds, owner: undefined, seeding: spec.images.length > 0 };
  }

  /**
   * The MTU the engine's default bridge uses (set with dockerd --mtu where the uplink is smaller),
   * so the sandbox's network, and the inner daemon that copies its MTU, never exceed it.
   */
  private bridgeMtu(): Promise<string | undefined> {
    this.mtu ??= this.ctx.engine
      .getNetwork('bridge')
      .inspect()
      .then(
        (info: unknown) => bridgeOptionsSchema.safeParse(info).data?.Options?.['com.docker.network.driver.mtu'],
        () => undefined,
      );
    return this.mtu;
  }

  /**
   * Restarts (if stopped) and returns the sandboxes whose socket folder lies in this driver's stateDir;
   * one whose daemon does not come back is removed.
   */
  /** What stops sandboxes being made now (see SandboxDriver.readiness): engines, the sandbox image, the labs' images. */
  async readiness(labImages: readonly string[]): Promise<string[]> {
    const problems: string[] = [];
    const answers = (engine: Docker): Promise<boolean> => engine.ping().then(() => true, () => false);
    if (!(await answers(this.ctx.engine))) problems.push(`the sandbox engine at ${this.ctx.engineUrl ?? 'the default socket'} does not answer`);
    if (!(await answers(this.imageEngine))) return [...problems, 'the host Docker engine (where images are kept) does not answer'];
    const missing = async (image: string): Promise<boolean> => this.imageEngine.getImage(image).inspect().then(() => false, () => true);
    if (await missing(this.image)) problems.push(`the sandbox image ${this.image} is missing (labrun images builds it)`);
    let mappings: ImageMapping[];
    try {
      mappings = await (this.resolveImages ?? resolveImageNames)([...new Set(labImages)]);
    } catch (err) {
      return [...problems, `cannot tell which images the labs need: ${errorMessage(err)}`];
    }
    for (const m of mappings) if (await missing(m.hostImage)) problems.push(`the image ${m.hostImage} (for ${m.name}) is missing (labrun images builds it)`);
    return problems;
  }

  async adoptExisting(): Promise<Sandbox[]> {
    const { engine } = this.ctx;
    const found = await engine.listContainers({ all: true, filters: { label: [`${LABEL.sandbox}=1`] } });
    const adopted = await Promise.all(
      found.map(async (c): Promise<Sandbox | undefined> => {
        const identity = parseSandboxLabels(c.Labels);
        const id = sandboxIdFromName(c.Names[0] ?? '');
        if (!identity || id === undefined || identity.version !== SANDBOX_LABEL_VERSION) return undefined;
        // Another labrun (other stateDir) on the same engine owns it: its socket folder is not ours.
        if (c.Mounts.find((m) => m.Destination === '/run/labrun')?.Source !== runDir(this.ctx, id)) return undefined;
        const sandbox = new DindSandbox(this.ctx, id, identity);
        try {
          const info = await engine.getContainer(c.Id).inspect();
          // After a host restart the disk is no longer mounted; a sandbox whose disk is gone cannot come back.
          if (this.isolation === 'isolated') {
            const disk = diskPaths(this.ctx, id);
            if (!(await stat(disk.image).then(() => true, () => false))) throw new Error(`its disk ${disk.image} is gone`);
            await mountDisk(disk.image, disk.mountPoint, await this.remapIds());
          }
          // Docker refuses to start a container whose bind source is gone (stateDir cleaned, golden pruned).
          for (const bind of info.HostConfig.Binds ?? []) {
            const source = bind.split(':')[0] ?? '';
            if (source.startsWith('/')) await mkdir(source, { recursive: true });
          }
          if (!info.State.Running) await engine.getContainer(c.Id).start();
          try {
            await waitForDaemon(engine, c.Id, resourceName(id), join(runDir(this.ctx, id), 'docker.sock'), this.readyTimeoutMs);
          } catch (err) {
            // Found running while its daemon was dying (the container stops a moment later): start it once more.
            if (!info.State.Running || (await engine.getContainer(c.Id).inspect()).State.Running) throw err;
            await engine.getContainer(c.Id).start();
            await waitForDaemon(engine, c.Id, resourceName(id), join(runDir(this.ctx, id), 'docker.sock'), this.readyTimeoutMs);
          }
          return sandbox;
        } catch (err) {
          // A sandbox that cannot come back is dead weight; the learner's progress lives in the store.
          console.error(`labrun: removing sandbox ${resourceName(id)} that could not be restarted: ${errorMessage(err)}`);
          await sandbox.destroy().catch(() => {});
          return undefined;
        }
      }),
    );
    return adopted.filter((s): s is Sandbox => s !== undefined);
  }

  async reap(keep?: (labels: Record<string, string>) => boolean): Promise<number> {
    const { engine } = this.ctx;
    const filters = { label: [`${LABEL.sandbox}=1`] };
    const [containers, volumes, networks] = await Promise.all([
      engine.listContainers({ all: true, filters }),
      engine.listVolumes({ filters }),
      engine.listNetworks({ filters }),
    ]);
    const doomed = new Set<string>();
    const consider = (name: string, labels: Record<string, string> | null | undefined) => {
      const id = sandboxIdFromName(name);
      if (id !== undefined && !(keep?.(labels ?? {}) ?? false)) doomed.add(id);
    };
    for (const c of containers) consider(c.Names[0] ?? '', c.Labels);
    for (const v of volumes.Volumes ?? []) consider(v.Name, v.Labels);
    for (const n of networks) consider(n.Name, n.Labels);
    for (const id of await this.orphanDisks(new Set(containers.map((c) => sandboxIdFromName(c.Names[0] ?? ''))))) consider(resourceName(id), {});
    for (const id of doomed) await removeSandboxResources(this.ctx, id);
    await this.reapDeadHelpers();
    return doomed.size;
  }

  /** Ids of disks in this stateDir whose container is gone, past the age at which one may still be mid-create. */
  private async orphanDisks(containerIds: ReadonlySet<string | undefined>): Promise<string[]> {
    const dir = join(this.ctx.stateDir, 'disks');
    const entries = await readdir(dir).catch(() => []);
    const orphans: string[] = [];
    for (const entry of entries) {
      const id = /^([a-z0-9]+)\.img$/.exec(entry)?.[1];
      if (id === undefined || containerIds.has(id)) continue;
      const age = Date.now() - (await stat(join(dir, entry))).mtimeMs;
      if (age > ORPHAN_DISK_AGE_MS) orphans.push(id);
    }
    return orphans;
  }

  /** Privilege-probe and golden-builder containers left by a labrun that died while using them. */
  private async reapDeadHelpers(): Promise<void> {
    const { engine } = this.ctx;
    const cutoff = Date.now() / 1000 - HELPER_MAX_AGE_S;
    for (const label of [PROBE_LABEL, GOLDEN_BUILDER_LABEL]) {
      for (const c of await engine.listContainers({ all: true, filters: { label: [`${label}=1`] } })) {
        if (c.Created < cutoff) await ignoreMissing(() => engine.getContainer(c.Id).remove({ force: true }));
      }
    }
  }
}
