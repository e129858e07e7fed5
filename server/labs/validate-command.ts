// `labrun validate [LAB_DIR...]`: loads labs (default: every lab in ./labs) and prints each problem as
// `file:line:col: message`, the format editors and CI logs link to. Exit 0 when all labs are sound, 1 otherwise.
import { commandArgs } from '../cli-args.ts';
import { LabError, expandLabDirs, findLabDirs, formatIssue, loadLab, type LabIssue } from './catalog.ts';

const USAGE = `usage: labrun validate [LAB_DIR...]

Checks lab folders (lab.yaml, steps/*.md, compose files) and prints every problem as file:line:col: message.
With no LAB_DIR, validates every lab under ./labs. Exit status 1 if any lab has a problem.`;

export async function validateCommand(argv: string[]): Promise<number> {
  const args = commandArgs('validate', USAGE, argv, {}, true);
  if (typeof args === 'number') return args;
  let dirs: string[];
  try {
    dirs = args.positionals.length ? await expandLabDirs(args.positionals) : await findLabDirs('labs');
  } catch (err) {
    if (err instanceof LabError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  if (!dirs.length) {
    console.error('labrun validate: no labs found (looked for labs/*/lab.yaml)');
    return 1;
  }
  const issues: LabIssue[] = [];
  let steps = 0;
  let checks = 0;
  for (const dir of dirs) {
    const r = await loadLab(dir);
    issues.push(...r.issues);
    if (r.lab) {
      steps += r.lab.steps.length;
      checks += r.lab.steps.reduce((n, s) => n + s.checks.length, 0);
    }
  }
  for (const i of issues) console.error(formatIssue(i));
  if (issues.length) {
    console.error(`\n${issues.length} problem${issues.length === 1 ? '' : 's'} in ${dirs.length} lab${dirs.length === 1 ? '' : 's'}`);
    return 1;
  }
  console.log(`ok: ${dirs.length} lab${dirs.length === 1 ? '' : 's'}, ${steps} steps, ${checks} checks`);
  return 0;
}
