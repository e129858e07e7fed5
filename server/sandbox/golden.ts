// The "golden" inner Docker state: a /var/lib/docker prepared once with a lab's images loaded, which
// each new sandbox copies before its daemon starts (the fastest way measured to preload images, see
// RUNTIME-FACTS). Trusted sandboxes copy a folder; isolated ones copy a whole disk image (disk.ts),
// built by a sandbox of the same kind so every file has the remapped owner. Keyed by the image IDs
// (and the disk size), so a rebuilt image gets a fresh golden state. Each image is loaded from its
// host image (`labrun/nginx:trixie`) and carries inside only the name labs use (`nginx:latest`).
import { createHash, randomBytes } from 'node:crypto';
import { chown, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import DockerClient from 'dockerode';
import { z } from 'zod';
import { SandboxError } from './sandbox.ts';
import { ImageError, splitTag, type ImageMapping } from '../images/recipe.ts';
import { resolveImageNames } from '../images/recipes.ts';
import { errorMessage, ignoreMissing } from './docker-errors.ts';
import { waitForDaemon } from './dind-container.ts';
import { createEmptyDisk, diskBinds, mountDisk, unmountDisk } from './disk.ts';
import type { RemapIds } from './engines.ts';

/** Loading a few hundred MB of layers on a busy disk: generous, but bounded. */
const GOLDEN_READY_TIMEOUT_MS = 60_000;
/** dockerd needs a moment to flush its state on SIGTERM; an unclean stop could leave a torn copy. */
const GOLDEN_STOP_SECONDS = 30;
/** A build folder this old belongs to a labrun that died mid-build (a build takes seconds). */
const STALE_BUILD_MS = 60 * 60 * 1000;

/** One image a golden state holds: the name inside, the host image it came from, and that image's ID. */
export interface GoldenImage {
  /** The name inside the sandbox, e.g. nginx:latest. */
  tag: string;
  /** The host image loaded under that name; the same as `tag` when omitted. */
  hostImage?: string;
  id: string;
}

/** Key of a golden state: which sandbox image runs the daemon, exactly which images it holds under which names, and the disk it is on. */
export function goldenKey(sandboxImageId: string, images: ReadonlyArray<GoldenImage>, diskBytes?: number): string {
  const lines = [`sandbox ${sandboxImageId}`, ...images.map((i) => `${i.tag} ${i.hostImage ?? i.tag} ${i.id}`).sort()];
  if (diskBytes !== undefined) lines.push(`disk ${diskBytes}`);
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 24);
}

async function imageId(engine: Docker, tag: string): Promise<string> {
  try {
    return (await engine.getImage(tag).inspect()).Id;
  } catch (err) {
    throw new SandboxError(`image ${tag} is not on this Docker host (${errorMessage(err)})`, 'Run `labrun images` to build the images the labs use.');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Marks the container that builds a golden state, so an abandoned one can be reaped. */
export const GOLDEN_BUILDER_LABEL = 'labrun.golden-builder';

const building = new Map<string, Promise<string>>();

/** How a golden state is built: by which kind of sandbox, and into a folder or onto a disk image. */
export interface GoldenBuild {
  /** Security settings of the builder container: the same as the sandboxes that will copy the state. */
  hostConfig: Docker.HostConfig;
  /** Build onto a disk image of this size owned by the remapped root (isolated sandboxes); else a folder. */
  disk?: { sizeBytes: number; owner: RemapIds };
}

/**
 * Returns the host path of the golden /var/lib/docker for these images — a folder, or with `build.disk`
 * a disk image file — building it first if needed (once per key, even with concurrent callers in this
 * process). The builder runs on `engine`; the images come from `imageEngine` (default the same).
 */
export async function ensureGolden(
  engine: Docker,
  opts: {
    goldenDir: string;
    sandboxImage: string;
    /** Image names as labs declare them, e.g. nginx:latest. */
    images: string[];
    /** Maps those names to host images; by default through the recipes in images/ (see server/images). */
    resolveImages?: (names: readonly string[]) => Promise<ImageMapping[]>;
    imageEngine?: Docker;
    build: GoldenBuild;
    log?: (line: string) => void;
    /** Cancels a build this call starts (one already running for another caller is left alone). */
    signal?: AbortSignal;
  },
): Promise<string> {
  const imageEngine = opts.imageEngine ?? engine;
  const sandboxImageId = await imageId(engine, opts.sandboxImage);
  const mappings = await resolve(opts.resolveImages ?? resolveImageNames, opts.images);
  const images = await Promise.all(mappings.map(async (m) => ({ tag: m.name, hostImage: m.hostImage, id: await imageId(imageEngine, m.hostImage) })));
  const base = join(opts.goldenDir, goldenKey(sandboxImageId, images, opts.build.disk?.sizeBytes));
  const result = opts.build.disk ? `${base}.img` : base;
  // The manifest is written last, so it marks a complete copy (a bare folder may be a placeholder
  // that adoption made so an old sandbox could restart).
  if (await exists(`${base}.json`)) return result;
  let job = building.get(base);
  if (!job) {
    const manifest: GoldenManifest = { sandboxImage: opts.sandboxImage, sandboxImageId, images };
    job = buildGolden({ engine, imageEngine, base, manifest, build: opts.build, log: opts.log, signal: opts.signal })
      .then(() => result)
      .finally(() => building.delete(base));
    building.set(base, job);
  }
  return job;
}

async function resolve(resolveImages: (names: readonly string[]) => Promise<ImageMapping[]>, names: string[]): Promise<ImageMapping[]> {
  try {
    return await resolveImages(names);
  } catch (err) {
    if (err instanceof ImageError) throw new SandboxError(`cannot tell which host images provide ${names.join(', ')}: ${err.message}`, err.hint);
    throw err;
  }
}

interface GoldenJob {
  engine: Docker;
  imageEngine: Docker;
  /** The golden state's path without extension: `<base>` (folder) or `<base>.img`, and `<base>.json`. */
  base: string;
  manifest: GoldenManifest;
  build: GoldenBuild;
  log?: ((line: string) => void) | undefined;
  /** Aborting removes the builder container; the build then fails and cleans up (unmount, remove). */
  signal?: AbortSignal | undefined;
}

async function buildGolden(job: GoldenJob): Promise<void> {
  const { engine, imageEngine, base, build, log } = job;
  const { sandboxImage, images } = job.manifest;
  const tags = images.map((i) => (i.hostImage && i.hostImage !== i.tag ? `${i.tag} (from ${i.hostImage})` : i.tag));
  const token = randomBytes(4).toString('hex');
  const work = `${base}.building-${token}`;
  const mnt = join(work, 'mnt');
  const diskImage = join(work, 'disk.img');
  // The socket folder lives in the system temp dir: a unix socket path must stay under 108 bytes,
  // and the golden folder may sit deep in a data directory.
  const run = await mkdtemp(join(tmpdir(), 'labrun-golden-'));
  await mkdir(work, { recursive: true });
  const name = `labrun-golden-${token}`;
  const container = engine.getContainer(name);
  // On abort the container goes at once (whatever waits on it fails), and each step checks the signal.
  const abort = () => void ignoreMissing(() => container.remove({ force: true })).catch(() => {});
  const goOn = () => {
    if (job.signal?.aborted) throw new SandboxError('preparing the images was cancelled', 'Start again to prepare them.');
  };
  job.signal?.addEventListener('abort', abort, { once: true });
  let state = join(work, 'docker');
  try {
    goOn();
    let binds: string[];
    if (build.disk) {
      await createEmptyDisk(diskImage, build.disk.sizeBytes, build.disk.owner);
      await mountDisk(diskImage, mnt, build.disk.owner);
      await chown(run, build.disk.owner.uid, build.disk.owner.gid);
      state = join(mnt, 'docker');
      binds = [...diskBinds(mnt), `${run}:/run/labrun`];
    } else {
      await mkdir(state);
      binds = [`${state}:/var/lib/docker`, `${run}:/run/labrun`];
    }
    goOn();
    await engine.createContainer({
      name,
      Image: sandboxImage,
      Labels: { [GOLDEN_BUILDER_LABEL]: '1' },
      HostConfig: { ...build.hostConfig, NetworkMode: 'none', Binds: binds },
    });
    goOn();
    await container.start();
    const socketPath = join(run, 'docker.sock');
    await waitForDaemon(engine, name, name, socketPath, GOLDEN_READY_TIMEOUT_MS);
    const inner = new DockerClient({ socketPath });
    for (const { tag, hostImage = tag } of images) {
      goOn();
      log?.(`preparing ${tag} for sandboxes (once per image version)`);
      const tar = await imageEngine.getImage(hostImage).get();
      const progress = await inner.loadImage(tar);
      await new Promise<void>((resolve, reject) => inner.modem.followProgress(progress, (err: unknown) => (err ? reject(err) : resolve())));
      if (hostImage !== tag) {
        // Learners see the name their compose files use, not our host namespace: tag, then drop ours
        // (removing one of two tags only untags).
        await inner.getImage(hostImage).tag(splitTag(tag));
        await inner.getImage(hostImage).remove();
      }
      await inner.getImage(tag).inspect();
    }
    goOn();
    await container.stop({ t: GOLDEN_STOP_SECONDS });
  } catch (err) {
    // The container first: a disk it still has mounted cannot be unmounted cleanly.
    await ignoreMissing(() => container.remove({ force: true })).catch(() => {});
    if (build.disk) await unmountDisk(mnt).catch(() => {});
    await rm(work, { recursive: true, force: true });
    if (job.signal?.aborted) throw new SandboxError('preparing the images was cancelled', 'Start again to prepare them.');
    throw err instanceof SandboxError ? err : new SandboxError(`could not prepare the images ${tags.join(', ')} for sandboxes: ${errorMessage(err)}`, 'Check that the images load with `docker save TAG | docker load` and retry.');
  } finally {
    job.signal?.removeEventListener('abort', abort);
    await ignoreMissing(() => container.remove({ force: true }));
    await rm(run, { recursive: true, force: true });
  }
  // Per-daemon identity and network state must not be shared by every sandbox seeded from this copy.
  await rm(join(state, 'engine-id'), { force: true });
  await rm(join(state, 'network'), { recursive: true, force: true });
  if (build.disk) await unmountDisk(mnt);
  if (!(await exists(`${base}.json`))) {
    // No complete copy: anything at the target is a placeholder or a torn leftover.
    const target = build.disk ? `${base}.img` : base;
    await rm(target, { recursive: true, force: true });
    await rename(build.disk ? diskImage : state, target);
    await writeFile(`${base}.json`, JSON.stringify(job.manifest, null, 2));
  }
  // Otherwise another labrun process finished the same key first: its copy is as good as ours.
  await rm(work, { recursive: true, force: true });
  await pruneStale(engine, imageEngine, dirname(base), log);
}

/** What a golden state holds, written beside it (`<key>.json`) so stale copies can be found later. */
const manifestSchema = z.object({
  sandboxImage: z.string(),
  sandboxImageId: z.string(),
  images: z.array(z.object({ tag: z.string(), hostImage: z.string().optional(), id: z.string() })),
});
type GoldenManifest = z.infer<typeof manifestSchema>;

/**
 * Removes golden states whose sandbox image or any of whose images has since been rebuilt (they can
 * never be used again), and leftovers of builds that died. Runs after a new golden state is built,
 * which is when images have changed.
 */
async function pruneStale(engine: Docker, imageEngine: Docker, goldenDir: string, log?: (line: string) => void): Promise<void> {
  const currentId = (e: Docker, tag: string) => e.getImage(tag).inspect().then((i) => i.Id, () => undefined);
  for (const entry of await readdir(goldenDir)) {
    const path = join(goldenDir, entry);
    if (entry.includes('.building-')) {
      const age = Date.now() - (await stat(path)).mtimeMs;
      if (age > STALE_BUILD_MS) {
        // A disk build that died may still be mounted: never delete through a mount.
        await unmountDisk(join(path, 'mnt'));
        await rm(path, { recursive: true, force: true });
      }
      continue;
    }
    if (!entry.endsWith('.json')) continue;
    const parsed = manifestSchema.safeParse(JSON.parse(await readFile(path, 'utf8').catch(() => 'null')));
    if (!parsed.success) continue;
    const current = await Promise.all([
      currentId(engine, parsed.data.sandboxImage),
      ...parsed.data.images.map((i) => currentId(imageEngine, i.hostImage ?? i.tag)),
    ]);
    const held = [parsed.data.sandboxImageId, ...parsed.data.images.map((i) => i.id)];
    if (held.every((id, n) => current[n] === id)) continue;
    const stale = path.slice(0, -'.json'.length);
    log?.(`removing golden state ${entry.slice(0, -'.json'.length)}: its images were rebuilt`);
    await rm(stale, { recursive: true, force: true });
    await rm(`${stale}.img`, { force: true });
    await rm(path, { force: true });
  }
}
