// Writes a LabDraft as a labrun lab folder: lab.yaml, steps/NN-*.md (YAML frontmatter + body),
// files/ (the workspace) and assets/ (images the lessons show). The output is plain labrun format, so
// `labrun validate` and `labrun test` read it like any hand-written lab.
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import type { LabDraft, DraftStep } from './draft.ts';

/** lab.yaml's content for a draft whose images were checked (`images`: the ones a sandbox can get). */
export function labYamlText(draft: LabDraft, images: string[]): string {
  const lab = {
    title: draft.title,
    summary: draft.summary,
    minutes: draft.minutes,
    workspace: draft.workspace,
    images,
    compose: [],
    steps: draft.steps.map((s) => s.fileName),
  };
  return `# Imported from ${path.basename(draft.source)} by labrun import.\n${stringify(lab, { lineWidth: 0 })}`;
}

/** A step file: frontmatter with only the fields that are set, then the markdown body. */
export function stepFileText(step: DraftStep): string {
  const fm: Record<string, unknown> = { title: step.title };
  if (step.setup !== undefined) fm.setup = step.setup;
  if (step.foreground !== undefined) fm.foreground = step.foreground;
  if (step.solve !== undefined) fm.solve = step.solve;
  if (step.hints.length) fm.hints = step.hints;
  if (step.questions.length) fm.questions = step.questions;
  if (step.checks.length) fm.checks = step.checks;
  return `---\n${stringify(fm, { lineWidth: 0, blockQuote: 'literal' })}---\n${step.body.replace(/^\n+/, '')}`;
}

/**
 * Writes the lab into `outDir`. `replace`: remove what is there first (a conversion cache); otherwise
 * an existing non-empty folder is refused, so an import never overwrites an author's edits.
 */
export async function writeDraft(draft: LabDraft, outDir: string, images: string[], opts: { replace?: boolean } = {}): Promise<void> {
  if (opts.replace) await rm(outDir, { recursive: true, force: true });
  else {
    const present = await readdir(outDir).catch(() => [] as string[]);
    if (present.length) throw new Error(`${outDir} already exists and is not empty: remove it or pick another --out`);
  }
  await mkdir(path.join(outDir, 'steps'), { recursive: true });
  await writeFile(path.join(outDir, 'lab.yaml'), labYamlText(draft, images));
  for (const step of draft.steps) await writeFile(path.join(outDir, 'steps', step.fileName), stepFileText(step));
  for (const [folder, list] of [['files', draft.files], ['assets', draft.assets]] as const) {
    for (const f of list) {
      const dest = path.join(outDir, folder, f.to);
      await mkdir(path.dirname(dest), { recursive: true });
      await copyFile(f.from, dest);
    }
  }
  // The workspace folder exists even when the scenario ships no files (the sandbox copies it in).
  await mkdir(path.join(outDir, 'files'), { recursive: true });
}
