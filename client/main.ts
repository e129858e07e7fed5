// The browser entry point: picks the page from the path (`/` = catalog, `/labs/<id>` = lesson).
import './styles.css';
import '@xterm/xterm/css/xterm.css';
import { renderCatalog } from './catalog-page.ts';
import { h } from './dom.ts';
import { renderLesson } from './lesson-page.ts';
import { mirrorXtermStyles } from './xterm-styles.ts';

async function main(): Promise<void> {
  const root = document.getElementById('app');
  if (!root) throw new Error('index.html has no #app element');
  mirrorXtermStyles();
  const lesson = /^\/labs\/([^/]+)\/?$/.exec(location.pathname);
  try {
    if (lesson?.[1]) await renderLesson(root, decodeURIComponent(lesson[1]));
    else await renderCatalog(root);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const hint = err instanceof Error && 'hint' in err && typeof err.hint === 'string' ? err.hint : 'Reload the page; if it persists, look at the labrun server output.';
    root.replaceChildren(
      h('main', { class: 'plain' }, h('h1', { text: 'Something went wrong' }), h('p', { class: 'error-text', text: message }), h('p', { text: hint })),
    );
  }
}

void main();
