// The workspace's HTTP answers (Ports list, file tree, editor), declared once for server and browser as
// shared/api.ts does for the rest of the API.
import * as z from 'zod';

/** Largest file the editor opens or saves: beyond it an editor in a browser tab is the wrong tool. */
export const MAX_EDITOR_FILE_BYTES = 1024 * 1024;

export const PortEntry = z.object({
  port: z.number(),
  address: z.string(),
  /** The compose service (or container) whose namespace it listens in; absent = the sandbox's own network. */
  service: z.string().optional(),
  process: z.string().optional(),
  /** The preview's entry path, relative to labrun's root (prefix it with the base path). */
  preview: z.string(),
});
export type PortEntry = z.infer<typeof PortEntry>;
export const PortList = z.object({ ports: z.array(PortEntry) });

export const FileEntry = z.object({
  /** Relative to the workspace, `/`-separated. */
  path: z.string(),
  kind: z.enum(['file', 'dir', 'link']),
  size: z.number(),
});
export type FileEntry = z.infer<typeof FileEntry>;
export const FileTree = z.object({ root: z.string(), entries: z.array(FileEntry), truncated: z.boolean() });
export type FileTree = z.infer<typeof FileTree>;

export const FileContent = z.object({
  path: z.string(),
  content: z.string(),
  /** What a save sends back as `base`: the SHA-256 of the bytes loaded. */
  version: z.string(),
  size: z.number(),
  /** Seconds since the epoch. */
  mtime: z.number(),
});
export type FileContent = z.infer<typeof FileContent>;

export const FileSaved = z.object({ path: z.string(), version: z.string(), size: z.number(), mtime: z.number() });
export type FileSaved = z.infer<typeof FileSaved>;

/** 409: the file changed (or went away) since it was loaded; saving with `base=currentVersion` overwrites. */
export const FileConflict = z.object({ error: z.string(), hint: z.string().optional(), currentVersion: z.string().nullable() });
