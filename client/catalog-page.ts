// The catalog page: one card per lab with its length and the learner's progress.
import { api, type LabSummary } from './api.ts';
import { h } from './dom.ts';
import { appPath } from './paths.ts';

export function topBar(...right: (Node | string)[]): HTMLElement {
  return h('header', { class: 'topbar' }, h('a', { class: 'brand', attrs: { href: appPath('/') } }, h('span', { class: 'brand-mark', text: '▌' }), 'labrun'), ...right);
}

function card(lab: LabSummary): HTMLElement {
  const started = lab.currentStep !== null || lab.completedCount > 0;
  const done = lab.stepCount > 0 && lab.completedCount === lab.stepCount;
  const bar = h('div', { class: 'progress-bar', attrs: { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(lab.stepCount), 'aria-valuenow': String(lab.completedCount) } }, h('div', { class: 'progress-fill' }));
  const fill = bar.firstElementChild;
  // CSSOM, not a style attribute: the page's CSP allows the former only.
  if (fill instanceof HTMLElement) fill.style.width = `${lab.stepCount ? (100 * lab.completedCount) / lab.stepCount : 0}%`;
  return h(
    'a',
    { class: `lab-card${done ? ' is-done' : ''}`, attrs: { href: appPath(`/labs/${encodeURIComponent(lab.id)}`), 'data-lab': lab.id } },
    h('h2', { text: lab.title }),
    h('p', { class: 'summary', text: lab.summary }),
    h('p', { class: 'meta', text: `about ${lab.minutes} min · ${lab.stepCount} step${lab.stepCount === 1 ? '' : 's'}` }),
    bar,
    h(
      'div',
      { class: 'card-foot' },
      h('span', { class: 'progress-text', text: done ? 'Completed ✓' : `${lab.completedCount} of ${lab.stepCount} done` }),
      h('span', { class: 'button primary', text: done ? 'Review' : started ? 'Continue →' : 'Start →' }),
    ),
  );
}

export async function renderCatalog(root: HTMLElement): Promise<void> {
  document.title = 'Labs · labrun';
  const labs = await api.labs();
  root.replaceChildren(
    topBar(),
    h(
      'main',
      { class: 'catalog' },
      h('h1', { text: 'Labs' }),
      h('p', { class: 'lede', text: 'Hands-on lessons with a real terminal. Each lab runs in its own sandbox with Docker inside, so nothing you do touches this machine.' }),
      labs.length
        ? h('div', { class: 'cards' }, ...labs.map(card))
        : h('p', { class: 'empty', text: 'No labs found. Put lab folders in the --labs directory and restart labrun.' }),
    ),
  );
}
