// Makes sure images exist on the host engine: keep what is present and current, else pull when the
// recipe allows it and a registry answers, else build from the recipe in `images/` (the Debian base
// with debootstrap + `docker import` first when missing). Labs name images as their compose files do
// (`nginx:latest`); the recipe providing that name builds it under its own tag (`labrun/nginx:trixie`),
// so a user's own image of the same name is never built over, retagged or deleted. Decisions come from ./recipe.ts; this
// module does the I/O (dockerode against the host engine, debootstrap and tar as child processes).
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { z } from 'zod';
import {
  BASE_IMAGE,
  BuildLog,
  ImageError,
  RECIPE_HASH_LABEL,
  RECIPE_NAME_LABEL,
  debianMirror,
  decide,
  splitTag,
  imageNameTable,
  mapImageName,
  type ImageMapping,
  type ImageState,
  type Recipe,
} from './recipe.ts';
import { DEFAULT_RECIPES_DIR, loadRecipes } from './recipes.ts';
import { displayPath, errorMessage } from '../common.ts';
import { dockerStatus } from '../sandbox/docker-errors.ts';

export { ImageError } from './recipe.ts';

/** The learner's machine (Docker-in-Docker); built locally from images/sandbox. */
export const SANDBOX_IMAGE = 'labrun/sandbox:trixie';

/** A pull that sends nothing for this long is given up: offline, fall back to building quickly. */
const PULL_STALL_MS = 10_000;
/** A build or import that reports nothing for this long is given up (the longest step here, apt, takes ~1 min). */
const BUILD_STALL_MS = 10 * 60_000;
/** Upper bound for debootstrap (about 30 s here; a slow mirror can take minutes). */
const DEBOOTSTRAP_TIMEOUT_MS = 20 * 60_000;
/** An engine that does not answer a ping this fast is treated as absent. */
const PING_TIMEOUT_MS = 5_000;
/** Progress shows a step's start, not its whole command: long RUN lines would bury the timing. */
const STEP_LINE_MAX = 110;
/** Used when apt's sources name no mirror for the base's suite. */
const FALLBACK_MIRROR = 'http://deb.debian.org/debian';

export interface EnsureImagesOptions {
  /** One line per step, with elapsed time: present/pull/build decisions and each build step. */
  onProgress?: (line: string) => void;
  /** Folder of recipe folders; the repository's `images/` by default. */
  recipesDir?: string;
  /** Host engine; `new Docker()` (DOCKER_HOST or /var/run/docker.sock) by default. */
  engine?: Docker;
}

// Concurrent callers in one process (a server starting sandboxes while `labrun images` runs in it)
// wait on the same work instead of building the same tag twice.
const inFlight = new Map<string, Promise<void>>();

/**
 * Ensures the host image behind each name exists on the host engine (in order, each once) and returns
 * the name → host image mapping; throws ImageError saying what failed and what to do.
 */
export async function ensureImages(names: string[], opts: EnsureImagesOptions = {}): Promise<ImageMapping[]> {
  const engine = opts.engine ?? new Docker();
  const recipesDir = path.resolve(opts.recipesDir ?? DEFAULT_RECIPES_DIR);
  await pingEngine(engine);
  const recipes = await loadRecipes(recipesDir);
  const table = imageNameTable(recipes.values());
  const mappings = [...new Map(names.map((n) => mapImageName(table, n)).map((m) => [m.name, m])).values()];
  const progress = opts.onProgress ?? (() => {});
  for (const m of mappings) if (m.hostImage !== m.name) progress(`${m.name}: provided by ${m.hostImage}`);
  const run = new Run(engine, recipes, progress);
  for (const tag of [...new Set(mappings.map((m) => m.hostImage))]) {
    const key = `${recipesDir}\0${tag}`;
    let job = inFlight.get(key);
    if (!job) {
      job = run.ensure(tag).finally(() => inFlight.delete(key));
      inFlight.set(key, job);
    }
    await job;
  }
  return mappings;
}

async function pingEngine(engine: Docker): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      engine.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS / 1000}s`)), PING_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    throw new ImageError(
      `no Docker engine answers (${process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'}): ${errorMessage(err)}`,
      'run scripts/ensure-docker.sh, or start Docker and check `docker info`',
    );
  } finally {
    clearTimeout(timer);
  }
}

const InspectSchema = z.object({
  Id: z.string(),
  Config: z.object({ Labels: z.record(z.string(), z.string()).nullish() }).nullish(),
});

/** One ensureImages call: the engine, the recipes, the progress sink, and the clock. */
class Run {
  private readonly started = Date.now();
  private baseRecipe: Promise<Recipe | undefined> | undefined;

  constructor(
    private readonly engine: Docker,
    private readonly recipes: Map<string, Recipe>,
    private readonly progress: (line: string) => void,
  ) {}

  private say(tag: string, text: string): void {
    this.progress(`${tag}: ${text} [${seconds(Date.now() - this.started)}]`);
  }

  async ensure(tag: string, recipe = this.recipes.get(tag)): Promise<void> {
    const state = await this.inspect(tag);
    const d = decide(state, recipe);
    this.say(tag, d.reason);
    switch (d.action) {
      case 'keep':
        return;
      case 'pull': {
        const failure = await this.pull(tag);
        if (failure === undefined) return;
        throw new ImageError(
          `${tag} is not on this engine, no recipe builds it, and pulling it failed: ${failure}`,
          'add a recipe folder for it under images/ (Dockerfile + recipe.yaml), or connect to a registry',
        );
      }
      case 'pull-then-build': {
        const failure = await this.pull(tag);
        if (failure === undefined) return;
        this.say(tag, `no registry copy (${failure}); building`);
        break;
      }
      case 'refuse':
        throw new ImageError(
          `${tag} is on this engine but was not built by labrun, which never replaces an image it did not build`,
          `if it is not yours to keep, remove it (docker rmi ${tag}) and run labrun again; otherwise give the recipe in ${displayPath(recipe?.dir ?? 'images/')} another tag`,
        );
      case 'build':
        break;
    }
    if (!recipe) throw new Error(`internal: decision ${d.action} for ${tag} without a recipe`);
    if (recipe.debootstrap) await this.buildRootfs(recipe);
    else await this.buildDockerfile(recipe);
    // Only an image our recipe built is ever removed (decide() refuses to build over anyone else's).
    if (state.id !== undefined && state.labelHash !== undefined) await this.removeReplaced(tag, state.id);
  }

  /**
   * The image a rebuild replaced is left untagged: remove it, unless a container (a running sandbox,
   * a learner's stack) or another tag still uses it — then the engine refuses and it stays.
   */
  private async removeReplaced(tag: string, oldId: string): Promise<void> {
    if ((await this.inspect(tag)).id === oldId) return;
    try {
      await this.engine.getImage(oldId).remove();
      this.say(tag, `removed the image it replaced (${oldId.replace(/^sha256:/, '').slice(0, 12)})`);
    } catch {
      // still in use: the engine keeps it, and so do we
    }
  }

  private async inspect(tag: string): Promise<ImageState & { id: string | undefined }> {
    try {
      const info = InspectSchema.parse(await this.engine.getImage(tag).inspect());
      return { present: true, labelHash: info.Config?.Labels?.[RECIPE_HASH_LABEL], id: info.Id };
    } catch (err) {
      if (dockerStatus(err) === 404) return { present: false, labelHash: undefined, id: undefined };
      throw new ImageError(`cannot inspect image ${tag}: ${errorMessage(err)}`, 'check that the Docker engine answers: docker info');
    }
  }

  /** Returns undefined when the pull worked, else why it failed. */
  private async pull(tag: string): Promise<string | undefined> {
    this.say(tag, 'pulling');
    try {
      const stream = await this.engine.pull(tag);
      let failure: string | undefined;
      await follow(stream, PULL_STALL_MS, (event) => {
        const e = z.object({ error: z.string().optional() }).safeParse(event);
        if (e.success && e.data.error !== undefined) failure = e.data.error;
      });
      if (failure !== undefined) return failure;
      this.say(tag, 'pulled');
      return undefined;
    } catch (err) {
      return errorMessage(err);
    }
  }

  /** The BASE build argument for `base: debian` recipes, or undefined to use the Dockerfile's default. */
  private async ensureBase(forTag: string): Promise<string | undefined> {
    this.baseRecipe ??= this.recipes.has(BASE_IMAGE)
      ? Promise.resolve(this.recipes.get(BASE_IMAGE))
      : loadRecipes(DEFAULT_RECIPES_DIR).then((r) => r.get(BASE_IMAGE));
    const recipe = await this.baseRecipe;
    const state = await this.inspect(BASE_IMAGE);
    if (!recipe) {
      if (state.present) return BASE_IMAGE;
      throw new ImageError(`${BASE_IMAGE} is missing and no recipe builds it`, 'restore images/debian-base/recipe.yaml');
    }
    if (decide(state, recipe).action !== 'keep') {
      const cannot = await debootstrapUnavailable();
      if (cannot !== undefined && state.present) {
        this.say(BASE_IMAGE, `recipe changed, but ${cannot}: using the image as it is`);
        return BASE_IMAGE;
      }
      if (cannot !== undefined) {
        this.say(forTag, `cannot build ${BASE_IMAGE} here (${cannot}); using the Dockerfile's default base, which needs a registry`);
        return undefined;
      }
    }
    await this.ensure(BASE_IMAGE, recipe);
    return BASE_IMAGE;
  }

  private async buildDockerfile(recipe: Recipe): Promise<void> {
    const tag = recipe.tag;
    const buildargs: Record<string, string> = {};
    if (recipe.base === 'debian') {
      const base = await this.ensureBase(tag);
      if (base) buildargs.BASE = base;
    }
    const where = displayPath(recipe.dir);
    this.say(tag, `building from ${where}${buildargs.BASE ? ` on ${buildargs.BASE}` : ''}`);
    const t0 = Date.now();
    const log = new BuildLog();
    try {
      const stream = await this.engine.buildImage(
        { context: recipe.dir, src: recipe.files },
        {
          t: tag,
          buildargs,
          labels: { [RECIPE_HASH_LABEL]: recipe.hash, [RECIPE_NAME_LABEL]: recipe.name },
          rm: true,
          forcerm: true,
        },
      );
      await follow(stream, BUILD_STALL_MS, (event) => {
        const step = log.push(event);
        if (step !== undefined) this.say(tag, step.length > STEP_LINE_MAX ? `${step.slice(0, STEP_LINE_MAX - 1)}…` : step);
      });
    } catch (err) {
      log.error ??= errorMessage(err);
    }
    if (log.error !== undefined) {
      const at = log.step ? ` at Step ${log.step.n}/${log.step.of} : ${log.step.instruction}` : '';
      const tail = log.tail();
      throw new ImageError(
        `building ${tag} from ${where} failed${at}\n  ${log.error}` +
          (tail.length ? `\n  last output:\n${tail.map((l) => `    ${l}`).join('\n')}` : ''),
        `fix ${where}/Dockerfile, or if apt-get failed, check that containers reach the Debian mirror (docker run --rm ${BASE_IMAGE} apt-get update)`,
      );
    }
    await this.expectBuilt(recipe);
    this.say(tag, `built in ${seconds(Date.now() - t0)}`);
  }

  /** The base image: debootstrap a root filesystem from the host's Debian mirror, then import it. */
  private async buildRootfs(recipe: Recipe): Promise<void> {
    const spec = recipe.debootstrap;
    if (!spec) throw new Error(`internal: ${recipe.tag} is not a debootstrap recipe`);
    const tag = recipe.tag;
    const cannot = await debootstrapUnavailable();
    if (cannot !== undefined) {
      throw new ImageError(
        `cannot build ${tag}: ${cannot}`,
        'run `labrun images` as root on Debian after scripts/ensure-docker.sh (it installs debootstrap)',
      );
    }
    const mirror = process.env.LABRUN_DEBIAN_MIRROR ?? debianMirror(await aptSources(), spec.suite) ?? FALLBACK_MIRROR;
    const t0 = Date.now();
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'labrun-rootfs-'));
    const rootfs = path.join(tmp, 'rootfs');
    try {
      this.say(tag, `debootstrap --variant=${spec.variant} ${spec.suite} from ${mirror}`);
      const verbs = new Set<string>();
      const boot = await runProcess(
        'debootstrap',
        [`--variant=${spec.variant}`, spec.suite, rootfs, mirror],
        DEBOOTSTRAP_TIMEOUT_MS,
        (line) => {
          // One line per phase (Retrieving, Extracting, Configuring, …), not one per package.
          const verb = /^I: (\S+)/.exec(line)?.[1];
          if (verb && !verbs.has(verb)) {
            verbs.add(verb);
            this.say(tag, line.slice(3));
          }
        },
      );
      if (boot.code !== 0) {
        const detail = await readFile(path.join(rootfs, 'debootstrap', 'debootstrap.log'), 'utf8').catch(() => '');
        const tail = [...boot.tail, ...detail.trim().split('\n').slice(-8)].map((l) => `    ${l}`).join('\n');
        throw new ImageError(
          `building ${tag}: debootstrap ${spec.suite} from ${mirror} failed (${boot.reason})\n  last output:\n${tail}`,
          'check that this machine reaches the Debian mirror (apt-get update), or set LABRUN_DEBIAN_MIRROR',
        );
      }
      // Package caches are dead weight in every image built on top.
      await rm(path.join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
      await rm(path.join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
      await mkdir(path.join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
      await mkdir(path.join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
      this.say(tag, 'importing the root filesystem');
      await this.importRootfs(recipe, rootfs);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    await this.expectBuilt(recipe);
    this.say(tag, `built in ${seconds(Date.now() - t0)}`);
  }

  private async importRootfs(recipe: Recipe, rootfs: string): Promise<void> {
    const { repo, tag } = splitTag(recipe.tag);
    const tar = spawn('tar', ['--numeric-owner', '-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tarErr = '';
    tar.stderr.on('data', (b: Buffer) => (tarErr = (tarErr + b.toString()).slice(-2000)));
    const tarExit = new Promise<number | null>((resolve) => tar.on('close', (code) => resolve(code)));
    let importError: string | undefined;
    try {
      const stream = await this.engine.importImage(tar.stdout, {
        repo,
        tag,
        changes: [
          'CMD ["bash"]',
          `LABEL ${RECIPE_HASH_LABEL}="${recipe.hash}" ${RECIPE_NAME_LABEL}="${recipe.name}"`,
        ],
      });
      await follow(stream, BUILD_STALL_MS, (event) => {
        const e = z.object({ error: z.string().optional() }).safeParse(event);
        if (e.success && e.data.error !== undefined) importError = e.data.error;
      });
    } catch (err) {
      importError = errorMessage(err);
      tar.kill();
    }
    const code = await tarExit;
    if (importError !== undefined || code !== 0) {
      throw new ImageError(
        `importing ${recipe.tag} failed: ${importError ?? `tar exited with ${code}: ${tarErr.trim()}`}`,
        'check free disk space (df -h /var/lib/docker) and the Docker engine log',
      );
    }
  }

  private async expectBuilt(recipe: Recipe): Promise<void> {
    const state = await this.inspect(recipe.tag);
    if (!state.present || state.labelHash !== recipe.hash) {
      throw new ImageError(
        `built ${recipe.tag}, but the engine does not report it with the recipe's hash label`,
        'check `docker image inspect` for the tag; another process may have retagged it meanwhile',
      );
    }
  }
}

/** Why debootstrap cannot run here, or undefined when it can. */
async function debootstrapUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'debootstrap needs root';
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    try {
      await access(path.join(dir, 'debootstrap'), fsConstants.X_OK);
      return undefined;
    } catch {
      // not in this folder
    }
  }
  return 'debootstrap is not installed';
}

async function aptSources(): Promise<string[]> {
  const texts: string[] = [];
  const read = (f: string) => readFile(f, 'utf8').then((t) => texts.push(t), () => {});
  await read('/etc/apt/sources.list');
  const names = await readdir('/etc/apt/sources.list.d').catch(() => [] as string[]);
  for (const n of names.sort()) {
    if (n.endsWith('.list') || n.endsWith('.sources')) await read(path.join('/etc/apt/sources.list.d', n));
  }
  return texts;
}

/**
 * Reads a Docker JSON-lines progress stream to its end, calling onEvent per decoded line.
 * Gives up (destroying the stream) when nothing arrives for `stallMs`.
 */
async function follow(stream: NodeJS.ReadableStream, stallMs: number, onEvent: (event: unknown) => void): Promise<void> {
  // dockerode types its streams as the old NodeJS.ReadableStream; they are net/http Readables.
  const readable = stream as Readable;
  let timer: NodeJS.Timeout | undefined;
  let stalled = false;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      readable.destroy();
    }, stallMs);
  };
  let buf = '';
  const emit = (line: string) => {
    if (!line.trim()) return;
    try {
      onEvent(JSON.parse(line));
    } catch {
      onEvent({ stream: `${line}\n` });
    }
  };
  arm();
  try {
    for await (const chunk of readable) {
      arm();
      buf += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        emit(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
    emit(buf);
  } catch (err) {
    if (!stalled) throw err;
  } finally {
    clearTimeout(timer);
  }
  if (stalled) throw new Error(`no progress for ${stallMs / 1000}s`);
}

interface ProcessResult {
  code: number | null;
  reason: string;
  tail: string[];
}

/** Runs a command, streaming its output lines; bounded by `timeoutMs` (then killed). */
function runProcess(cmd: string, args: string[], timeoutMs: number, onLine: (line: string) => void): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const lines = (b: Buffer) => {
      for (const line of b.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 8) tail.shift();
        onLine(line);
      }
    };
    child.stdout.on('data', lines);
    child.stderr.on('data', lines);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, reason: err.message, tail });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const reason = timedOut ? `timed out after ${timeoutMs / 1000}s` : signal ? `killed by ${signal}` : `exit ${code}`;
      resolve({ code: timedOut ? null : code, reason, tail });
    });
  });
}


function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

