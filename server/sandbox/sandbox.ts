// The Sandbox contract: one learner's isolated machine, in which every terminal and every check runs.
// Drivers (dind today; Kubernetes later; an in-memory fake in test/support/fake-driver.ts) implement
// it. Keep it narrow and free of Docker and node-pty types: anything a driver cannot offer over a
// remote API does not belong here.
import type { Duplex } from 'node:stream';
import type { PtyLike } from '../terminal/pty.ts';

/** What a lab needs from a sandbox: who it is for, which images to preload, which files to copy in. */
export interface SandboxSpec {
  labId: string;
  learnerId: string;
  /**
   * Name of the workspace folder inside the sandbox (`/root/<workspace>`). Compose derives its project
   * name from it, so a lab that wants `linuxnetworks_default` as its network name uses `linuxnetworks`.
   */
  workspace: string;
  /** Host folder whose contents are copied into the workspace (a lab's `files/`), if any. */
  filesDir?: string;
  /** Images the lab's stacks use; they are preloaded into the inner daemon, never pulled per learner. */
  images: string[];
  /** Reach outside addresses (to pull or build); never the host, the server or other sandboxes. Default false. */
  egress?: boolean;
}

export interface SandboxLimits {
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
}

/** Progress while a sandbox is being made, so the UI can show steps and elapsed time, not a blank screen. */
export interface SandboxProgress {
  step: 'network' | 'volume' | 'disk' | 'container' | 'daemon' | 'images' | 'files' | 'ready';
  message: string;
  elapsedMs: number;
}

export interface ExecRequest {
  argv: string[];
  /** Compose service of the workspace's project to run in; omitted = the sandbox itself, in the workspace. */
  service?: string;
  timeoutMs?: number;
  /** Cap on each of stdout and stderr; beyond it output is dropped and `truncated` is set. */
  maxOutputBytes?: number;
  env?: Record<string, string>;
  /** Bytes the command reads on its standard input (then end of file); default none. */
  stdin?: Buffer;
}

export interface ExecResult {
  /** null when the command was killed by the timeout or the exit code could not be read. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
  durationMs: number;
}

export interface Sandbox {
  readonly id: string;
  readonly labId: string;
  readonly learnerId: string;
  readonly workspace: string;
  /** Absolute path of the workspace inside the sandbox, e.g. `/root/linuxnetworks`. */
  readonly workspacePath: string;
  readonly createdAt: Date;

  /** Runs argv in the sandbox or in one of its compose services, through the Engine API (never a CLI). */
  exec(req: ExecRequest): Promise<ExecResult>;
  /**
   * The inner engine's state, the ground truth checks compare against: every container's inspect
   * document and the network list, as the Engine API returns them (parsed by checks/facts.ts).
   */
  engineSnapshot(): Promise<EngineSnapshot>;
  /**
   * The inner engine's changes to containers and networks as they happen (its event stream, not a
   * poll), until `signal` aborts. Ends or throws when the sandbox or its engine goes away.
   */
  engineEvents(signal: AbortSignal): AsyncIterable<EngineEvent>;
  /** A login shell in the workspace, as a pty the caller owns and must end. */
  openTerminal(cols: number, rows: number): PtyLike;
  /**
   * A TCP connection to a port listening on the loopback address of the sandbox's own network (or of a
   * compose service's namespace, which may listen on ports the sandbox does not publish). Fails with a
   * SandboxError whose `code` is 'refused' when nothing listens there.
   */
  connectPort(port: number, opts?: { service?: string }): Promise<Duplex>;
  /** TCP ports listening in the sandbox's network and in each of its compose services' namespaces. */
  listeningPorts(): Promise<ListeningPort[]>;
  /** Copies a host folder's contents into a folder inside the sandbox. */
  copyIn(hostDir: string, destDir: string): Promise<void>;
  /** Whether the sandbox container is still running and its inner daemon answers. */
  isHealthy(): Promise<boolean>;
  /** Removes container, volume and network; idempotent. */
  destroy(): Promise<void>;
}

export interface SandboxDriver {
  create(spec: SandboxSpec, onProgress?: (p: SandboxProgress) => void): Promise<Sandbox>;
  /** Sandboxes found by label from an earlier run of the server: restarted and re-adopted where healthy. */
  adoptExisting(): Promise<Sandbox[]>;
  /** Optional: prepares ahead of the first learner what sandboxes with these image sets need. */
  prepare?(imageSets: readonly string[][], log?: (line: string) => void, signal?: AbortSignal): Promise<void>;
  /**
   * What stops sandboxes being made now, as sentences (empty = ready): the engine does not answer, an
   * image a sandbox or a lab needs is missing. Optional (the fake driver has nothing to check).
   */
  readiness?(labImages: readonly string[]): Promise<string[]>;
}

/** One listening TCP socket inside a sandbox. */
export interface ListeningPort {
  port: number;
  /** The address it is bound to, e.g. `0.0.0.0`, `127.0.0.1`, `::`. */
  address: string;
  /** The compose service whose namespace it is in; undefined = the sandbox's own network. */
  service?: string;
  /** The program that listens, where it could be found (e.g. `docker-proxy`, `nginx`). */
  process?: string;
}

/** Plain JSON from the inner engine: outside data, so typed unknown until facts.ts parses it. */
export interface EngineSnapshot {
  /** One container inspect document per container (running or not). */
  containers: unknown[];
  /** The network list. */
  networks: unknown;
}

/** One change the inner engine reported: `container`/`start`, `network`/`connect`, … (plain data). */
export interface EngineEvent {
  type: string;
  action: string;
  /** The container's or network's id. */
  id: string;
  /** Engine time, ms. */
  time: number;
}

/** A failure a person can act on: says what failed and what to do. */
export class SandboxError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    /** A machine-readable kind where callers act on it: 'refused' = nothing listens on that port. */
    readonly code?: 'refused',
  ) {
    super(message);
    this.name = 'SandboxError';
  }
}
