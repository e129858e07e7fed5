// The browser's side of the workspace API (Ports list, file tree, editor read and save), parsed with
// the shared schemas. Kept apart from client/api.ts so the workspace panels are one self-contained part.
import type { z } from 'zod';
import { ErrorBody } from '../../shared/api.ts';
import { FileConflict, FileContent, FileSaved, FileTree, PortList } from '../../shared/workspace-api.ts';
import { appPath } from '../paths.ts';

export class WorkspaceError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly hint?: string,
    /** For 409 on save: the version the file has now (null: it was removed). */
    readonly currentVersion?: string | null,
  ) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

async function parse<T>(schema: z.ZodType<T>, res: Response): Promise<T> {
  const raw: unknown = await res.json().catch(() => undefined);
  if (res.status === 409) {
    const c = FileConflict.safeParse(raw);
    if (c.success) throw new WorkspaceError(c.data.error, 409, c.data.hint, c.data.currentVersion);
  }
  if (!res.ok) {
    const e = ErrorBody.safeParse(raw);
    throw new WorkspaceError(e.success ? e.data.error : `the server answered ${res.status}`, res.status, e.success ? e.data.hint : undefined);
  }
  const ok = schema.safeParse(raw);
  if (!ok.success) throw new WorkspaceError(`unexpected answer: ${ok.error.issues[0]?.message ?? ''}`, 502);
  return ok.data;
}

const enc = encodeURIComponent;
const learnerQuery = (learner?: string): string => (learner ? `learner=${enc(learner)}` : '');

export const workspaceApi = {
  ports: async (labId: string, learner?: string) => parse(PortList, await fetch(appPath(`/api/labs/${enc(labId)}/ports?${learnerQuery(learner)}`), { credentials: 'same-origin' })),
  tree: async (labId: string) => parse(FileTree, await fetch(appPath(`/api/labs/${enc(labId)}/files`), { credentials: 'same-origin' })),
  read: async (labId: string, path: string) => parse(FileContent, await fetch(appPath(`/api/labs/${enc(labId)}/files/content?path=${enc(path)}`), { credentials: 'same-origin' })),
  save: async (labId: string, path: string, content: string, base: string) =>
    parse(
      FileSaved,
      await fetch(appPath(`/api/labs/${enc(labId)}/files/content?path=${enc(path)}&base=${enc(base)}`), {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: content,
        credentials: 'same-origin',
      }),
    ),
};

/** The browser address of a port's preview (the entry path the server gave, under the base path). */
export function previewHref(entryPath: string): string {
  return appPath(entryPath);
}
