// Reading a source folder for an importer: text files that may be missing, every file under a folder
// (for asset globs), and a source file's path as messages show it.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { displayPath } from '../../common.ts';

export async function readTextOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every regular file under `root`, as `/`-separated paths relative to it, sorted. */
export async function listFilesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
    }
  }
  await walk('');
  return out.sort();
}

/** `rel` resolved inside `root`, or undefined when it would leave it (`../../etc/passwd`). */
export function inside(root: string, rel: string): string | undefined {
  const abs = path.resolve(root, rel);
  const back = path.relative(root, abs);
  return back && !back.startsWith('..') && !path.isAbsolute(back) ? abs : undefined;
}

export { displayPath };
