// Instruqt tracks → a LabDraft. Both layouts in public use: the current one (track.yml + challenge
// folders `NN-slug/assignment.md` with YAML front matter) and the older one (a `challenges:` list in
// track.yml carrying each assignment; script folders named by slug). config.yml must describe one
// container host; its setup-/check-/solve-/cleanup-<host> scripts become the step's setup, check and
// solve. What maps where is in docs/importing.md.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { CheckSpec, Question } from '../schema.ts';
import { YamlSource, splitFrontmatter, type LabIssue, type YamlPath } from '../yaml-source.ts';
import { ImportError, asShellScript, imagesNamedIn, slugify, stepFileName, workspaceFor, type DraftFile, type DraftStep, type LabDraft } from './draft.ts';
import { assetPath, convertKillercodaMarkdown } from './killercoda-markdown.ts';
import { shq, zodIssues } from './killercoda.ts';
import { displayPath, inside, readTextOrUndefined } from './source-files.ts';

/** Seconds a check script may take (Instruqt's own default limit is minutes; a check button needs less). */
const CHECK_TIMEOUT_S = 60;
const DEFAULT_MINUTES = 15;
/**
 * Instruqt hosts provide `fail-message "why"`: say why the check failed and stop. labrun shows a check's
 * output as its evidence, so the message becomes a `FAIL:` line there.
 */
const FAIL_MESSAGE_PRELUDE = 'fail-message() { echo "FAIL: $*"; exit 1; }';

const TabSchema = z.looseObject({ title: z.string().optional(), type: z.string().optional(), hostname: z.string().optional(), port: z.number().optional(), path: z.string().optional(), url: z.string().optional() });
const NoteSchema = z.looseObject({ type: z.string().optional(), contents: z.string().optional(), url: z.string().optional() });
const ChallengeSchema = z.looseObject({
  slug: z.string().min(1),
  type: z.string().optional(),
  title: z.string().min(1),
  teaser: z.string().optional(),
  assignment: z.string().optional(),
  notes: z.array(NoteSchema).optional(),
  tabs: z.array(TabSchema).optional(),
  answers: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
  solution: z.array(z.number().int().min(0)).optional(),
  timelimit: z.number().optional(),
});
type Challenge = z.infer<typeof ChallengeSchema>;

const TrackSchema = z.looseObject({
  slug: z.string().min(1).optional(),
  title: z.string().min(1),
  teaser: z.string().optional(),
  description: z.string().optional(),
  timelimit: z.number().optional(),
  challenges: z.array(ChallengeSchema).optional(),
});

const ConfigSchema = z.looseObject({
  version: z.union([z.string(), z.number()]).optional(),
  containers: z.array(z.looseObject({ name: z.string().min(1), image: z.string().min(1), ports: z.array(z.number()).optional() })).optional(),
  virtualmachines: z.array(z.looseObject({ name: z.string() })).optional(),
});

/** config.yml sections that need a cloud or a second machine. */
const CLOUD_SECTIONS = ['aws_accounts', 'gcp_projects', 'azure_subscriptions'];
const SCRIPT_KINDS = ['setup', 'check', 'solve', 'cleanup'] as const;

export const INSTRUQT_MARKERS = ['track.yml'] as const;

interface ChallengeSource {
  challenge: Challenge;
  body: string;
  /** Folder holding its scripts (absolute), when there is one. */
  folder?: string;
  /** Where its fields are, for messages. */
  src: YamlSource;
  path: YamlPath;
  /** The markdown's folder relative to the track (for images). */
  mdDir: string;
}

export async function importInstruqt(dirArg: string): Promise<LabDraft> {
  const dir = path.resolve(dirArg);
  const trackFile = path.join(dir, 'track.yml');
  const trackText = await readTextOrUndefined(trackFile);
  if (trackText === undefined) throw new ImportError([{ file: displayPath(trackFile), line: 1, col: 1, message: 'track.yml not found: not an Instruqt track folder' }]);
  const trackSrc = new YamlSource(displayPath(trackFile), trackText);
  if (trackSrc.syntaxIssues.length) throw new ImportError(trackSrc.syntaxIssues);
  const parsed = TrackSchema.safeParse(trackSrc.toJS());
  if (!parsed.success) throw new ImportError(zodIssues(trackSrc, parsed.error));
  const track = parsed.data;
  const issues: LabIssue[] = [];
  const notes: string[] = [];

  const hostConfig = await singleHost(dir, issues);
  const host = hostConfig?.name;
  if (hostConfig) notes.push(`host '${hostConfig.name}' (image ${hostConfig.image}): its commands run in labrun's sandbox (Debian with Docker), not in that image`);
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();

  // The challenges: from track.yml's list (older layout), else from NN-slug/assignment.md folders.
  const challenges: ChallengeSource[] = [];
  if (track.challenges?.length) {
    track.challenges.forEach((challenge, i) => {
      const folder = folders.find((f) => f === challenge.slug || f.replace(/^\d+[-_]/, '') === challenge.slug);
      challenges.push({ challenge, body: challenge.assignment ?? '', src: trackSrc, path: ['challenges', i], mdDir: '', ...(folder && { folder: path.join(dir, folder) }) });
    });
  } else {
    for (const folder of folders) {
      const file = path.join(dir, folder, 'assignment.md');
      const text = await readTextOrUndefined(file);
      if (text === undefined) continue;
      const fm = splitFrontmatter(text);
      if (!fm) {
        issues.push({ file: displayPath(file), line: 1, col: 1, message: "assignment.md must start with YAML front matter between '---' lines" });
        continue;
      }
      const src = new YamlSource(displayPath(file), fm.yaml, fm.yamlLineOffset);
      if (src.syntaxIssues.length) {
        issues.push(...src.syntaxIssues);
        continue;
      }
      const c = ChallengeSchema.safeParse(src.toJS() ?? {});
      if (!c.success) {
        issues.push(...zodIssues(src, c.error));
        continue;
      }
      challenges.push({ challenge: c.data, body: fm.body, folder: path.join(dir, folder), src, path: [], mdDir: folder });
    }
  }
  if (!challenges.length && !issues.length) issues.push(trackSrc.issue([], "the track has no challenges: no 'challenges:' list and no NN-slug/assignment.md folders"));

  const trackScripts = await scriptsIn(path.join(dir, 'track_scripts'), host, issues);
  if (trackScripts.cleanup) notes.push('track_scripts/cleanup: labrun removes the whole sandbox at the end; not run');

  const id = slugify(track.slug ?? path.basename(dir), 'track');
  const assets: DraftFile[] = [];
  const texts: string[] = [];
  const steps: DraftStep[] = [];
  let carriedCleanup: string | undefined;
  for (const [n, cs] of challenges.entries()) {
    const { challenge } = cs;
    const scripts = cs.folder ? await scriptsIn(cs.folder, host, issues) : {};
    const noteText = (challenge.notes ?? []).filter((x) => x.type === 'text' && x.contents).map((x) => x.contents?.trim() ?? '');
    const md = [...noteText, cs.body].filter(Boolean).join('\n\n---\n\n');
    const conv = convertKillercodaMarkdown(md, cs.mdDir);
    for (const img of conv.images) {
      const abs = inside(path.dirname(dir), path.relative(path.dirname(dir), path.join(dir, img)));
      if (abs && (await readTextOrUndefined(abs)) !== undefined) assets.push({ from: abs, to: assetPath(img) });
      else notes.push(`${challenge.slug}: image '${img}' not found; left as a broken image`);
    }
    let body = conv.markdown;
    for (const tab of challenge.tabs ?? []) {
      if (tab.type === 'service' && tab.port) body += `\n\n[${tab.title ?? `Port ${tab.port}`}](port:${tab.port})\n`;
      else if (tab.type === 'website' && tab.url) body += `\n\n[${tab.title ?? tab.url}](${tab.url})\n`;
      else if (tab.type !== 'terminal') notes.push(`${challenge.slug}: tab '${tab.title ?? tab.type}' (${tab.type}) has no labrun counterpart; left out`);
    }
    if (challenge.teaser && !body.trim()) body = challenge.teaser;
    texts.push(body, ...Object.values(scripts).filter((s): s is string => s !== undefined));

    const step: DraftStep = { fileName: stepFileName(n, challenge.slug), title: challenge.title, hints: [], questions: [], checks: [], body };
    const setup = [n === 0 ? trackScripts.setup : undefined, carriedCleanup, scripts.setup].filter((s): s is string => s !== undefined);
    if (setup.length) step.setup = setup.map((s) => asShellScript(s)).join('\n');
    carriedCleanup = scripts.cleanup;
    if (scripts.cleanup) notes.push(`${challenge.slug}: cleanup-${host} runs as part of the next step's setup`);
    if (scripts.solve) step.solve = asShellScript(scripts.solve);
    if (scripts.check) {
      const check: CheckSpec = {
        name: `check-${host} passes`,
        run: asShellScript(scripts.check, { prelude: FAIL_MESSAGE_PRELUDE }),
        timeout: CHECK_TIMEOUT_S,
        expect: [{ exitCode: 0 }, { stdout: { matches: '^FAIL:', not: true } }],
      };
      step.checks.push(check);
    }
    if (challenge.type === 'quiz') quiz(cs, step, issues, notes);
    steps.push(step);
  }

  if (issues.length) throw new ImportError(issues);
  const seconds = track.timelimit ?? challenges.reduce((s, c) => s + (c.challenge.timelimit ?? 0), 0);
  return {
    id,
    title: track.title,
    summary: (track.teaser ?? track.description ?? '').trim() || track.title,
    minutes: seconds > 0 ? Math.max(1, Math.round(seconds / 60)) : DEFAULT_MINUTES,
    workspace: workspaceFor(id),
    images: [...new Set(texts.flatMap(imagesNamedIn))],
    steps,
    files: [],
    assets,
    notes,
    source: dir,
  };
}

/** A quiz challenge: its question, answered right when the learner types the (first) correct answer. */
function quiz(cs: ChallengeSource, step: DraftStep, issues: LabIssue[], notes: string[]): void {
  const { challenge } = cs;
  const answers = challenge.answers ?? [];
  const right = (challenge.solution ?? []).map((i) => answers[i]).filter((a): a is string => a !== undefined);
  if (!answers.length || !right.length || right.length !== (challenge.solution ?? []).length) {
    issues.push(cs.src.issue([...cs.path, challenge.solution ? 'solution' : 'answers'], `quiz '${challenge.slug}' needs 'answers' and a 'solution' listing indexes into them`));
    return;
  }
  if (right.length > 1) notes.push(`${challenge.slug}: a quiz with several right answers asks for one; '${right[0]}' is required`);
  const question: Question = { id: 'answer', prompt: `Your answer (one of: ${answers.join(' | ')})` };
  step.questions.push(question);
  step.checks.push({
    name: 'quiz answer',
    expect: [{ answer: { question: 'answer', equals: { outputOf: { run: `printf '%s\\n' ${shq(right[0] ?? '')}`, matches: '^(.+)$', label: 'the right answer' } } } }],
  });
}

/**
 * The one container host the track runs on, from config.yml; a second host, a virtual machine or a
 * cloud account is reported as not supported at its place in config.yml.
 */
async function singleHost(dir: string, issues: LabIssue[]): Promise<{ name: string; image: string } | undefined> {
  const file = path.join(dir, 'config.yml');
  const text = await readTextOrUndefined(file);
  if (text === undefined) return undefined;
  const src = new YamlSource(displayPath(file), text);
  if (src.syntaxIssues.length) {
    issues.push(...src.syntaxIssues);
    return undefined;
  }
  const parsed = ConfigSchema.safeParse(src.toJS() ?? {});
  if (!parsed.success) {
    issues.push(...zodIssues(src, parsed.error));
    return undefined;
  }
  const config = parsed.data;
  for (const key of CLOUD_SECTIONS) {
    if (config[key] !== undefined) issues.push(src.issue([key], `${key}: cloud accounts are not supported (a labrun sandbox is one Linux machine with Docker)`));
  }
  if (config.secrets !== undefined) issues.push(src.issue(['secrets'], 'secrets: labrun has no store for secret values to hand a track; not supported'));
  if (config.virtualmachines?.length) {
    issues.push(src.issue(['virtualmachines'], `virtualmachines (${config.virtualmachines.map((v) => v.name).join(', ')}): virtual machines are not supported; labrun runs one container host`));
  }
  const containers = config.containers ?? [];
  if (containers.length > 1) {
    issues.push(src.issue(['containers', 1], `containers: ${containers.length} hosts (${containers.map((c) => c.name).join(', ')}); only a single container host is supported`));
  }
  return containers[0];
}

/** setup-/check-/solve-/cleanup-<host> in a folder; a script for another host is reported. */
async function scriptsIn(folder: string, host: string | undefined, issues: LabIssue[]): Promise<Partial<Record<(typeof SCRIPT_KINDS)[number], string>>> {
  const out: Partial<Record<(typeof SCRIPT_KINDS)[number], string>> = {};
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names.sort()) {
    const m = /^(setup|check|solve|cleanup)-(.+)$/.exec(name);
    if (!m) continue;
    const kind = SCRIPT_KINDS.find((k) => k === m[1]);
    const forHost = m[2] ?? '';
    if (!kind) continue;
    if (host !== undefined && forHost !== host) {
      issues.push({ file: displayPath(path.join(folder, name)), line: 1, col: 1, message: `script for host '${forHost}', but config.yml's only host is '${host}': a second host is not supported` });
      continue;
    }
    if (out[kind] !== undefined) {
      issues.push({ file: displayPath(path.join(folder, name)), line: 1, col: 1, message: `a second ${kind} script: only one host is supported` });
      continue;
    }
    out[kind] = (await readTextOrUndefined(path.join(folder, name))) ?? '';
  }
  return out;
}
