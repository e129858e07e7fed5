// Renders a step's markdown body to sanitized HTML, once, at load. Fenced code blocks become
// `<pre data-lang="…" [data-run] [data-interrupt] [data-terminal="…"]><code>…</code></pre>`: the info
// string `bash run` marks a block runnable (the client gives it a Run button that types its text into
// the terminal), `interrupt` after it presses Ctrl-C first, to end what the previous block started, and
// `terminal=<id>` names the terminal tab it runs in (opened if the learner has none). Inline
// `<code data-run>` gets a Run button too.
// Two link schemes open the workspace: `[open nginx](port:8080)` (also `port:9080@nginx_a`,
// `port:8080/path`) becomes a link to the port's preview, `[edit](file:netsvc.conf#L2)` one that opens
// the editor at that line; both are written as data attributes the client turns into links (the
// lesson's HTML is the same for every learner).
// A link to `topology:` becomes `<a data-panel="topology">`, which the lesson page makes open the
// topology panel.
import { Marked, type Tokens } from 'marked';
import createDOMPurify from 'dompurify';
import { JSDOM } from 'jsdom';
import { TERMINAL_ID_RE } from '../../shared/api.ts';
import { escapeHtml } from '../common.ts';

const purify = createDOMPurify(new JSDOM('').window);

/** What a fence's info string says: its language, whether it has a Run button, and in which terminal. */
export interface FenceInfo {
  lang: string;
  run: boolean;
  /** `interrupt`: the Run button presses Ctrl-C before typing the block. */
  interrupt: boolean;
  terminal?: string;
  /** Set when the info string names a terminal id that cannot be one. */
  problem?: string;
}

export function fenceInfo(info: string | undefined): FenceInfo {
  const [lang = '', ...flags] = (info ?? '').trim().split(/\s+/);
  const out: FenceInfo = { lang, run: flags.includes('run'), interrupt: flags.includes('interrupt') };
  for (const flag of flags) {
    const m = /^terminal=(.*)$/.exec(flag);
    if (!m) continue;
    const id = m[1] ?? '';
    if (TERMINAL_ID_RE.test(id)) out.terminal = id;
    else out.problem = `code block: terminal=${id} is not a terminal id (1-32 lowercase letters, digits, '-' or '_')`;
  }
  if (out.terminal !== undefined && !out.run) out.problem = `code block: terminal=${out.terminal} needs 'run' too (\`\`\`${lang || 'bash'} run terminal=${out.terminal})`;
  return out;
}

/** `port:8080`, `port:9080@nginx_a`, `port:8080/some/path?q` */
const PORT_LINK = /^port:(\d{1,5})(?:@([A-Za-z0-9][A-Za-z0-9_.-]*))?(\/.*)?$/;
/** `file:netsvc.conf`, `file:conf/site.conf#L12` */
const FILE_LINK = /^file:([^#]+)(?:#L(\d+))?$/;

/** The link target that switches the page to the topology panel: `[see the picture](topology:)`. */
export const TOPOLOGY_LINK = 'topology:';

const marked = new Marked({
  gfm: true,
  renderer: {
    link(token: Tokens.Link): string | false {
      if (token.href.trim() === TOPOLOGY_LINK) {
        // Not a URL the sanitizer keeps: an in-page link the lesson page turns into "show the picture".
        return `<a href="#topology" class="panel-link" data-panel="topology">${this.parser.parseInline(token.tokens)}</a>`;
      }
      const inner = this.parser.parseInline(token.tokens);
      const port = PORT_LINK.exec(token.href);
      if (port?.[1]) {
        const attrs = [`data-port="${escapeHtml(port[1])}"`, port[2] ? `data-service="${escapeHtml(port[2])}"` : '', port[3] ? `data-path="${escapeHtml(port[3].slice(1))}"` : ''].filter(Boolean).join(' ');
        return `<a class="port-link" href="#port-${escapeHtml(port[1])}" ${attrs}>${inner}</a>`;
      }
      const file = FILE_LINK.exec(token.href);
      if (file?.[1]) {
        const line = file[2] ? ` data-line="${escapeHtml(file[2])}"` : '';
        return `<a class="file-link" href="#file" data-file="${escapeHtml(decodeURIComponent(file[1]))}"${line}>${inner}</a>`;
      }
      return false; // every other link: marked's own rendering
    },
    code(token: Tokens.Code): string {
      const fence = fenceInfo(token.lang);
      const langAttr = fence.lang ? ` data-lang="${escapeHtml(fence.lang)}"` : '';
      const runAttr = fence.run ? ` data-run${fence.interrupt ? ' data-interrupt' : ''}` : '';
      const termAttr = fence.run && fence.terminal !== undefined ? ` data-terminal="${escapeHtml(fence.terminal)}"` : '';
      const text = token.text.endsWith('\n') ? token.text : `${token.text}\n`;
      return `<pre${langAttr}${runAttr}${termAttr}><code>${escapeHtml(text)}</code></pre>\n`;
    },
  },
});

/** Markdown → HTML with scripts, event handlers and javascript: URLs removed. */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown, { async: false });
  return purify.sanitize(html, { ALLOW_DATA_ATTR: true });
}

function codeBlocks(markdown: string): Tokens.Code[] {
  return marked.lexer(markdown).filter((t): t is Tokens.Code => t.type === 'code');
}

/** The text of every fenced block marked `run`, in order: what the Run buttons would type. */
export function runnableCommands(markdown: string): string[] {
  return codeBlocks(markdown)
    .filter((t) => fenceInfo(t.lang).run)
    .map((t) => t.text);
}

/** Fences whose info string is wrong, with the body line (1-based) each starts on. */
export function fenceProblems(markdown: string): { line: number; message: string }[] {
  const out: { line: number; message: string }[] = [];
  let from = 0;
  for (const t of codeBlocks(markdown)) {
    const at = markdown.indexOf(t.raw, from);
    if (at >= 0) from = at + t.raw.length;
    const problem = fenceInfo(t.lang).problem;
    if (problem) out.push({ line: markdown.slice(0, Math.max(0, at)).split('\n').length, message: problem });
  }
  return out;
}
