// Loads labs from disk: `labs/<id>/lab.yaml`, `steps/*.md` (YAML frontmatter + markdown body) and the
// compose files in `files/`. Validates schema and cross-references (services, questions, step files) and
// reports every problem as `file:line:col: message`. Markdown is rendered and sanitized once, here.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import type { SandboxSpec } from '../sandbox/sandbox.ts';
import { fenceProblems, renderMarkdown } from './markdown.ts';
import {
  EXPECTATION_KINDS,
  LabFileSchema,
  StepFrontmatterSchema,
  type CheckSpec,
  type Expectation,
  type LiveValue,
  type Question,
} from './schema.ts';
import { YamlSource, formatIssue, splitFrontmatter, type LabIssue, type YamlPath } from './yaml-source.ts';
import { displayPath, exists, isRecord } from '../common.ts';
import { convertForLoad, formatOf, labDirsOf } from './import/convert-at-load.ts';

export type { CheckSpec, Expectation, LiveValue, OutputOf, Question, TextMatch, Target } from './schema.ts';
export type { LabIssue } from './yaml-source.ts';
export { formatIssue } from './yaml-source.ts';

export interface Step {
  /** File name without the `NN-` prefix and `.md`, e.g. `embedded-dns`; stable across reordering. */
  id: string;
  /** 0-based position in the lab. */
  index: number;
  title: string;
  /** Sanitized HTML of the markdown body. */
  html: string;
  setup?: string;
  solve?: string;
  /** Typed into the learner's terminal when the step opens. */
  foreground?: string;
  hints: string[];
  questions: Question[];
  checks: CheckSpec[];
  /** Absolute path of the step file (for messages). */
  file: string;
}

export interface Lab {
  id: string;
  title: string;
  summary: string;
  minutes: number;
  /** Absolute path of the lab folder. */
  dir: string;
  /** Absolute path of `files/` (copied into the workspace), when the lab has one. */
  filesDir?: string;
  /** Workspace folder in the sandbox (`/root/<workspace>`); also the compose project name. */
  workspace: string;
  images: string[];
  /** The lab's sandboxes may reach outside addresses (lab.yaml `egress: true`). */
  egress: boolean;
  composeFiles: string[];
  /** Services declared across the lab's compose files. */
  services: string[];
  steps: Step[];
}

/** What a sandbox for this lab and learner must be: the one place a lab becomes a SandboxSpec. */
export function sandboxSpec(lab: Lab, learnerId: string): SandboxSpec {
  return {
    labId: lab.id,
    learnerId,
    workspace: lab.workspace,
    ...(lab.filesDir !== undefined && { filesDir: lab.filesDir }),
    images: lab.images,
    egress: lab.egress,
  };
}

export interface Catalog {
  labs: Lab[];
  byId(id: string): Lab | undefined;
}

/** A lab that cannot be loaded; `issues` lists every problem with its position. */
export class LabError extends Error {
  constructor(readonly issues: LabIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'LabError';
  }
}

const LAB_ID = /^[a-z0-9][a-z0-9-]*$/;

/** Loads every lab folder (one containing lab.yaml) under `labsDir`; throws LabError listing all problems. */
export async function loadCatalog(labsDir: string): Promise<Catalog> {
  const dirs = await findLabDirs(labsDir);
  const labs: Lab[] = [];
  const issues: LabIssue[] = [];
  for (const dir of dirs) {
    const r = await loadLab(dir);
    issues.push(...r.issues);
    if (!r.lab) continue;
    // Two courses may hold scenarios of the same folder name: the second would shadow the first.
    const twin = labs.find((l) => l.id === r.lab?.id);
    if (twin) issues.push({ file: displayPath(dir), line: 1, col: 1, message: `lab id '${r.lab.id}' is also the id of ${displayPath(twin.dir)}: rename one folder` });
    else labs.push(r.lab);
  }
  if (issues.length) throw new LabError(issues);
  const byId = new Map(labs.map((l) => [l.id, l]));
  return { labs, byId: (id) => byId.get(id) };
}

/**
 * Subfolders of `labsDir` that hold a lab, sorted by name: a lab.yaml, or a Killercoda scenario
 * (index.json), course (structure.json: its scenarios) or Instruqt track (track.yml), converted at load.
 * `labsDir` may also be such a folder itself.
 */
export async function findLabDirs(labsDir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(labsDir, { withFileTypes: true });
  } catch {
    throw new LabError([{ file: displayPath(labsDir), line: 1, col: 1, message: 'labs folder not found' }]);
  }
  const itself = await labDirsOf(path.resolve(labsDir));
  if (itself.length) return itself;
  const dirs: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory()) dirs.push(...(await labDirsOf(path.resolve(labsDir, e.name))));
  }
  return dirs;
}

/** The lab folders behind folders named on a command line (a Killercoda course stands for its scenarios). */
export async function expandLabDirs(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    const found = await labDirsOf(path.resolve(d));
    out.push(...(found.length ? found : [path.resolve(d)]));
  }
  return out;
}

/** Loads one lab folder. Never throws for a broken lab: problems come back as issues (lab undefined if any). */
export async function loadLab(dirArg: string): Promise<{ lab?: Lab; issues: LabIssue[] }> {
  const dir = path.resolve(dirArg);
  const id = path.basename(dir);
  const labFile = path.join(dir, 'lab.yaml');
  const shown = displayPath(labFile);
  const text = await readText(labFile);
  if (text === undefined) {
    const format = await formatOf(dir);
    if (format === undefined || format === 'labrun') return { issues: [{ file: shown, line: 1, col: 1, message: 'lab.yaml not found in this folder' }] };
    // Another platform's folder: converted into a cache folder, then loaded like any lab.
    const converted = await convertForLoad(dir);
    return converted.labDir ? loadLab(converted.labDir) : { issues: converted.issues };
  }

  const src = new YamlSource(shown, text);
  const issues: LabIssue[] = [...src.syntaxIssues];
  if (issues.length) return { issues };
  if (!LAB_ID.test(id)) issues.push(src.issue([], `lab folder name '${id}' must be lower-case letters, digits and - (it is the lab id)`));

  const parsed = LabFileSchema.safeParse(src.toJS());
  if (!parsed.success) return { issues: [...issues, ...zodIssues(src, parsed.error)] };
  const meta = parsed.data;

  const filesDir = path.join(dir, 'files');
  const hasFiles = await exists(filesDir);

  // Services and networks the checks may name, from the compose files.
  const services = new Set<string>();
  const networks = new Set([`${meta.workspace}_default`, 'bridge', 'host', 'none']);
  for (const [i, compose] of meta.compose.entries()) {
    const composePath = path.join(filesDir, compose);
    const composeText = await readText(composePath);
    if (composeText === undefined) {
      issues.push(src.issue(['compose', i], `compose file files/${compose} not found`));
      continue;
    }
    const c = new YamlSource(displayPath(composePath), composeText);
    issues.push(...c.syntaxIssues);
    const js = c.toJS();
    const svc = isRecord(js) && isRecord(js.services) ? Object.keys(js.services) : [];
    if (!svc.length) issues.push(c.issue([], 'compose file declares no services'));
    for (const s of svc) services.add(s);
    if (isRecord(js) && isRecord(js.networks)) for (const n of Object.keys(js.networks)) networks.add(`${meta.workspace}_${n}`);
  }

  // Step files: the listed order, or every steps/*.md by name.
  const stepsDir = path.join(dir, 'steps');
  let stepFiles: { name: string; path: YamlPath }[];
  if (meta.steps) {
    stepFiles = meta.steps.map((name, i) => ({ name, path: ['steps', i] }));
  } else {
    const names = (await readdir(stepsDir).catch(() => [] as string[])).filter((n) => n.endsWith('.md')).sort();
    stepFiles = names.map((name) => ({ name, path: ['steps'] }));
    if (!names.length) issues.push(src.issue([], 'lab has no steps: add steps/NN-name.md files'));
  }

  const steps: Step[] = [];
  const stepIds = new Set<string>();
  for (const [index, sf] of stepFiles.entries()) {
    const file = path.join(stepsDir, sf.name);
    const stepText = await readText(file);
    if (stepText === undefined) {
      issues.push(src.issue(sf.path, `step file steps/${sf.name} not found`));
      continue;
    }
    const r = loadStep(file, stepText, index, { services, networks });
    issues.push(...r.issues);
    if (r.step) {
      if (stepIds.has(r.step.id)) issues.push({ file: displayPath(file), line: 1, col: 1, message: `duplicate step id '${r.step.id}'` });
      stepIds.add(r.step.id);
      steps.push(r.step);
    }
  }

  if (issues.length) return { issues };
  const lab: Lab = {
    id,
    title: meta.title,
    summary: meta.summary,
    minutes: meta.minutes,
    dir,
    workspace: meta.workspace,
    images: meta.images,
    egress: meta.egress,
    composeFiles: meta.compose,
    services: [...services].sort(),
    steps,
  };
  if (hasFiles) lab.filesDir = filesDir;
  return { lab, issues };
}

interface Known {
  services: Set<string>;
  networks: Set<string>;
}

function loadStep(file: string, text: string, index: number, known: Known): { step?: Step; issues: LabIssue[] } {
  const shown = displayPath(file);
  const fm = splitFrontmatter(text);
  if (!fm) return { issues: [{ file: shown, line: 1, col: 1, message: "step file must start with YAML frontmatter between '---' lines" }] };
  const src = new YamlSource(shown, fm.yaml, fm.yamlLineOffset);
  if (src.syntaxIssues.length) return { issues: src.syntaxIssues };
  const parsed = StepFrontmatterSchema.safeParse(src.toJS() ?? {});
  if (!parsed.success) return { issues: zodIssues(src, parsed.error) };
  const fmData = parsed.data;
  const issues = stepReferenceIssues(src, fmData.checks, fmData.questions, known);
  const bodyLine = text.slice(0, text.length - fm.body.length).split('\n').length - 1;
  for (const p of fenceProblems(fm.body)) issues.push({ file: shown, line: bodyLine + p.line, col: 1, message: p.message });

  const step: Step = {
    id: path.basename(file, '.md').replace(/^\d+[-_]/, ''),
    index,
    title: fmData.title,
    html: renderMarkdown(fm.body),
    hints: fmData.hints,
    questions: fmData.questions,
    checks: fmData.checks,
    file,
  };
  if (fmData.setup !== undefined) step.setup = fmData.setup;
  if (fmData.solve !== undefined) step.solve = fmData.solve;
  if (fmData.foreground !== undefined) step.foreground = fmData.foreground;
  return { step, issues };
}

/** Names in checks that must exist: services in the compose files, networks of the project, the step's question ids. */
function stepReferenceIssues(src: YamlSource, checks: CheckSpec[], questions: Question[], known: Known): LabIssue[] {
  const issues: LabIssue[] = [];
  const questionIds = new Set<string>();
  questions.forEach((q, i) => {
    if (questionIds.has(q.id)) issues.push(src.issue(['questions', i, 'id'], `duplicate question id '${q.id}'`));
    questionIds.add(q.id);
  });
  const svcList = [...known.services].sort().join(', ') || '(none)';
  const service = (p: YamlPath, name: string | undefined) => {
    if (name !== undefined && !known.services.has(name))
      issues.push(src.issue(p, `unknown service '${name}' (services in the lab's compose files: ${svcList})`));
  };
  const network = (p: YamlPath, name: string | undefined) => {
    if (name !== undefined && !known.networks.has(name))
      issues.push(src.issue(p, `unknown network '${name}' (known: ${[...known.networks].sort().join(', ')})`));
  };
  const live = (p: YamlPath, v: LiveValue) => {
    service([...p, 'ipOf'], v.ipOf);
    service([...p, 'sandboxKeyOf'], v.sandboxKeyOf);
    network([...p, 'gatewayOf'], v.gatewayOf);
    network([...p, 'subnetOf'], v.subnetOf);
    network([...p, 'bridgeOf'], v.bridgeOf);
    network([...p, 'network'], v.network);
    service([...p, 'outputOf', 'service'], v.outputOf?.service);
  };
  const names = new Set<string>();
  checks.forEach((check, ci) => {
    const cp: YamlPath = ['checks', ci];
    if (names.has(check.name)) issues.push(src.issue([...cp, 'name'], `duplicate check name '${check.name}'`));
    names.add(check.name);
    service([...cp, 'service'], check.service);
    const needsRun = check.expect.some((e) => e.exitCode !== undefined || e.stdout || e.stderr || e.mentions);
    if (needsRun && check.run === undefined)
      issues.push(src.issue(cp, `check '${check.name}' expects command output (exitCode/stdout/stderr/mentions) but has no 'run'`));
    check.expect.forEach((e: Expectation, ei) => {
      const ep: YamlPath = [...cp, 'expect', ei];
      if (e.resolves) {
        service([...ep, 'resolves', 'name'], e.resolves.name);
        service([...ep, 'resolves', 'from'], e.resolves.from);
        if (e.resolves.from === undefined && check.service === undefined)
          issues.push(src.issue([...ep, 'resolves'], "resolves needs 'from' (a service) or a check 'service' to resolve from"));
      }
      if (e.reachable) service([...ep, 'reachable', 'from'], e.reachable.from);
      if (e.running) service([...ep, 'running', 'service'], e.running.service);
      if (e.ownNetns) service([...ep, 'ownNetns', 'service'], e.ownNetns.service);
      if (e.publishes) service([...ep, 'publishes', 'service'], e.publishes.service);
      if (e.sharesNetns) {
        service([...ep, 'sharesNetns', 'a'], e.sharesNetns.a);
        service([...ep, 'sharesNetns', 'b'], e.sharesNetns.b);
      }
      if (e.mentions) live([...ep, 'mentions'], e.mentions);
      if (e.answer) {
        if (!questionIds.has(e.answer.question))
          issues.push(
            src.issue(
              [...ep, 'answer', 'question'],
              `unknown question id '${e.answer.question}' (this step's questions: ${[...questionIds].join(', ') || '(none)'})`,
            ),
          );
        live([...ep, 'answer', 'equals'], e.answer.equals);
      }
    });
  });
  return issues;
}

/** zod issues → positioned, readable messages (unknown keys get their own position and, for expectations, the list of kinds). */
function zodIssues(src: YamlSource, error: z.ZodError): LabIssue[] {
  const out: LabIssue[] = [];
  // An object with an unknown key also fails its own refinements (e.g. "empty expectation"); the unknown key says it all.
  const unknownAt = new Set(error.issues.filter((i) => i.code === 'unrecognized_keys').map((i) => i.path.map(String).join('.')));
  for (const issue of error.issues) {
    if (issue.code === 'custom' && unknownAt.has(issue.path.map(String).join('.'))) continue;
    const p = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
    const where = fieldPath(p);
    if (issue.code === 'unrecognized_keys') {
      const isExpectation = p.length >= 2 && p[p.length - 2] === 'expect';
      for (const key of issue.keys) {
        const message = isExpectation
          ? `unknown expectation '${key}' (known: ${EXPECTATION_KINDS.join(', ')})`
          : `unknown field '${key}'${where ? ` in ${where}` : ''}`;
        out.push(src.issue(p, message, key));
      }
      continue;
    }
    const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
    const message = missing ? `missing required field '${where}'` : `${where ? `${where}: ` : ''}${issue.message}`;
    out.push(src.issue(p, message));
  }
  return out;
}

function fieldPath(p: (string | number)[]): string {
  return p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s)).join('');
}


async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

export { displayPath };
