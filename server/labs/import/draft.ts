// A lab converted from another platform's format, before it is written: the lab.yaml fields, one entry
// per step (frontmatter + markdown body), the files to copy, and notes on what was left out. Importers
// produce it (pure, no writes); write-draft.ts turns it into a labrun lab folder.
import type { CheckSpec, Question } from '../schema.ts';
import type { LabIssue } from '../yaml-source.ts';

export interface DraftStep {
  /** Step file name in steps/, e.g. `02-create-a-file.md` (its id is the part after `NN-`). */
  fileName: string;
  title: string;
  setup?: string;
  solve?: string;
  foreground?: string;
  hints: string[];
  questions: Question[];
  checks: CheckSpec[];
  /** labrun markdown. */
  body: string;
}

export interface DraftFile {
  /** Absolute path in the source folder. */
  from: string;
  /** Path relative to the lab's `files/` (copied into the workspace) or `assets/` (served to the page). */
  to: string;
}

export interface LabDraft {
  /** Lab id: the folder name the lab is written to. */
  id: string;
  title: string;
  summary: string;
  minutes: number;
  workspace: string;
  /** Images the scenario's commands and files name (docker run/pull, compose `image:`), before checking which exist. */
  images: string[];
  steps: DraftStep[];
  files: DraftFile[];
  assets: DraftFile[];
  /** What the conversion left out or changed, for the person importing (never fatal). */
  notes: string[];
  /** Source folder (absolute). */
  source: string;
}

/** An import that cannot go on: every problem with its position in the source files. */
export class ImportError extends Error {
  constructor(readonly issues: LabIssue[]) {
    super(issues.map((i) => `${i.file}:${i.line}:${i.col}: ${i.message}`).join('\n'));
    this.name = 'ImportError';
  }
}

/** `Create a File!` → `create-a-file`: step file names and lab ids from titles and folder names. */
export function slugify(text: string, fallback: string): string {
  const slug = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return slug || fallback;
}

/** `02-create-a-file.md` for the second step. */
export function stepFileName(index: number, title: string): string {
  return `${String(index + 1).padStart(2, '0')}-${slugify(title, `step-${index + 1}`)}.md`;
}

/** A workspace name (compose project name rules) from a lab id. */
export function workspaceFor(id: string): string {
  return id.replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z0-9]+/, '') || 'lab';
}

const DOCKER_RUN = /\bdocker\s+(?:container\s+)?(?:run|create|pull)\s+([^\n;&|`]*)/g;
const IMAGE_IN_COMPOSE = /^\s*image:\s*["']?([a-z0-9][\w.\-/:@]*)["']?\s*$/gm;
/** `docker run` options that take no value (so the word after them may be the image). */
const FLAGS_WITHOUT_VALUE = new Set(['--rm', '--detach', '--interactive', '--tty', '--privileged', '--init', '--read-only', '--publish-all', '--quiet', '--all-tags', '--disable-content-trust', '--no-healthcheck', '--sig-proxy', '--oom-kill-disable']);
const IMAGE_NAME = /^[a-z0-9][\w.\-/:@]*$/;

/**
 * Image names a scenario's text and scripts use, so the import can say which ones a sandbox would
 * lack. Heuristic: the first word after `docker run|create|pull` and its options, and compose `image:` lines.
 */
export function imagesNamedIn(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(DOCKER_RUN)) {
    const words = (m[1] ?? '').trim().split(/\s+/);
    for (let i = 0; i < words.length; i++) {
      const w = words[i] ?? '';
      if (w.startsWith('--')) {
        if (!w.includes('=') && !FLAGS_WITHOUT_VALUE.has(w)) i++;
        continue;
      }
      // Short options: -d, -it, -dit take no value; -p, -v, -e, -w, … (a last letter that takes one) do.
      if (w.startsWith('-')) {
        if (/[pvewlmuhc]$/.test(w) || w === '--name') i++;
        continue;
      }
      if (IMAGE_NAME.test(w)) out.add(withTag(w));
      break;
    }
  }
  for (const m of text.matchAll(IMAGE_IN_COMPOSE)) if (m[1]) out.add(withTag(m[1]));
  return [...out];
}

function withTag(image: string): string {
  const last = image.split('/').pop() ?? image;
  return last.includes(':') || last.includes('@') ? image : `${image}:latest`;
}

/**
 * A script from the source as a labrun `run`/`setup`/`solve` text. It runs as a file of its own from
 * the home folder (where the other platforms start their scripts), by the interpreter its `#!` line
 * names, with stdin closed, so labrun's `set -e` does not change its meaning, a python script is not
 * fed to bash and a command reading stdin cannot swallow the rest of it. `prelude` is shell put before
 * a bash/sh script's own lines (helper functions the platform provides).
 */
export function asShellScript(script: string, opts: { prelude?: string } = {}): string {
  let text = script.replace(/\r\n/g, '\n').replace(/\s+$/, '');
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?.*$/m.exec(text.split('\n', 1)[0] ?? '');
  const named = shebang ? (shebang[1]?.endsWith('/env') ? shebang[2] : shebang[1]?.split('/').pop()) : undefined;
  // sh scripts run under bash: the platforms' helpers (e.g. `fail-message`) are not valid sh function names.
  const interp = named === undefined || named === 'sh' ? 'bash' : named;
  if (opts.prelude && interp === 'bash') {
    const lines = text.split('\n');
    text = shebang ? [lines[0], opts.prelude, ...lines.slice(1)].join('\n') : `${opts.prelude}\n${text}`;
  }
  let tag = 'LABRUN_SCRIPT';
  while (text.includes(tag)) tag += '_';
  return [
    'cd ~',
    'script=$(mktemp)',
    `cat > "$script" <<'${tag}'`,
    text,
    tag,
    'rc=0',
    `${interp} "$script" </dev/null || rc=$?`,
    'rm -f "$script"',
    // Not `exit`: several scripts may follow each other in one setup (under set -e a failure still stops it).
    '(exit $rc)',
    '',
  ].join('\n');
}
