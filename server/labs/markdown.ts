// Renders a step's markdown body to sanitized HTML, once, at load. Fenced code blocks become
// `<pre data-lang="…" [data-run]><code>…</code></pre>`; the info string `bash run` marks a block runnable
// (the client gives it a Run button that types its text into the terminal). A link to `topology:`
// becomes `<a data-panel="topology">`, which the lesson page makes open the topology panel.
import { Marked, type Tokens } from 'marked';
import createDOMPurify from 'dompurify';
import { JSDOM } from 'jsdom';
import { escapeHtml } from '../common.ts';

const purify = createDOMPurify(new JSDOM('').window);


/** The link target that switches the page to the topology panel: `[see the picture](topology:)`. */
export const TOPOLOGY_LINK = 'topology:';

const marked = new Marked({
  gfm: true,
  renderer: {
    link(token: Tokens.Link): string | false {
      if (token.href.trim() !== TOPOLOGY_LINK) return false;
      // Not a URL the sanitizer keeps: an in-page link the lesson page turns into "show the picture".
      return `<a href="#topology" class="panel-link" data-panel="topology">${this.parser.parseInline(token.tokens)}</a>`;
    },
    code(token: Tokens.Code): string {
      const [lang = '', ...flags] = (token.lang ?? '').trim().split(/\s+/);
      const langAttr = lang ? ` data-lang="${escapeHtml(lang)}"` : '';
      const runAttr = flags.includes('run') ? ' data-run' : '';
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
