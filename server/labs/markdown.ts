// Renders a step's markdown body to sanitized HTML, once, at load. Fenced code blocks become
// `<pre data-lang="…" [data-run]><code>…</code></pre>`; the info string `bash run` marks a block runnable
// (the client gives it a Run button that types its text into the terminal); `bash run interrupt` presses
// Ctrl-C first, to end what the previous block started. Inline `<code data-run>` gets a Run button too.
import { Marked, type Tokens } from 'marked';
import createDOMPurify from 'dompurify';
import { JSDOM } from 'jsdom';
import { escapeHtml } from '../common.ts';

const purify = createDOMPurify(new JSDOM('').window);


const marked = new Marked({
  gfm: true,
  renderer: {
    code(token: Tokens.Code): string {
      const [lang = '', ...flags] = (token.lang ?? '').trim().split(/\s+/);
      const langAttr = lang ? ` data-lang="${escapeHtml(lang)}"` : '';
      const runAttr = flags.includes('run') ? ` data-run${flags.includes('interrupt') ? ' data-interrupt' : ''}` : '';
      const text = token.text.endsWith('\n') ? token.text : `${token.text}\n`;
      return `<pre${langAttr}${runAttr}><code>${escapeHtml(text)}</code></pre>\n`;
    },
  },
});

/** Markdown → HTML with scripts, event handlers and javascript: URLs removed. */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown, { async: false });
  return purify.sanitize(html, { ALLOW_DATA_ATTR: true });
}

/** The text of every fenced block marked `run`, in order: what the Run buttons would type. */
export function runnableCommands(markdown: string): string[] {
  return marked
    .lexer(markdown)
    .filter((t): t is Tokens.Code => t.type === 'code')
    .filter((t) => (t.lang ?? '').trim().split(/\s+/).slice(1).includes('run'))
    .map((t) => t.text);
}
