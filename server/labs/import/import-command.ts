// `labrun import killercoda|instruqt <dir> [--out DIR]`: converts another platform's scenario, course
// or track into labrun lab folders, says what it left out and which images a sandbox would lack, then
// loads what it wrote as `labrun validate` would. Problems in the source print as file:line:col: message.
import path from 'node:path';
import { commandArgs } from '../../cli-args.ts';
import { displayPath } from '../../common.ts';
import { formatIssue, loadLab } from '../catalog.ts';
import { ImportError } from './draft.ts';
import { importDrafts } from './convert-at-load.ts';
import { imageAvailability } from './image-availability.ts';
import { writeDraft } from './write-draft.ts';

const USAGE = `usage: labrun import killercoda <SCENARIO_DIR|COURSE_DIR> [--out DIR]
       labrun import instruqt <TRACK_DIR> [--out DIR]

Writes labrun labs from a Killercoda (or Katacoda) scenario folder (index.json), a course folder
(structure.json: one lab per scenario) or an Instruqt track folder (track.yml). --out is the lab folder
to write (for a course, the folder to write its labs into); default labs/<id>. An existing non-empty
folder is never overwritten. See docs/importing.md for what is supported.`;

const FORMATS = ['killercoda', 'instruqt'] as const;

export async function importCommand(argv: string[]): Promise<number> {
  const args = commandArgs('import', USAGE, argv, { out: { type: 'string' } }, true);
  if (typeof args === 'number') return args;
  const [format, source, ...extra] = args.positionals;
  const known = FORMATS.find((f) => f === format);
  if (!known || source === undefined || extra.length) {
    console.error(`labrun import: ${!known ? `say which format: ${FORMATS.join(' or ')}` : source === undefined ? 'name the folder to import' : `unexpected argument '${extra[0]}'`}\n\n${USAGE}`);
    return 2;
  }
  let drafts;
  try {
    drafts = await importDrafts(known, path.resolve(source));
  } catch (err) {
    if (!(err instanceof ImportError)) throw err;
    for (const i of err.issues) console.error(formatIssue(i));
    console.error(`\nnot imported: ${err.issues.length} problem${err.issues.length === 1 ? '' : 's'}`);
    return 1;
  }
  const several = drafts.length > 1;
  let failed = false;
  for (const draft of drafts) {
    const out = path.resolve(args.values.out ? (several ? path.join(args.values.out, draft.id) : args.values.out) : path.join('labs', draft.id));
    const images = await imageAvailability(draft.images, { pull: true }).catch((err: unknown) => ({
      available: [] as string[],
      missing: draft.images.map((name) => ({ name, why: String(err) })),
    }));
    try {
      await writeDraft(draft, out, images.available);
    } catch (err) {
      console.error(`labrun import: ${err instanceof Error ? err.message : String(err)}`);
      failed = true;
      continue;
    }
    const r = await loadLab(out);
    const where = displayPath(out);
    for (const note of draft.notes) console.log(`  note: ${note}`);
    for (const m of images.missing) console.log(`  missing image: ${m.name} (${m.why}); build or load it on the host, then add it to ${where}/lab.yaml images`);
    if (!r.lab) {
      for (const i of r.issues) console.error(formatIssue(i));
      failed = true;
      continue;
    }
    const checks = r.lab.steps.reduce((n, s) => n + s.checks.length, 0);
    console.log(`wrote ${where}: ${r.lab.steps.length} steps, ${checks} checks${images.available.length ? `, images ${images.available.join(', ')}` : ''}`);
  }
  return failed ? 1 : 0;
}
