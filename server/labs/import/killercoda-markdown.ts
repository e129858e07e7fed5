// Killercoda (and Katacoda) markdown → labrun markdown. Pure: a text in, a text out plus what the text
// refers to (images to serve, the commands of a "Solution" dropdown, notes on what was dropped).
//
//   ```…```{{exec}} / `cmd`{{exec}}   → a Run block / an inline Run   (Katacoda: {{execute}})
//   {{exec interrupt}}                → the same, pressing Ctrl-C first
//   {{copy}} / {{}}                   → a plain block or code span (every block has Copy in labrun)
//   {{TRAFFIC_HOST1_<port>}}          → a port preview link `[text](port:N)`
//   ![x](rel.png), <img src="rel">    → served from the lab's assets/
import path from 'node:path';
import { escapeHtml } from '../../common.ts';

export interface ConvertedMarkdown {
  markdown: string;
  /** Images the text shows, relative to the scenario folder (`step2/green.png`, `../assets/logo.png`). */
  images: string[];
  /**
   * The step's solve, from a `<details>` whose summary says "solution": its Run commands, or when it
   * has none, its shell code blocks (authors often leave the solution's blocks unannotated).
   */
  solution: string[];
  /** Every Run command (blocks and inline), in order. */
  runs: string[];
  notes: string[];
}

const FENCE_OPEN = /^(\s{0,3})(`{3,}|~{3,})\s*([^`]*?)\s*$/;
/** An annotation as Killercoda writes it after a code span or a closing fence. */
const ANNOTATION = /\{\{\s*(exec|execute|copy|open)?((?:\s+[\w-]+)*)\s*\}\}/;
const INLINE = new RegExp(`\`([^\`\\n]+)\`${ANNOTATION.source}`, 'g');
const TRAFFIC_LINK = /\]\(\s*(?:https?:\/\/)?\{\{\s*TRAFFIC_HOST\d+_(\d+)\s*\}\}([^)\s]*)\s*\)/g;
const TRAFFIC_BARE = /(?:https?:\/\/)?\{\{\s*TRAFFIC_HOST\d+_(\d+)\s*\}\}(\/[^\s)]*)?/g;
const TRAFFIC_SELECTOR = /\[([^\]]*)\]\(\s*\{\{\s*TRAFFIC_SELECTOR\s*\}\}\s*\)|\{\{\s*TRAFFIC_SELECTOR\s*\}\}/g;
const MD_IMAGE = /!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(\s+"[^"]*")?\s*\)/g;
const HTML_IMAGE = /(<img\b[^>]*?\bsrc\s*=\s*)(["'])([^"']+)\2/gi;

/** Code block languages a solution's unannotated blocks may be run in. */
const SHELL_LANGS = new Set(['', 'bash', 'sh', 'shell', 'console', 'plain', 'text']);

interface Action {
  run: boolean;
  interrupt: boolean;
}

function actionOf(kind: string | undefined, flags: string, notes: Set<string>): Action {
  const words = flags.trim().split(/\s+/).filter(Boolean);
  const run = kind === 'exec' || kind === 'execute';
  if (run) for (const w of words) if (w !== 'interrupt') notes.add(`{{${kind} ${w}}}: labrun has one terminal per learner; the command runs in it`);
  if (kind === 'open') notes.add('{{open}}: labrun has no editor pane; the file name is shown as code');
  return { run, interrupt: run && words.includes('interrupt') };
}

/** Whether a link or image target is inside the scenario (not a URL, not absolute). */
export function isRelativeTarget(target: string): boolean {
  return !/^(?:[a-z][a-z0-9+.-]*:|\/|#|\{\{)/i.test(target);
}

/** `mdDir`: folder of the markdown file, relative to the scenario folder (`''` or `step2`). */
export function convertKillercodaMarkdown(text: string, mdDir = ''): ConvertedMarkdown {
  const notes = new Set<string>();
  const images = new Set<string>();
  const solution: string[] = [];
  const solutionBlocks: string[] = [];
  const runs: string[] = [];
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  // Depth of <details> elements whose summary says "solution" (their Run blocks make the solve).
  let inSolution = 0;
  let detailsDepth = 0;
  const solutionAt: number[] = [];

  const inline = (line: string): string => {
    const converted = line.replace(INLINE, (_m, code: string, kind: string | undefined, flags: string) => {
      const a = actionOf(kind, flags, notes);
      if (!a.run) return `\`${code}\``;
      runs.push(code);
      if (inSolution) solution.push(code);
      return `<code data-run${a.interrupt ? ' data-interrupt' : ''}>${escapeHtml(code)}</code>`;
    });
    return traffic(images_(converted));
  };

  const images_ = (line: string): string =>
    line
      .replace(MD_IMAGE, (m, alt: string, target: string, title: string | undefined) => {
        if (!isRelativeTarget(target)) return m;
        return `![${alt}](${asset(target)}${title ?? ''})`;
      })
      .replace(HTML_IMAGE, (m, pre: string, q: string, target: string) => (isRelativeTarget(target) ? `${pre}${q}${asset(target)}${q}` : m));

  const asset = (target: string): string => {
    const rel = path.posix.normalize(path.posix.join(mdDir, decodeURI(target.split(/[?#]/)[0] ?? target)));
    images.add(rel);
    return assetPath(rel);
  };

  const traffic = (line: string): string =>
    line
      .replace(TRAFFIC_SELECTOR, (_m, label: string | undefined) => {
        notes.add('{{TRAFFIC_SELECTOR}}: labrun has no port list page; the link became plain text');
        return label ?? 'the port preview';
      })
      .replace(TRAFFIC_LINK, (_m, port: string, rest: string) => {
        if (rest && rest !== '/') notes.add(`{{TRAFFIC_HOST1_${port}}}${rest}: a port preview link opens the port's root; the path ${rest} was dropped`);
        return `](port:${port})`;
      })
      .replace(TRAFFIC_BARE, (_m, port: string) => `[port ${port}](port:${port})`);

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const open = FENCE_OPEN.exec(line);
    if (!open) {
      for (const tag of line.matchAll(/<(\/?)details\b[^>]*>/gi)) {
        if (tag[1]) {
          detailsDepth = Math.max(0, detailsDepth - 1);
          if (solutionAt.at(-1) === detailsDepth + 1) {
            solutionAt.pop();
            inSolution--;
          }
        } else {
          detailsDepth++;
          const summary = /<summary[^>]*>([\s\S]*?)(?:<\/summary>|$)/i.exec(line.slice(tag.index ?? 0));
          if (summary && /solution|answer|lösung|solución/i.test(summary[1] ?? '')) {
            inSolution++;
            solutionAt.push(detailsDepth);
          }
        }
      }
      out.push(inline(line));
      continue;
    }
    const [, indent = '', fence = '```', info = ''] = open;
    // Find the closing fence: same character, at least as long, optionally followed by an annotation.
    const close = new RegExp(`^\\s{0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*(${ANNOTATION.source})?\\s*$`);
    let j = i + 1;
    let closing: RegExpExecArray | null = null;
    for (; j < lines.length; j++) {
      closing = close.exec(lines[j] ?? '');
      if (closing) break;
    }
    const body = lines.slice(i + 1, j);
    const a = closing?.[1] !== undefined ? actionOf(closing[2], closing[3] ?? '', notes) : { run: false, interrupt: false };
    const lang = info.split(/\s+/)[0] || (a.run ? 'bash' : '');
    const flags = a.run ? ` run${a.interrupt ? ' interrupt' : ''}` : '';
    out.push(`${indent}${fence}${lang}${flags}`, ...body, `${indent}${fence}`);
    if (a.run) runs.push(body.join('\n'));
    if (a.run && inSolution) solution.push(body.join('\n'));
    else if (inSolution && SHELL_LANGS.has(lang)) solutionBlocks.push(body.join('\n'));
    i = j;
  }
  return { markdown: out.join('\n'), images: [...images], solution: solution.length ? solution : solutionBlocks, runs, notes: [...notes] };
}

/** Where an image of the scenario lives in the lab's assets/ (`../x.png` must not climb out of it). */
export function assetPath(rel: string): string {
  return rel
    .split('/')
    .map((seg) => (seg === '..' ? '_up' : seg))
    .join('/');
}
