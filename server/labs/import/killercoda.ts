// Killercoda scenarios (and Katacoda's before them) → LabDrafts. A scenario folder holds index.json
// (title, description, details.intro/steps/finish, details.assets, backend.imageid; Katacoda's
// courseData/code/answer/environment too) and the markdown and scripts it names; a course folder holds
// structure.json listing scenario folders. What maps where is in docs/importing.md.
import path from 'node:path';
import picomatch from 'picomatch';
import { z } from 'zod';
import type { CheckSpec } from '../schema.ts';
import type { LabIssue } from '../yaml-source.ts';
import { ImportError, asShellScript, imagesNamedIn, slugify, stepFileName, workspaceFor, type DraftFile, type DraftStep, type LabDraft } from './draft.ts';
import { JsonSource } from './json-source.ts';
import { assetPath, convertKillercodaMarkdown } from './killercoda-markdown.ts';
import { displayPath, inside, listFilesUnder, readTextOrUndefined } from './source-files.ts';

/** Seconds a verify script may take: Killercoda gives it no limit; a check needs one. */
const VERIFY_TIMEOUT_S = 60;
/** Minutes when the scenario does not say (Katacoda's `time`). */
const DEFAULT_MINUTES = 15;

const file = z.string().min(1);
const PageSchema = z.looseObject({
  title: z.string().optional(),
  text: file.optional(),
  background: file.optional(),
  foreground: file.optional(),
  verify: file.optional(),
  /** Katacoda: the step's answer, a markdown file shown on request. */
  answer: file.optional(),
  /** Katacoda: background script. */
  courseData: file.optional(),
  /** Katacoda: foreground script. */
  code: file.optional(),
});
type Page = z.infer<typeof PageSchema>;

const AssetSchema = z.strictObject({ file, target: z.string().min(1), chmod: z.string().regex(/^([ugoa]*[+-=][rwxX]+|[0-7]{3,4})$/, 'chmod is a mode like +x or 0755').optional() });

const IndexSchema = z.looseObject({
  title: z.string().min(1),
  description: z.string().optional(),
  time: z.union([z.string(), z.number()]).optional(),
  details: z.looseObject({
    intro: PageSchema.optional(),
    steps: z.array(PageSchema).default([]),
    finish: PageSchema.optional(),
    assets: z.record(z.string(), z.array(AssetSchema)).optional(),
  }),
  backend: z.looseObject({ imageid: z.string().min(1) }).optional(),
  environment: z.record(z.string(), z.unknown()).optional(),
  interface: z.record(z.string(), z.unknown()).optional(),
});

const StructureSchema = z.looseObject({
  items: z.array(z.looseObject({ path: z.string().min(1), title: z.string().optional() })).min(1),
});

/** Backends a labrun sandbox stands in for: a plain Linux machine with Docker. */
const SUPPORTED_IMAGE = /^(ubuntu|debian|docker|bash)(\d{4}|[-:].*)?$/;
const KUBERNETES_IMAGE = /kube|k3s|k8s|minikube|kind|openshift/i;
const MULTI_MACHINE_IMAGE = /swarm|\dnodes/i;
const ASSET_HOSTS = ['host01', 'client'];
/** Where a sandbox may write: its root filesystem is read-only outside these. */
export const WRITABLE = ['/root', '/tmp', '/run'];

/** Whether a folder looks like a Killercoda scenario or course (for `labrun serve --labs`). */
export const KILLERCODA_MARKERS = ['index.json', 'structure.json'] as const;

/** Imports a scenario folder (index.json) or a course folder (structure.json); throws ImportError. */
export async function importKillercoda(dirArg: string): Promise<LabDraft[]> {
  const dir = path.resolve(dirArg);
  const structureFile = path.join(dir, 'structure.json');
  const structureText = await readTextOrUndefined(structureFile);
  if (structureText !== undefined && (await readTextOrUndefined(path.join(dir, 'index.json'))) === undefined) {
    const scenarios = await courseScenarios(dir, structureText);
    const drafts: LabDraft[] = [];
    const issues: LabIssue[] = [];
    for (const s of scenarios) {
      try {
        drafts.push(await importScenario(s));
      } catch (err) {
        if (!(err instanceof ImportError)) throw err;
        issues.push(...err.issues);
      }
    }
    if (issues.length) throw new ImportError(issues);
    return drafts;
  }
  return [await importScenario(dir)];
}

/** The scenario folders a course's structure.json lists, each checked to exist. */
export async function courseScenarios(dir: string, text: string): Promise<string[]> {
  const src = new JsonSource(displayPath(path.join(dir, 'structure.json')), text);
  if (src.syntaxIssues.length) throw new ImportError(src.syntaxIssues);
  const parsed = StructureSchema.safeParse(src.toJS());
  if (!parsed.success) throw new ImportError(zodIssues(src, parsed.error));
  const out: string[] = [];
  const issues: LabIssue[] = [];
  for (const [i, item] of parsed.data.items.entries()) {
    const sub = inside(dir, item.path);
    if (!sub || (await readTextOrUndefined(path.join(sub, 'index.json'))) === undefined) {
      issues.push(src.issue(['items', i, 'path'], `no scenario at '${item.path}' (expected ${item.path}/index.json inside the course folder)`));
    } else out.push(sub);
  }
  if (issues.length) throw new ImportError(issues);
  return out;
}

async function importScenario(dir: string): Promise<LabDraft> {
  const indexFile = path.join(dir, 'index.json');
  const shown = displayPath(indexFile);
  const text = await readTextOrUndefined(indexFile);
  if (text === undefined) throw new ImportError([{ file: shown, line: 1, col: 1, message: 'index.json not found: not a Killercoda scenario folder' }]);
  const src = new JsonSource(shown, text);
  if (src.syntaxIssues.length) throw new ImportError(src.syntaxIssues);
  const parsed = IndexSchema.safeParse(src.toJS());
  if (!parsed.success) throw new ImportError(zodIssues(src, parsed.error));
  const index = parsed.data;
  const issues: LabIssue[] = [];
  const notes: string[] = [];

  const imageid = index.backend?.imageid ?? 'ubuntu';
  if (KUBERNETES_IMAGE.test(imageid)) {
    issues.push(src.issue(['backend', 'imageid'], `backend.imageid '${imageid}' is a Kubernetes environment: not supported (labrun sandboxes are one Linux machine with Docker; supported: ubuntu, ubuntu-4GB, debian, docker)`));
  } else if (MULTI_MACHINE_IMAGE.test(imageid)) {
    issues.push(src.issue(['backend', 'imageid'], `backend.imageid '${imageid}' is several machines: not supported (a labrun sandbox is one Linux machine with Docker)`));
  } else if (!SUPPORTED_IMAGE.test(imageid)) {
    issues.push(src.issue(['backend', 'imageid'], `backend.imageid '${imageid}' is not supported (supported: ubuntu, ubuntu-4GB and other ubuntu sizes and versions, debian, docker, bash)`));
  }
  for (const key of ['environment', 'interface'] as const) {
    if (index[key]) notes.push(`${key} (${Object.keys(index[key]).join(', ') || 'empty'}): labrun's page is always the lesson beside one terminal; ignored`);
  }

  const id = slugify(path.basename(dir), 'scenario');
  const workspace = workspaceFor(id);
  const files: DraftFile[] = [];
  const assets: DraftFile[] = [];
  const scripts: string[] = [];

  // Assets: staged in the workspace, moved to their targets by the first step's setup.
  const assetSetup: string[] = [];
  const assetLists = Object.entries(index.details.assets ?? {});
  const assetFiles = assetLists.length ? await listFilesUnder(path.join(dir, 'assets')) : [];
  for (const [host, list] of assetLists) {
    if (!ASSET_HOSTS.includes(host)) {
      issues.push(src.issue(['details', 'assets', host], `details.assets.${host}: only one machine is supported (host01); a second host is not`));
      continue;
    }
    list.forEach((a, ai) => {
      const matcher = picomatch(a.file, { dot: true });
      const base = picomatch.scan(a.file).base;
      const matched = assetFiles.filter((f) => matcher(f));
      // Killercoda skips an asset that matches nothing; so does the import, saying so.
      if (!matched.length) {
        notes.push(`details.assets.${host}[${ai}]: no file in assets/ matches '${a.file}'; skipped`);
        return;
      }
      const target = a.target.replace(/^~(?=\/|$)/, '/root').replace(/\/+$/, '') || '/';
      if (!WRITABLE.some((w) => target === w || target.startsWith(`${w}/`)))
        notes.push(`details.assets.${host}[${ai}]: target ${a.target} is outside ${WRITABLE.join(', ')}, the only folders a sandbox can write; its setup will fail there`);
      for (const f of matched) {
        const staged = `.labrun-assets/${files.length}`;
        files.push({ from: path.join(dir, 'assets', f), to: staged });
        const rel = base && f.startsWith(`${base}/`) ? f.slice(base.length + 1) : f;
        const dest = `${target}/${rel}`;
        // One command per line: setup runs under `set -e`, so a target it cannot write fails the step loudly.
        assetSetup.push(`install -D -m 0644 ${shq(`/root/${workspace}/${staged}`)} ${shq(dest)}`);
        if (a.chmod) assetSetup.push(`chmod ${a.chmod} ${shq(dest)}`);
      }
    });
  }

  const pages: { page: Page; path: (string | number)[]; fallbackTitle: string }[] = [];
  if (index.details.intro) pages.push({ page: index.details.intro, path: ['details', 'intro'], fallbackTitle: 'Introduction' });
  for (const [i, page] of index.details.steps.entries()) pages.push({ page, path: ['details', 'steps', i], fallbackTitle: `Step ${i + 1}` });
  if (index.details.finish) pages.push({ page: index.details.finish, path: ['details', 'finish'], fallbackTitle: 'Finish' });
  if (!pages.length) issues.push(src.issue(['details'], 'the scenario has no intro, steps or finish'));

  const read = async (p: (string | number)[], field: keyof Page, rel: string | undefined): Promise<string | undefined> => {
    if (rel === undefined) return undefined;
    const abs = inside(dir, rel);
    const content = abs ? await readTextOrUndefined(abs) : undefined;
    if (content === undefined) issues.push(src.issue([...p, field], `${String(field)}: file '${rel}' not found in the scenario folder`));
    return content;
  };

  const steps: DraftStep[] = [];
  const usedNames = new Set<string>();
  for (const [n, { page, path: p, fallbackTitle }] of pages.entries()) {
    const title = page.title?.trim() || fallbackTitle;
    const textRel = page.text;
    const md = (await read(p, 'text', textRel)) ?? '';
    const conv = convertKillercodaMarkdown(md, textRel ? path.posix.dirname(textRel).replace(/^\.$/, '') : '');
    notes.push(...conv.notes.map((x) => `${textRel ?? title}: ${x}`));
    for (const img of conv.images) {
      const abs = inside(path.dirname(dir), path.relative(path.dirname(dir), path.join(dir, img)));
      if (abs && (await readTextOrUndefined(abs)) !== undefined) assets.push({ from: abs, to: assetPath(img) });
      else notes.push(`${textRel}: image '${img}' not found; left as a broken image`);
    }
    const background = (await read(p, 'background', page.background)) ?? (await read(p, 'courseData', page.courseData));
    const foreground = (await read(p, 'foreground', page.foreground)) ?? (await read(p, 'code', page.code));
    const verify = await read(p, 'verify', page.verify);
    const answer = await read(p, 'answer', page.answer);
    for (const s of [md, background, foreground, verify, answer]) if (s) scripts.push(s);

    const step: DraftStep = { fileName: stepFileName(n, title), title, hints: [], questions: [], checks: [], body: conv.markdown };
    while (usedNames.has(step.fileName)) step.fileName = step.fileName.replace(/\.md$/, '-2.md');
    usedNames.add(step.fileName);

    const setup: string[] = [];
    if (n === 0 && assetSetup.length) setup.push(`if [ -d /root/${workspace}/.labrun-assets ]; then`, ...assetSetup.map((l) => `  ${l}`), `  rm -rf /root/${workspace}/.labrun-assets`, 'fi');
    if (background !== undefined) setup.push(asShellScript(background));
    if (setup.length) step.setup = `${setup.join('\n').replace(/\n+$/, '')}\n`;
    // The terminal opens in the workspace; Killercoda's opens in the home folder, where its texts start.
    const fg = [n === 0 ? 'cd ~' : undefined, foreground?.replace(/\r\n/g, '\n').replace(/^#!.*\n/, '').trim()].filter(Boolean).join('\n');
    if (fg) step.foreground = `${fg}\n`;
    if (verify !== undefined) {
      const check: CheckSpec = { name: `${page.verify} exits 0`, run: asShellScript(verify), timeout: VERIFY_TIMEOUT_S, expect: [{ exitCode: 0 }] };
      step.checks.push(check);
    }

    // A solution: a solve script beside the step's files, else the Run blocks of a Solution dropdown
    // or of a Katacoda answer.
    const stepDir = path.posix.dirname(page.verify ?? page.text ?? '.');
    const solveRel = ['solution.sh', 'solve.sh'].map((f) => path.posix.join(stepDir, f));
    let solve: string | undefined;
    for (const rel of stepDir === '.' ? [] : solveRel) {
      const abs = inside(dir, rel);
      solve ??= abs ? await readTextOrUndefined(abs) : undefined;
      if (solve !== undefined) {
        solve = asShellScript(solve);
        break;
      }
    }
    if (solve === undefined && answer !== undefined) {
      const a = convertKillercodaMarkdown(answer);
      const runs = a.solution.length ? a.solution : a.runs;
      if (runs.length) solve = `cd ~\n${runs.join('\n')}\n`;
      step.hints.push(answer.replace(/\{\{[^}]*\}\}/g, '').trim());
    }
    if (solve === undefined && conv.solution.length) solve = `cd ~\n${conv.solution.join('\n')}\n`;
    if (solve !== undefined) step.solve = solve;
    if (verify !== undefined && solve === undefined) notes.push(`${title}: has a verify script but no solution; labrun test will report its check as never passing`);
    steps.push(step);
  }

  if (issues.length) throw new ImportError(issues);
  const minutes = Number(/\d+/.exec(String(index.time ?? ''))?.[0] ?? DEFAULT_MINUTES) || DEFAULT_MINUTES;
  return {
    id,
    title: index.title,
    summary: (index.description ?? '').trim() || index.title,
    minutes,
    workspace,
    images: [...new Set(scripts.flatMap(imagesNamedIn))],
    steps,
    files,
    assets,
    notes,
    source: dir,
  };
}

/** A value single-quoted for the shell. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** zod issues → positioned messages naming the field. */
export function zodIssues(src: JsonSource | { issue: JsonSource['issue'] }, error: z.ZodError): LabIssue[] {
  return error.issues.map((i) => {
    const p = i.path.filter((s): s is string | number => typeof s !== 'symbol');
    const where = p.map((s, k) => (typeof s === 'number' ? `[${s}]` : k ? `.${s}` : s)).join('');
    if (i.code === 'unrecognized_keys') return src.issue(p, `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${k}'`).join(', ')}${where ? ` in ${where}` : ''}`);
    const missing = i.code === 'invalid_type' && /received undefined$/.test(i.message);
    return src.issue(p, missing ? `missing required field '${where}'` : `${where ? `${where}: ` : ''}${i.message}`);
  });
}
