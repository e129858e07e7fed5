// The instructor's class list (/instructor): create a class for a lab, see the classes so far and
// open one's live board.
import { api, type ClassView } from './api.ts';
import { topBar } from './catalog-page.ts';
import { h } from './dom.ts';
import { appPath } from './paths.ts';

function classRow(c: ClassView): HTMLElement {
  const state = c.endedAt !== null ? 'ended' : c.joinOpen ? 'open' : 'closed';
  return h(
    'a',
    { class: `class-row is-${state}`, attrs: { href: appPath(`/instructor/classes/${encodeURIComponent(c.id)}`), 'data-class': c.id } },
    h('span', { class: 'class-name', text: c.name }),
    h('span', { class: 'class-lab', text: c.labTitle }),
    h('span', { class: 'class-code', text: c.joinCode }),
    h('span', { class: 'class-count', text: `${c.learnerCount} learner${c.learnerCount === 1 ? '' : 's'}` }),
    h('span', { class: `pill ${state}`, text: state === 'open' ? 'Joining open' : state === 'closed' ? 'Joining closed' : 'Ended' }),
  );
}

export async function renderInstructor(root: HTMLElement): Promise<void> {
  document.title = 'Classes · labrun';
  const [labs, classes] = await Promise.all([api.labs(), api.classes()]);
  const select = h('select', { attrs: { name: 'lab', id: 'class-lab' } }, ...labs.map((l) => h('option', { attrs: { value: l.id }, text: l.title })));
  const name = h('input', { attrs: { type: 'text', name: 'name', id: 'class-name', maxlength: '80', placeholder: 'e.g. Tuesday morning workshop' } });
  const submit = h('button', { class: 'button primary', text: 'Create class', attrs: { type: 'submit', 'data-action': 'create-class' } });
  const error = h('p', { class: 'error-text', attrs: { role: 'alert' } });
  const form = h(
    'form',
    { class: 'create-class' },
    h('label', { attrs: { for: 'class-lab' } }, h('span', { text: 'Lab' }), select),
    h('label', { attrs: { for: 'class-name' } }, h('span', { text: 'Class name (optional)' }), name),
    submit,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    api.createClass(select.value, name.value.trim()).then(
      (c) => location.assign(appPath(`/instructor/classes/${encodeURIComponent(c.id)}`)),
      (err: unknown) => {
        submit.disabled = false;
        error.textContent = err instanceof Error ? err.message : String(err);
      },
    );
  });
  root.replaceChildren(
    topBar(h('nav', { class: 'crumbs' }, h('span', { text: 'Instructor' }))),
    h(
      'main',
      { class: 'instructor' },
      h('h1', { text: 'Classes' }),
      h('p', { class: 'lede', text: 'Create a class for a lab, put its join link on the projector, and follow everyone on the live board. Each learner gets a sandbox of their own.' }),
      h('section', { class: 'panel' }, h('h2', { text: 'New class' }), form, error),
      h('section', { class: 'panel' }, h('h2', { text: 'Your classes' }), classes.length ? h('div', { class: 'class-list' }, ...classes.map(classRow)) : h('p', { class: 'muted', text: 'No classes yet.' })),
    ),
  );
}
