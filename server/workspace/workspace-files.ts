// The editor's file access, done *inside* the sandbox through its exec (never through the host-side
// path of its disk): the sandbox's root resolves every path with realpath in the sandbox's own
// filesystem, so a symlink the learner planted can lead only to the sandbox's files, and anything that
// resolves outside the workspace is refused. Host root never follows a learner's symlink.
import type { ExecResult, Sandbox } from '../sandbox/sandbox.ts';
import { MAX_EDITOR_FILE_BYTES } from '../../shared/workspace-api.ts';
import { PRUNED_FOLDERS, checkRelativePath, looksBinary, parseTree, versionOf, type TreeEntry } from './workspace-paths.ts';

/** The tree shows this many entries at most: a workspace with more is not a lesson's. */
const MAX_TREE_ENTRIES = 2000;
const MAX_TREE_DEPTH = 8;
const FILE_EXEC_TIMEOUT_MS = 15_000;

/** What can go wrong, each with the HTTP status the routes answer with. */
export class WorkspaceFileError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 403 | 404 | 409 | 413 | 415 | 503,
    readonly hint?: string,
    /** For 409: the version the file has now (null: it is gone). */
    readonly currentVersion?: string | null,
  ) {
    super(message);
    this.name = 'WorkspaceFileError';
  }
}

// Exit codes of the scripts below, one per refusal.
const EXIT = { noWorkspace: 10, notFound: 11, outside: 12, notFile: 13, tooLarge: 14, noFolder: 15, conflict: 16, writeFailed: 17 } as const;

/** Resolves "$ws/$rel" inside the sandbox and refuses what lands outside the workspace. Sets $target. */
const RESOLVE = `
ws=$1; rel=$2
real_ws=$(realpath -e -- "$ws" 2>/dev/null) || exit ${EXIT.noWorkspace}
target=$(realpath -m -- "$ws/$rel") || exit ${EXIT.notFound}
case "$target" in "$real_ws"/*) ;; *) exit ${EXIT.outside};; esac
`;

const READ_SCRIPT = `${RESOLVE}
max=$3
[ -e "$target" ] || exit ${EXIT.notFound}
[ -f "$target" ] || exit ${EXIT.notFile}
size=$(stat -c %s -- "$target") || exit ${EXIT.notFound}
printf '%s %s\\n' "$size" "$(stat -c %Y -- "$target")"
[ "$size" -le "$max" ] || exit ${EXIT.tooLarge}
head -c "$((max + 1))" -- "$target" | base64 -w0
`;

// Written in place (not renamed over): a file bind-mounted into a container keeps its inode, so the
// container sees the edit. The version check and the write are one exec, a few milliseconds apart.
const WRITE_SCRIPT = `${RESOLVE}
base=$3
[ -d "$(dirname -- "$target")" ] || exit ${EXIT.noFolder}
if [ -e "$target" ]; then
  [ -f "$target" ] || exit ${EXIT.notFile}
  cur=$(sha256sum -- "$target" | cut -d' ' -f1)
  [ "$base" = "$cur" ] || { printf '%s' "$cur"; exit ${EXIT.conflict}; }
else
  [ -z "$base" ] || exit ${EXIT.conflict}
fi
cat > "$target" || exit ${EXIT.writeFailed}
printf '%s %s %s' "$(sha256sum -- "$target" | cut -d' ' -f1)" "$(stat -c %s -- "$target")" "$(stat -c %Y -- "$target")"
`;

const TREE_SCRIPT = `
cd -- "$1" 2>/dev/null || exit ${EXIT.noWorkspace}
find . -xdev -mindepth 1 -maxdepth ${MAX_TREE_DEPTH} \\( ${PRUNED_FOLDERS.map((f) => `-name ${f}`).join(' -o ')} \\) -prune -o \\( -type f -o -type d -o -type l \\) -printf '%y\\t%s\\t%P\\0' | head -z -n ${MAX_TREE_ENTRIES + 1}
`;

function runScript(sandbox: Sandbox, script: string, args: string[], opts: { stdin?: Buffer; maxOutputBytes?: number } = {}): Promise<ExecResult> {
  return sandbox.exec({
    argv: ['bash', '-c', script, 'labrun-files', sandbox.workspacePath, ...args],
    timeoutMs: FILE_EXEC_TIMEOUT_MS,
    ...(opts.stdin !== undefined && { stdin: opts.stdin }),
    ...(opts.maxOutputBytes !== undefined && { maxOutputBytes: opts.maxOutputBytes }),
  });
}

function relativeOrThrow(path: string): string {
  const checked = checkRelativePath(path);
  if ('error' in checked) throw new WorkspaceFileError(checked.error, 400, 'Give a path inside the workspace, like netsvc.conf or conf/site.conf.');
  return checked.ok;
}

/** The refusal an exit code of the scripts stands for. */
function refusal(code: number | null, path: string, stderr: string): WorkspaceFileError {
  switch (code) {
    case EXIT.noWorkspace:
      return new WorkspaceFileError('the workspace folder is missing in your sandbox', 404, 'Restart the lab session to get a fresh sandbox.');
    case EXIT.notFound:
      return new WorkspaceFileError(`${path} does not exist in the workspace`, 404);
    case EXIT.outside:
      return new WorkspaceFileError(`${path} leads outside the workspace (through a symlink): the editor opens only files inside it`, 403);
    case EXIT.notFile:
      return new WorkspaceFileError(`${path} is not a regular file`, 400);
    case EXIT.tooLarge:
      return new WorkspaceFileError(`${path} is larger than ${MAX_EDITOR_FILE_BYTES / 1024 / 1024} MiB: too large for the editor`, 413, 'Look at it in the terminal (less, head, tail).');
    case EXIT.noFolder:
      return new WorkspaceFileError(`the folder of ${path} does not exist`, 404, 'Create the folder in the terminal first (mkdir -p).');
    default:
      return new WorkspaceFileError(`could not access ${path} in your sandbox (exit ${code ?? 'none'}): ${stderr.trim().slice(0, 300)}`, 503);
  }
}

export async function listWorkspace(sandbox: Sandbox): Promise<{ entries: TreeEntry[]; truncated: boolean }> {
  const r = await runScript(sandbox, TREE_SCRIPT, [], { maxOutputBytes: 4 * 1024 * 1024 });
  if (r.exitCode !== 0) throw refusal(r.exitCode, '.', r.stderr);
  const entries = parseTree(r.stdout);
  return { entries: entries.slice(0, MAX_TREE_ENTRIES), truncated: entries.length > MAX_TREE_ENTRIES || r.truncated };
}

export interface LoadedFile {
  path: string;
  content: string;
  version: string;
  size: number;
  mtime: number;
}

export async function readWorkspaceFile(sandbox: Sandbox, path: string): Promise<LoadedFile> {
  const rel = relativeOrThrow(path);
  // base64 is 4/3 of the bytes; the first line (size, mtime) is short.
  const r = await runScript(sandbox, READ_SCRIPT, [rel, String(MAX_EDITOR_FILE_BYTES)], { maxOutputBytes: Math.ceil((MAX_EDITOR_FILE_BYTES + 1) / 3) * 4 + 256 });
  if (r.exitCode !== 0) throw refusal(r.exitCode, rel, r.stderr);
  const newline = r.stdout.indexOf('\n');
  const [size, mtime] = r.stdout.slice(0, newline).split(' ').map(Number);
  const bytes = Buffer.from(r.stdout.slice(newline + 1), 'base64');
  if (bytes.length > MAX_EDITOR_FILE_BYTES || r.truncated) throw refusal(EXIT.tooLarge, rel, '');
  if (looksBinary(bytes)) throw new WorkspaceFileError(`${rel} is a binary file: the editor opens text files only`, 415, 'Look at it in the terminal (for example with xxd or od).');
  return { path: rel, content: bytes.toString('utf8'), version: versionOf(bytes), size: size ?? bytes.length, mtime: mtime ?? 0 };
}

/**
 * Saves `content` if the file still has version `base` (empty: it must not exist yet); otherwise a
 * 409 carrying the version it has now, so the editor can offer to reload or overwrite.
 */
export async function writeWorkspaceFile(sandbox: Sandbox, path: string, content: Buffer, base: string): Promise<{ path: string; version: string; size: number; mtime: number }> {
  const rel = relativeOrThrow(path);
  if (content.length > MAX_EDITOR_FILE_BYTES) throw refusal(EXIT.tooLarge, rel, '');
  if (base !== '' && !/^[0-9a-f]{64}$/.test(base)) throw new WorkspaceFileError('base: not a file version (a SHA-256 in hex)', 400);
  const r = await runScript(sandbox, WRITE_SCRIPT, [rel, base], { stdin: content, maxOutputBytes: 4096 });
  if (r.exitCode === EXIT.conflict) {
    const current = /^[0-9a-f]{64}$/.test(r.stdout.trim()) ? r.stdout.trim() : null;
    throw new WorkspaceFileError(
      current === null ? `${rel} was removed since you opened it` : `${rel} changed in your sandbox since you opened it`,
      409,
      'Reload it to see the change, or overwrite it with your version.',
      current,
    );
  }
  if (r.exitCode !== 0) throw refusal(r.exitCode, rel, r.stderr);
  const [version = '', size, mtime] = r.stdout.trim().split(' ');
  return { path: rel, version, size: Number(size), mtime: Number(mtime) };
}
