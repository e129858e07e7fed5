// `labrun export --class ID [--format csv|json] [--data DIR] [--labs DIR] [--out FILE]`: a class's
// results (the same CSV or JSON as the board's download links) from the progress database, without a
// running server. The labs folder gives the steps' order and titles; without the lab, the steps the
// database has seen are listed under their ids.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { commandArgs } from '../cli-args.ts';
import { LabError, loadCatalog } from '../labs/catalog.ts';
import { Store } from '../store/store.ts';
import { ClassStore } from './class-store.ts';
import { formatResults, readClassResults, type ResultsFormat } from './results-export.ts';

const USAGE = `usage: labrun export --class ID [--format csv|json] [--data DIR] [--labs DIR] [--out FILE]

Prints a class's results: one row per learner and step with its state (done, current, not started),
when it was first done, the check runs it took and the time on it. The class id is in the board's
address (/instructor/classes/ID) and in GET /api/classes.
  --class ID       the class
  --format F       csv (default) or json
  --data DIR       the server's data folder (default ./data; env LABRUN_DATA)
  --labs DIR       the labs folder, for step titles and order (default ./labs; env LABRUN_LABS)
  --out FILE       write there instead of standard output`;

export async function exportCommand(argv: string[]): Promise<number> {
  const args = commandArgs('export', USAGE, argv, { class: { type: 'string' }, format: { type: 'string' }, data: { type: 'string' }, labs: { type: 'string' }, out: { type: 'string' } });
  if (typeof args === 'number') return args;
  const fail = (message: string, code = 2): number => {
    console.error(`labrun export: ${message}`);
    return code;
  };
  const classId = args.values.class;
  if (!classId) return fail(`--class is required\n\n${USAGE}`);
  const format = args.values.format ?? 'csv';
  if (format !== 'csv' && format !== 'json') return fail(`--format: must be csv or json, not '${format}'`);
  const dataDir = path.resolve(args.values.data ?? process.env.LABRUN_DATA ?? 'data');
  if (!existsSync(path.join(dataDir, 'labrun.db'))) return fail(`no progress database in ${dataDir} (labrun.db): give the --data folder labrun serve uses`, 1);

  const store = new Store(dataDir);
  try {
    const classes = new ClassStore(store.database);
    const cls = classes.byId(classId);
    if (!cls) {
      const known = classes.classes().slice(0, 10).map((c) => `${c.id} (${c.name})`);
      return fail(`no class '${classId}' in ${dataDir}${known.length ? `; classes there: ${known.join(', ')}` : '; it has no classes'}`, 1);
    }
    const labsDir = args.values.labs ?? process.env.LABRUN_LABS ?? 'labs';
    let lab;
    try {
      lab = (await loadCatalog(labsDir)).byId(cls.labId);
    } catch (err) {
      if (!(err instanceof LabError)) throw err;
    }
    if (!lab) console.error(`labrun export: lab '${cls.labId}' is not in ${path.resolve(labsDir)}; steps are listed by id, in the order learners reached them`);
    const text = formatResults(readClassResults(store, classes, cls, lab), format satisfies ResultsFormat);
    if (args.values.out) writeFileSync(args.values.out, text);
    else process.stdout.write(text);
    return 0;
  } finally {
    store.close();
  }
}
