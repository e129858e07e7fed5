// The join page (/join/<code>): the learner sees which class and lab they are joining, types the
// name the instructor will see, and lands in the lab with a sandbox of their own. A browser that
// already joined this class continues as the same learner.
import { api, ApiError } from './api.ts';
import { topBar } from './catalog-page.ts';
import { h } from './dom.ts';
import { appPath } from './paths.ts';

export async function renderJoin(root: HTMLElement, code: string): Promise<void> {
  document.title = 'Join a class · labrun';
  const card = h('section', { class: 'join-card' });
  root.replaceChildren(topBar(), h('main', { class: 'join' }, card));
  let info;
  try {
    info = await api.joinInfo(code);
  } catch (err) {
    card.replaceChildren(
      h('h1', { text: 'No such class' }),
      h('p', { class: 'error-text', text: err instanceof ApiError ? err.message : String(err) }),
      h('p', { text: 'Check the code with your instructor.' }),
    );
    return;
  }
  const labUrl = appPath(`/labs/${encodeURIComponent(info.labId)}`);
  const head = [h('p', { class: 'step-kicker', text: `Join code ${code.toUpperCase()}` }), h('h1', { text: info.className }), h('p', { class: 'lede', text: info.labTitle })];

  if (info.ended) {
    card.replaceChildren(...head, h('p', { class: 'notice-box', text: 'This class has ended.' }));
    return;
  }
  if (info.you) {
    const go = h('button', { class: 'button primary', text: `Continue as ${info.you.name} →`, attrs: { type: 'button', 'data-action': 'continue' } });
    go.addEventListener('click', () => {
      go.disabled = true;
      api.join(code, info.you?.name ?? '').then(() => location.assign(labUrl), () => location.assign(labUrl));
    });
    card.replaceChildren(...head, h('p', { text: 'You already joined this class in this browser.' }), go);
    return;
  }
  if (!info.joinOpen) {
    card.replaceChildren(...head, h('p', { class: 'notice-box', text: 'This class is not taking new learners right now. Ask your instructor to open it.' }));
    return;
  }
  const input = h('input', { attrs: { type: 'text', name: 'name', id: 'join-name', autocomplete: 'name', maxlength: '40', required: '', placeholder: 'e.g. Ada Lovelace' } });
  const submit = h('button', { class: 'button primary', text: 'Join →', attrs: { type: 'submit' } });
  const error = h('p', { class: 'error-text', attrs: { role: 'alert' } });
  const form = h(
    'form',
    { class: 'join-form' },
    h('label', { attrs: { for: 'join-name' }, text: 'Your name, as the instructor will see it' }),
    h('div', { class: 'join-row' }, input, submit),
    error,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    api.join(code, input.value).then(
      () => location.assign(labUrl),
      (err: unknown) => {
        submit.disabled = false;
        error.textContent = err instanceof Error ? err.message : String(err);
      },
    );
  });
  card.replaceChildren(...head, form, h('p', { class: 'muted small', text: 'You get your own sandbox: a small Linux machine with Docker, just for you, for the length of the class.' }));
  input.focus();
}
