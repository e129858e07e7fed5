// Renders a step's markdown body to sanitized HTML, once, at load. Fenced code blocks become
// `<pre data-lang="…" [data-run]><code>…</code></pre>`; the info string `bash run` marks a block runnable
// (the client gives it a Run button that types its text into the terminal). Two link schemes open the
// workspace: `[open nginx](port:8080)` (also `port:9080@nginx_a`, `port:8080/path`) becomes a link to the
// port's preview, `[edit](file:netsvc.conf#L2)` one that opens the editor at that line; both are written
// as data attributes the client turns into links (the lesson's HTML is the same for every learner).
import { Marked, type Tokens } from 'marked';
import createDOMPurify from 'dompurify';
import { JSDOM } from 'jsdom';
import { escapeHtml } from '../common.ts';

const purify = createDOMPurify(new JSDOM('').window);


/** `port:8080`, `port:9080@nginx_a`, `port:8080/some/path?q` */
const PORT_LINK = /^port:(\d{1,5})(?:@([A-Za-z0-9][A-Za-z0-9_.-]*))?(\/.*)?$/;
/** `file:netsvc.conf`, `file:conf/site.conf#L12` */
const FILE_LINK = /^file:([^#]+)(?:#L(\d+))?$/;

const marked = new Marked({
  gfm: true,
  renderer: {
    link(token: Tokens.Link): string | false {
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
