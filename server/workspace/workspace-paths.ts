// The pure rules of the editor's file access: which relative paths are acceptable at all (before the
// sandbox resolves them), what counts as a binary file, and a file's version. No I/O.
import { createHash } from 'node:crypto';

/** Longer paths are a mistake or an attack; the workspace's files are a lab's, not a deep tree. */
const MAX_PATH_LENGTH = 1024;
/** Git and node_modules are big and not the lesson's. */
export const PRUNED_FOLDERS = ['.git', 'node_modules'];
/** How much of a file is looked at to tell text from binary, as Git does. */
const BINARY_SNIFF_BYTES = 8000;

/**
 * The path as given, if acceptable: relative, `/`-separated, no `..`, no empty or `.` parts, no NUL.
 * Otherwise a sentence saying what is wrong. Symlinks are judged inside the sandbox (realpath).
 */
export function checkRelativePath(path: string): { ok: string } | { error: string } {
  if (path === '') return { error: 'path is empty' };
  if (path.length > MAX_PATH_LENGTH) return { error: `path is longer than ${MAX_PATH_LENGTH} characters` };
  if (path.includes('\0')) return { error: 'path contains a NUL character' };
  if (path.startsWith('/')) return { error: `path ${path} is absolute: give it relative to the workspace` };
  const parts = path.split('/');
  if (parts.includes('..')) return { error: `path ${path} climbs out of the workspace with '..'` };
  if (parts.some((p) => p === '' || p === '.')) return { error: `path ${path} has an empty or '.' part` };
  return { ok: path };
}

/** A file that is not valid UTF-8, or has a NUL byte near its start, is binary: the editor does not open it. */
export function looksBinary(bytes: Buffer): boolean {
  if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

/** A file's version: the SHA-256 of its bytes (what `sha256sum` prints inside the sandbox). */
export function versionOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface TreeEntry {
  path: string;
  kind: 'file' | 'dir' | 'link';
  size: number;
}

/** Parses `find -printf '%y\t%s\t%P\0'` output (untrusted: the learner names the files). */
export function parseTree(stdout: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  for (const record of stdout.split('\0')) {
    const m = /^([fdl])\t(\d+)\t(.+)$/s.exec(record);
    if (!m?.[1] || !m[2] || !m[3] || m[3].includes('\n')) continue;
    out.push({ kind: m[1] === 'f' ? 'file' : m[1] === 'd' ? 'dir' : 'link', size: Number(m[2]), path: m[3] });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
