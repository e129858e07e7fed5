// Pure logic of image recipes, free of I/O so it is unit-tested without Docker: parsing `recipe.yaml`,
// the content hash that says whether a built image is stale, the decision keep / pull / build, reading
// the legacy builder's progress stream, and finding the Debian mirror in apt's sources.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { YamlSource, formatIssue } from '../labs/yaml-source.ts';

/** Image label carrying the content hash of the recipe folder an image was built from. */
export const RECIPE_HASH_LABEL = 'labrun.recipe-hash';
/** Image label naming the recipe folder, so `docker images --filter label=labrun.recipe` finds ours. */
export const RECIPE_NAME_LABEL = 'labrun.recipe';
/** The offline base: a debootstrap root filesystem, passed to `base: debian` recipes as BASE. */
export const BASE_IMAGE = 'labrun/debian:trixie';

// name[:tag], lowercase repository path as Docker accepts it; digests are not something we build.
const IMAGE_TAG = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;

export const ImageTagSchema = z.string().regex(IMAGE_TAG, 'expected an image tag such as nginx:latest');

export const RecipeFileSchema = z.strictObject({
  /** The image's name on the host engine; ours, so in the `labrun/` namespace, never a user's own tag. */
  tag: ImageTagSchema,
  /** Names the image carries inside sandboxes (what labs declare and compose files use), e.g. nginx:latest. */
  provides: z.array(ImageTagSchema).default([]),
  /** Whether a registry copy may stand in for building (false for images only we make). */
  pull: z.boolean().default(false),
  /** `debian`: the Dockerfile starts `ARG BASE=debian:trixie-slim` / `FROM ${BASE}`. */
  base: z.literal('debian').optional(),
  /** A root filesystem recipe (no Dockerfile): debootstrap, then `docker import`. */
  debootstrap: z
    .strictObject({
      suite: z.string().regex(/^[a-z]+$/, 'expected a Debian suite such as bookworm'),
      variant: z.enum(['minbase', 'buildd', 'fakechroot']).default('minbase'),
    })
    .optional(),
});

export type RecipeFile = z.infer<typeof RecipeFileSchema>;

/** A recipe found on disk: its folder, its parsed `recipe.yaml` and the content hash of the folder. */
export interface Recipe extends RecipeFile {
  /** Folder name, e.g. `nginx`. */
  name: string;
  /** Absolute path of the folder. */
  dir: string;
  /** Every file in the folder, relative, `/`-separated: the build context. */
  files: string[];
  hash: string;
}

/** A recipe or image problem a person can act on: what failed, and what to do. */
export class ImageError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

/** Parses `recipe.yaml`; throws ImageError listing every problem as `file:line:col: message`. */
export function parseRecipe(text: string, file: string): RecipeFile {
  const src = new YamlSource(file, text);
  const issues = [...src.syntaxIssues];
  let parsed: RecipeFile | undefined;
  if (issues.length === 0) {
    const r = RecipeFileSchema.safeParse(src.toJS());
    if (r.success) {
      parsed = r.data;
      if (parsed.debootstrap && parsed.base) {
        issues.push({ file, ...src.pos(['base']), message: 'base: a debootstrap recipe has no base image' });
      }
    } else {
      for (const i of r.error.issues) {
        const at = i.code === 'unrecognized_keys' ? src.pos(i.path, i.keys[0]) : src.pos(i.path);
        const field = [...i.path, ...(i.code === 'unrecognized_keys' ? i.keys : [])].join('.');
        issues.push({ file, ...at, message: field ? `${field}: ${i.message}` : i.message });
      }
    }
  }
  if (issues.length > 0 || !parsed) {
    throw new ImageError(issues.map(formatIssue).join('\n'), 'fix the recipe file; fields are tag, provides, pull, base, debootstrap');
  }
  return parsed;
}

export interface RecipeFileEntry {
  /** Path relative to the recipe folder, with `/` separators. */
  path: string;
  /** Whether any execute bit is set: COPY keeps modes, so a chmod changes the image. */
  executable: boolean;
  content: Uint8Array;
}

/** Content hash of a recipe folder: stable across file order, changes with any path, mode or byte. */
export function hashRecipeFiles(files: readonly RecipeFileEntry[]): string {
  const h = createHash('sha256');
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) {
    // Length-prefixed fields, so no two different folders can produce the same byte sequence.
    h.update(`${f.path.length}:${f.path}:${f.executable ? 'x' : '-'}:${f.content.byteLength}:`);
    h.update(f.content);
  }
  return `sha256:${h.digest('hex')}`;
}

export type Action = 'keep' | 'pull' | 'pull-then-build' | 'build' | 'refuse';

export interface Decision {
  action: Action;
  /** Why, in words, for the progress output. */
  reason: string;
}

export interface ImageState {
  present: boolean;
  /** The image's RECIPE_HASH_LABEL, when it has one (images we built). */
  labelHash: string | undefined;
}

/**
 * What to do for one tag. A present image is kept unless we built it from a recipe that has since
 * changed. A local-only tag that is present without our recipe hash is someone else's image: we
 * refuse rather than build over it (labrun never replaces or deletes an image it did not build).
 */
export function decide(state: ImageState, recipe: Pick<Recipe, 'pull' | 'hash'> | undefined): Decision {
  if (!recipe) {
    return state.present
      ? { action: 'keep', reason: 'present (no recipe)' }
      : { action: 'pull', reason: 'missing and no recipe builds it' };
  }
  if (state.present) {
    if (state.labelHash === recipe.hash) return { action: 'keep', reason: 'present, recipe unchanged' };
    if (state.labelHash !== undefined) return { action: 'build', reason: 'present but its recipe changed' };
    if (recipe.pull) return { action: 'keep', reason: 'present (registry copy)' };
    return { action: 'refuse', reason: 'present but not built by labrun' };
  }
  return recipe.pull
    ? { action: 'pull-then-build', reason: 'missing' }
    : { action: 'build', reason: 'missing (local-only recipe)' };
}

const BuildEventSchema = z.object({
  stream: z.string().optional(),
  status: z.string().optional(),
  error: z.string().optional(),
  errorDetail: z.object({ message: z.string().optional() }).optional(),
});

const STEP_LINE = /^Step (\d+)\/(\d+) : (.*)$/;
// The builder's own chatter between a step's output lines; not what the step printed.
const BUILDER_NOISE = /^( ---> |Removing intermediate container |Successfully (built|tagged) )/;
// Enough of a failing step's output to see the cause (apt's error is usually in the last few lines).
const KEPT_LINES = 15;

/** Follows the legacy builder's JSON stream: current step, the last lines of output, the error. */
export class BuildLog {
  step: { n: number; of: number; instruction: string } | undefined;
  error: string | undefined;
  private lines: string[] = [];
  private partial = '';

  /** Feeds one decoded stream event; returns the new step's line when this event starts a step. */
  push(event: unknown): string | undefined {
    const parsed = BuildEventSchema.safeParse(event);
    if (!parsed.success) return undefined;
    const e = parsed.data;
    if (e.error !== undefined || e.errorDetail?.message !== undefined) {
      this.error = e.errorDetail?.message ?? e.error;
      return undefined;
    }
    const text = e.stream ?? (e.status !== undefined ? `${e.status}\n` : '');
    let started: string | undefined;
    const chunks = (this.partial + text).split('\n');
    this.partial = chunks.pop() ?? '';
    for (const raw of chunks) {
      const line = raw.replace(/\r$/, '').trimEnd();
      if (line === '') continue;
      const m = STEP_LINE.exec(line);
      if (m) {
        this.step = { n: Number(m[1]), of: Number(m[2]), instruction: m[3] ?? '' };
        this.lines = [];
        started = line;
      } else if (!BUILDER_NOISE.test(line)) {
        this.lines.push(line);
        if (this.lines.length > KEPT_LINES) this.lines.shift();
      }
    }
    return started;
  }

  /** The current step's last output lines (the failing step's, after an error). */
  tail(): string[] {
    return this.partial.trim() ? [...this.lines, this.partial.trim()] : [...this.lines];
  }
}

/**
 * The Debian mirror apt uses for `suite`, from the texts of sources.list (one-line format) and
 * sources.list.d/*.sources (deb822): the first entry serving exactly that suite (so not `-security`).
 */
export function debianMirror(sourceTexts: readonly string[], suite: string): string | undefined {
  for (const text of sourceTexts) {
    for (const entry of [...oneLineEntries(text), ...deb822Entries(text)]) {
      if (entry.suites.includes(suite)) return entry.uri.replace(/\/+$/, '');
    }
  }
  return undefined;
}

interface SourceEntry {
  uri: string;
  suites: string[];
}

function oneLineEntries(text: string): SourceEntry[] {
  const out: SourceEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    // deb [options] uri suite [component...]
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m?.[1] && m[2]) out.push({ uri: m[1], suites: [m[2]] });
  }
  return out;
}

function deb822Entries(text: string): SourceEntry[] {
  const out: SourceEntry[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const raw of para.split('\n')) {
      if (raw.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m?.[1] && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
    }
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb') || fields.get('enabled') === 'no') continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) out.push({ uri, suites });
  }
  return out;
}

/** A name labs use for an image inside sandboxes, and the host image that is loaded under it. */
export interface ImageMapping {
  /** As labs and compose files write it, normalized: `nginx:latest`. */
  name: string;
  /** The image on the host engine: a recipe's tag (`labrun/nginx:trixie`), or `name` itself. */
  hostImage: string;
}

/**
 * Which host image each name stands for: every recipe's tag stands for itself, and each name in its
 * `provides` for that tag. Throws ImageError when two recipes claim the same name.
 */
export function imageNameTable(recipes: Iterable<Pick<Recipe, 'tag' | 'provides' | 'dir'>>): Map<string, string> {
  const table = new Map<string, string>();
  const claimedBy = new Map<string, string>();
  const claim = (name: string, hostImage: string, dir: string) => {
    const key = normalizeTag(name);
    const other = claimedBy.get(key);
    if (other !== undefined && other !== dir) {
      throw new ImageError(`two recipes provide ${key}: ${other} and ${dir}`, 'give each image name to one recipe only (tag and provides in recipe.yaml)');
    }
    claimedBy.set(key, dir);
    table.set(key, normalizeTag(hostImage));
  };
  const list = [...recipes];
  for (const r of list) claim(r.tag, r.tag, r.dir);
  for (const r of list) for (const name of r.provides) claim(name, r.tag, r.dir);
  return table;
}

/** Maps a lab's image name to the host image; a name no recipe provides is its own host image. */
export function mapImageName(table: ReadonlyMap<string, string>, name: string): ImageMapping {
  const key = normalizeTag(name);
  return { name: key, hostImage: table.get(key) ?? key };
}

/** Splits `repo[:tag]` at the tag's colon (not a registry port's); the tag defaults to `latest`. */
export function splitTag(image: string): { repo: string; tag: string } {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return { repo: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repo: image, tag: 'latest' };
}

/** `nginx` → `nginx:latest`, so the same image named two ways is handled once. */
export function normalizeTag(image: string): string {
  const { repo, tag } = splitTag(image);
  return `${repo}:${tag}`;
}
