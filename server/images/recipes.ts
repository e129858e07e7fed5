// Finds the image recipes on disk: every folder under the recipes folder (`images/`) that holds a
// `recipe.yaml`, parsed and hashed over all its files (so editing any file marks the image stale),
// and maps the image names labs use to the host images those recipes build.
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ImageError,
  hashRecipeFiles,
  imageNameTable,
  mapImageName,
  normalizeTag,
  parseRecipe,
  type ImageMapping,
  type Recipe,
  type RecipeFileEntry,
} from './recipe.ts';

/** The repository's `images/` folder. */
export const DEFAULT_RECIPES_DIR = fileURLToPath(new URL('../../images/', import.meta.url));

/**
 * Loads every recipe under `recipesDir`, keyed by normalized tag; throws ImageError on a broken one,
 * or when two recipes build the same tag or provide the same name.
 */
export async function loadRecipes(recipesDir: string): Promise<Map<string, Recipe>> {
  let entries;
  try {
    entries = await readdir(recipesDir, { withFileTypes: true });
  } catch (err) {
    throw new ImageError(
      `cannot read the image recipes folder ${recipesDir}: ${err instanceof Error ? err.message : String(err)}`,
      'run labrun from its checkout, which has an images/ folder',
    );
  }
  const byTag = new Map<string, Recipe>();
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(recipesDir, entry.name);
    const file = path.join(dir, 'recipe.yaml');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const parsed = parseRecipe(text, file);
    const tree = await readTree(dir);
    const recipe: Recipe = { ...parsed, name: entry.name, dir, files: tree.map((f) => f.path), hash: hashRecipeFiles(tree) };
    const tag = normalizeTag(recipe.tag);
    const other = byTag.get(tag);
    if (other) {
      throw new ImageError(
        `two recipes build ${tag}: ${other.dir} and ${dir}`,
        'give each recipe its own tag in recipe.yaml',
      );
    }
    byTag.set(tag, recipe);
  }
  imageNameTable(byTag.values());
  return byTag;
}

/**
 * The host image behind each of a lab's image names (`nginx:latest` → `labrun/nginx:trixie`), from
 * the recipes under `recipesDir` (the repository's `images/` by default), deduplicated in order.
 */
export async function resolveImageNames(names: readonly string[], recipesDir = DEFAULT_RECIPES_DIR): Promise<ImageMapping[]> {
  const table = imageNameTable((await loadRecipes(path.resolve(recipesDir))).values());
  const seen = new Set<string>();
  const out: ImageMapping[] = [];
  for (const name of names) {
    const m = mapImageName(table, name);
    if (seen.has(m.name)) continue;
    seen.add(m.name);
    out.push(m);
  }
  return out;
}

async function readTree(root: string): Promise<RecipeFileEntry[]> {
  const out: RecipeFileEntry[] = [];
  async function walk(rel: string): Promise<void> {
    for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(root, relPath);
      if (e.isDirectory()) {
        await walk(relPath);
      } else if (e.isFile()) {
        const [content, st] = await Promise.all([readFile(abs), stat(abs)]);
        out.push({ path: relPath, executable: (st.mode & 0o111) !== 0, content });
      }
    }
  }
  await walk('');
  return out;
}
