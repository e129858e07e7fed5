// Other platforms' folders as labrun labs, for `labrun serve --labs`, `validate` and `test`: which
// format a folder is in, the lab folders behind it (a Killercoda course lists several scenarios), and
// a conversion into a cache folder that the ordinary loader then reads. Import problems keep their
// positions in the source files.
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { displayPath, exists } from '../../common.ts';
import type { LabIssue } from '../yaml-source.ts';
import { ImportError, slugify, type LabDraft } from './draft.ts';
import { imageAvailability } from './image-availability.ts';
import { importInstruqt } from './instruqt.ts';
import { courseScenarios, importKillercoda } from './killercoda.ts';
import { readTextOrUndefined } from './source-files.ts';
import { writeDraft } from './write-draft.ts';

export type SourceFormat = 'labrun' | 'killercoda-scenario' | 'killercoda-course' | 'instruqt';

export async function formatOf(dir: string): Promise<SourceFormat | undefined> {
  if (await exists(path.join(dir, 'lab.yaml'))) return 'labrun';
  if (await exists(path.join(dir, 'index.json'))) return 'killercoda-scenario';
  if (await exists(path.join(dir, 'structure.json'))) return 'killercoda-course';
  if (await exists(path.join(dir, 'track.yml'))) return 'instruqt';
  return undefined;
}

/** The lab folders a folder stands for: itself, or a course's scenarios; [] when it is none of these. */
export async function labDirsOf(dir: string): Promise<string[]> {
  const format = await formatOf(dir);
  if (format === undefined) return [];
  if (format !== 'killercoda-course') return [dir];
  const text = (await readTextOrUndefined(path.join(dir, 'structure.json'))) ?? '';
  try {
    return await courseScenarios(dir, text);
  } catch (err) {
    // A broken structure.json is reported when the course folder itself is loaded.
    if (err instanceof ImportError) return [dir];
    throw err;
  }
}

export async function importDrafts(format: 'killercoda' | 'instruqt', dir: string): Promise<LabDraft[]> {
  return format === 'killercoda' ? importKillercoda(dir) : [await importInstruqt(dir)];
}

/** Where a converted copy of `dir` lives: one folder per source folder, named by the lab's id. */
function cacheDir(dir: string, id: string): string {
  const key = createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), 'labrun-imported', key, id);
}

/**
 * Converts a Killercoda scenario or Instruqt track folder into a labrun lab in the cache and returns
 * that folder, or the import's problems (positioned in the source files).
 */
export async function convertForLoad(dir: string): Promise<{ labDir?: string; issues: LabIssue[] }> {
  const format = await formatOf(dir);
  if (format === 'killercoda-course') {
    return { issues: [{ file: displayPath(path.join(dir, 'structure.json')), line: 1, col: 1, message: 'a course: load its scenario folders (labrun does this for --labs)' }] };
  }
  let drafts: LabDraft[];
  try {
    drafts = await importDrafts(format === 'instruqt' ? 'instruqt' : 'killercoda', dir);
  } catch (err) {
    if (err instanceof ImportError) return { issues: err.issues };
    throw err;
  }
  const draft = drafts[0];
  if (!draft) return { issues: [{ file: dir, line: 1, col: 1, message: 'nothing to import' }] };
  const images = await imageAvailability(draft.images).catch(() => ({ available: [] as string[], missing: [] }));
  // Like any lab folder, the source folder's name is the lab's id (a track's slug may differ from it).
  const out = cacheDir(dir, slugify(path.basename(dir), draft.id));
  await writeDraft(draft, out, images.available, { replace: true });
  return { labDir: out, issues: [] };
}
