// Starting a Docker-in-Docker container and waiting for its inner daemon: the privilege probe, the
// security settings that work with and without --privileged, and a bounded readiness wait.
import Docker from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxError } from './sandbox.ts';
import { dockerStatus, errorMessage, ignoreMissing } from './docker-errors.ts';
import { demuxFrames } from './frame-demux.ts';
import { lastLines } from './output.ts';
import { sandboxSeccompProfile } from './seccomp.ts';

export type PrivilegeMode = 'privileged' | 'caps';

/** How often readiness is polled: the inner daemon answers 0.8–6.5 s after start, so 100 ms costs little. */
const READY_POLL_MS = 100;
/** One ping must not hang the readiness loop when the socket exists but the daemon is wedged. */
const PING_TIMEOUT_MS = 2_000;
/** Log lines quoted in an error: enough to show dockerd's last complaint, short enough to read. */
const ERROR_LOG_LINES = 15;

/** Marks the throwaway container of the privilege probe, so an abandoned one can be reaped. */
export const PROBE_LABEL = 'labrun.probe';

const probes = new WeakMap<Docker, Promise<PrivilegeMode>>();

/**
 * Whether this engine accepts --privileged, tried once per engine per process with a throwaway
 * container. Some VMs refuse it ("unable to apply caps": the bounding set lacks CAP_SYS_RESOURCE).
 */
export function probePrivilege(engine: Docker, image: string): Promise<PrivilegeMode> {
  let probe = probes.get(engine);
  if (!probe) {
    probe = runProbe(engine, image);
    probes.set(engine, probe);
  }
  return probe;
}

async function runProbe(engine: Docker, image: string): Promise<PrivilegeMode> {
  const container = await engine.createContainer({
    Image: image,
    Entrypoint: ['true'],
    Labels: { [PROBE_LABEL]: '1' },
    HostConfig: { Privileged: true, NetworkMode: 'none' },
  });
  try {
    await container.start();
    return 'privileged';
  } catch {
    return 'caps';
  } finally {
    await ignoreMissing(() => container.remove({ force: true }));
  }
}

/** HostConfig fields that let dockerd run inside: --privileged, or the explicit set that works without it. */
export function securityHostConfig(mode: PrivilegeMode): Docker.HostConfig {
  if (mode === 'privileged') return { Privileged: true };
  return {
    CapAdd: ['ALL'],
    CapDrop: ['SYS_RESOURCE'],
    SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
    // The API spelling of the CLI's `--security-opt systempaths=unconfined`: nothing masked or read-only in /proc.
    MaskedPaths: [],
    ReadonlyPaths: [],
  };
}

/** Room for dockerd's and containerd's sockets, pid files and netns handles; counted against the memory limit. */
const RUN_TMPFS = 'rw,nosuid,nodev,mode=755,size=64m';

/**
 * HostConfig fields of an isolated sandbox, on an engine that remaps user namespaces: every capability,
 * but inside the user namespace only; labrun's seccomp profile; a read-only root filesystem (what the
 * sandbox may write lives on its own disk, see disk.ts, or in small tmpfs); its own cgroup namespace,
 * so it neither sees nor names the host's cgroup tree; and no network at all.
 */
export function isolatedHostConfig(): Docker.HostConfig & { CgroupnsMode: 'private' } {
  return {
    CapAdd: ['ALL'],
    SecurityOpt: [`seccomp=${sandboxSeccompProfile()}`, 'apparmor=unconfined'],
    // Mounting a fresh /proc for inner containers is only allowed where no part of /proc is masked.
    MaskedPaths: [],
    ReadonlyPaths: [],
    ReadonlyRootfs: true,
    Tmpfs: { '/run': RUN_TMPFS },
    CgroupnsMode: 'private',
    NetworkMode: 'none',
    // sudo warns when the machine's own name does not resolve, and with no network Docker writes only localhost.
    ExtraHosts: ['sandbox:127.0.1.1'],
  };
}

/** The last lines of a container's log, or a note saying why they could not be read. */
export async function logTail(engine: Docker, containerId: string, lines = ERROR_LOG_LINES): Promise<string> {
  try {
    const raw: unknown = await engine.getContainer(containerId).logs({ stdout: true, stderr: true, tail: lines, follow: false });
    if (!Buffer.isBuffer(raw)) return '(no log output)';
    const { stdout, stderr } = demuxFrames(raw);
    return lastLines(`${stdout}\n${stderr}`, lines) || '(no log output)';
  } catch (err) {
    return `(could not read the log: ${errorMessage(err)})`;
  }
}

/**
 * Waits until the daemon behind `socketPath` answers, failing early if the container stops and at
 * `timeoutMs` at the latest; both failures quote the container's last log lines.
 */
export async function waitForDaemon(engine: Docker, containerId: string, name: string, socketPath: string, timeoutMs: number): Promise<void> {
  const pinger = new Docker({ socketPath, timeout: PING_TIMEOUT_MS });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await pinger.ping();
      return;
    } catch {
      // Not up yet: the socket appears only once dockerd listens.
    }
    let running = false;
    let exitCode: number | undefined;
    try {
      const info = await engine.getContainer(containerId).inspect();
      running = info.State.Running;
      exitCode = info.State.ExitCode;
    } catch (err) {
      if (dockerStatus(err) !== 404) throw err;
    }
    if (!running) {
      throw new SandboxError(
        `sandbox container ${name} stopped (exit code ${exitCode ?? 'unknown'}) before its Docker daemon answered. Last log lines:\n${await logTail(engine, containerId)}`,
        'Check that the image labrun/sandbox:trixie is built by `labrun images` and that this host allows the capabilities Docker-in-Docker needs (README: "Sandboxes" under How it fits together).',
      );
    }
    if (Date.now() >= deadline) {
      throw new SandboxError(
        `the Docker daemon in sandbox container ${name} did not answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}. Last log lines:\n${await logTail(engine, containerId)}`,
        'The host may be overloaded (too many sandboxes starting at once); retry, or raise the ready timeout.',
      );
    }
    await sleep(READY_POLL_MS);
  }
}
