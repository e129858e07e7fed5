// The browser entry point: picks the page from the path (`/` = catalog, `/labs/<id>` = lesson,
// `/join/<code>` = join a class, `/instructor` = classes, `/instructor/classes/<id>` = live board).
import './styles.css';
import '@xterm/xterm/css/xterm.css';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { renderCatalog } from './catalog-page.ts';
import { h } from './dom.ts';
import { renderBoard } from './board-page.ts';
import { renderInstructor } from './instructor-page.ts';
import { renderJoin } from './join-page.ts';
import { renderLesson } from './lesson-page.ts';
import { routePath } from './paths.ts';
import { mirrorXtermStyles } from './xterm-styles.ts';

async function main(): Promise<void> {
  const root = document.getElementById('app');
  if (!root) throw new Error('index.html has no #app element');
  mirrorXtermStyles();
  const route = routePath();
  const lesson = /^\/labs\/([^/]+)\/?$/.exec(route);
  const join = /^\/join\/([^/]+)\/?$/.exec(route);
  const board = /^\/instructor\/classes\/([^/]+)\/?$/.exec(route);
  try {
    if (lesson?.[1]) await renderLesson(root, decodeURIComponent(lesson[1]));
    else if (join?.[1]) await renderJoin(root, decodeURIComponent(join[1]));
    else if (board?.[1]) await renderBoard(root, decodeURIComponent(board[1]));
    else if (/^\/instructor\/?$/.test(route)) await renderInstructor(root);
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
