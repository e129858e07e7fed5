// The two Docker engines labrun talks to, and how sandboxes are isolated on them:
// - the host engine builds images and runs `trusted` sandboxes (root in them is close to host root);
// - labrun's own sandbox engine (scripts/ensure-sandbox-engine.sh) remaps user namespaces and runs
//   `isolated` sandboxes, whose root is an unprivileged id on the host.
// Facts about an engine come back as plain data; images move from the host engine to the sandbox
// engine by ID, so a rebuilt image is copied once and an unchanged one never.
import Docker from 'dockerode';
import { z } from 'zod';
import { SandboxError } from './sandbox.ts';
import { errorMessage } from './docker-errors.ts';

export type Isolation = 'isolated' | 'trusted';

/** Where scripts/ensure-sandbox-engine.sh makes labrun's sandbox engine listen. */
export const DEFAULT_SANDBOX_ENGINE = 'unix:///run/labrun-engine.sock';

/** An engine that does not answer this fast is treated as absent (a local socket answers in ms). */
const PING_TIMEOUT_MS = 5_000;

/** Host ids that a remapped engine's root (uid and gid 0 inside) maps to. */
export interface RemapIds {
  uid: number;
  gid: number;
}

/** An engine URL as the Docker CLI takes it (DOCKER_HOST); only local unix sockets are supported. */
export function socketPathOf(url: string): string {
  const m = /^unix:\/\/(\/.+)$/.exec(url);
  if (!m?.[1]) throw new SandboxError(`sandbox engine '${url}' is not a unix socket URL`, 'Write it like unix:///run/labrun-engine.sock.');
  return m[1];
}

/** A client for the engine at `url` (unix:///path), or the host engine (DOCKER_HOST / default socket). */
export function engineAt(url?: string): Docker {
  return url === undefined ? new Docker() : new Docker({ socketPath: socketPathOf(url) });
}

const infoSchema = z.object({
  DockerRootDir: z.string(),
  SecurityOptions: z.array(z.string()).nullable().optional(),
});

/**
 * The host ids a remapping engine maps root to, read from what the engine reports: with
 * --userns-remap its root dir ends in `<uid>.<gid>` and its security options name userns.
 * Undefined for an engine that does not remap.
 */
export async function remapIdsOf(engine: Docker): Promise<RemapIds | undefined> {
  const info = infoSchema.parse(await engine.info());
  if (!(info.SecurityOptions ?? []).some((o) => /(^|,)name=userns(,|$)/.test(o))) return undefined;
  const m = /\/(\d+)\.(\d+)$/.exec(info.DockerRootDir);
  if (!m) return undefined;
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

/** Why the engine at `url` cannot run isolated sandboxes, or undefined when it can. */
export async function isolatedEngineProblem(url: string): Promise<string | undefined> {
  let engine: Docker;
  try {
    engine = new Docker({ socketPath: socketPathOf(url), timeout: PING_TIMEOUT_MS });
    await engine.ping();
  } catch (err) {
    return `labrun's sandbox engine does not answer at ${url} (${errorMessage(err)})`;
  }
  const ids = await remapIdsOf(engine).catch(() => undefined);
  if (!ids) return `the engine at ${url} does not remap user namespaces, so root in a sandbox would be root on this host`;
  return undefined;
}

/**
 * Makes `tag` on `target` the same image as on `source` (same ID), copying it with save/load when
 * it differs or is missing. Concurrent callers for one target and tag share one copy.
 */
export function copyImage(source: Docker, target: Docker, tag: string, log?: (line: string) => void): Promise<void> {
  let perTarget = copies.get(target);
  if (!perTarget) {
    perTarget = new Map();
    copies.set(target, perTarget);
  }
  let job = perTarget.get(tag);
  if (!job) {
    job = copyIfDifferent(source, target, tag, log).finally(() => perTarget.delete(tag));
    perTarget.set(tag, job);
  }
  return job;
}

const copies = new WeakMap<Docker, Map<string, Promise<void>>>();

async function copyIfDifferent(source: Docker, target: Docker, tag: string, log?: (line: string) => void): Promise<void> {
  const want = await source
    .getImage(tag)
    .inspect()
    .then((i) => i.Id)
    .catch((err: unknown) => {
      throw new SandboxError(`image ${tag} is not on the host engine (${errorMessage(err)})`, 'Run `labrun images` to build the images the labs use.');
    });
  const have = await target
    .getImage(tag)
    .inspect()
    .then((i) => i.Id, () => undefined);
  if (have === want) return;
  log?.(`copying ${tag} to the sandbox engine (once per image version)`);
  try {
    const tar = await source.getImage(tag).get();
    const progress = await target.loadImage(tar);
    await new Promise<void>((resolve, reject) => target.modem.followProgress(progress, (err: unknown) => (err ? reject(err) : resolve())));
  } catch (err) {
    throw new SandboxError(`could not copy image ${tag} to the sandbox engine: ${errorMessage(err)}`, 'Check that both engines run (scripts/ensure-docker.sh) and that the disk has room.');
  }
  // The copy replaced an older version under the same tag: drop it unless a sandbox still uses it.
  if (have !== undefined) await target.getImage(have).remove().catch(() => {});
}
