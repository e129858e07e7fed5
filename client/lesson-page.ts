// The lesson page: step list, the step's markdown (server-sanitized HTML), Copy/Run buttons on code,
// questions, the Check button with results, and the learner's terminal beside it with a status line
// for the sandbox and the connection. The current step is saved on the server, so a reload returns to it.
import { api, wsUrl, type LabView, type SessionStatus, type StepView } from './api.ts';
import { parseClassEvent } from '../shared/classroom-events.ts';
import { renderResults } from './check-results.ts';
import { topBar } from './catalog-page.ts';
import { h } from './dom.ts';
import { appPath } from './paths.ts';
import { installDivider } from './divider.ts';
import { mountTerminal, type TerminalHandle, type TerminalStatus } from './terminal/mount-terminal.ts';
import { mountTopology } from './topology/topology-panel.ts';
import { paneSwitch } from './topology/pane-switch.ts';
import { recordingBadge } from './recording/recordings-view.ts';

/** How often the page asks for the sandbox's progress while it starts: smooth enough for a seconds counter. */
const SESSION_POLL_MS = 700;
/** How long "Copied" shows on a Copy button. */
const COPIED_FEEDBACK_MS = 1200;

const SANDBOX_STEP_TEXT: Record<string, string> = {
  network: 'creating its network',
  volume: 'creating its disk',
  disk: 'creating its disk',
  container: 'creating the container',
  daemon: 'starting Docker inside it',
  images: 'loading images',
  files: 'copying the lab files',
  ready: 'ready',
};

function sessionText(s: SessionStatus): string | null {
  if (s.state === 'waiting') return 'Waiting for a seat…';
  if (s.state === 'failed') return `Your sandbox could not start: ${s.error ?? 'unknown error'}${s.hint ? ` — ${s.hint}` : ''}`;
  if (s.state === 'ready') return null;
  if (!s.progress) return 'Starting your sandbox…';
  const what = SANDBOX_STEP_TEXT[s.progress.step] ?? s.progress.message;
  return `Starting your sandbox… ${what} (${(s.progress.elapsedMs / 1000).toFixed(1)} s)`;
}

export async function renderLesson(root: HTMLElement, labId: string): Promise<void> {
  const lab: LabView = await api.lab(labId);
  document.title = `${lab.title} · labrun`;
  const completed = new Set(lab.progress.completedSteps);
  let index = Math.max(0, lab.steps.findIndex((s) => s.id === lab.progress.currentStep));

  const progressText = h('span', { class: 'topbar-progress' });
  const recording = recordingBadge(lab.id);
  const stepList = h('ol', { class: 'step-list' });
  const article = h('article', { class: 'step' });
  const lessonPane = h('section', { class: 'lesson-pane', attrs: { 'aria-label': 'Lesson' } }, h('nav', { class: 'steps', attrs: { 'aria-label': 'Steps' } }, stepList), article);
  const statusLine = h('div', { class: 'term-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  const termHost = h('div', { class: 'term-host' });
  // ---- topology view beside the terminal (the workspace's tab strip takes these over) ----
  const topoHost = h('div', { class: 'topo-host is-hidden-panel' });
  const panes = paneSwitch(
    [
      { id: 'terminal', title: 'Terminal', onShow: () => terminal.fit() },
      { id: 'topology', title: 'Network', mount: (el) => mountTopology(el, { labId: lab.id }) },
    ],
    new Map([
      ['terminal', termHost],
      ['topology', topoHost],
    ]),
  );
  const terminalPane = h('section', { class: 'terminal-pane', attrs: { 'aria-label': 'Terminal' } }, panes.bar, statusLine, termHost, topoHost);
  const divider = h('div', { class: 'divider', attrs: { role: 'separator', 'aria-orientation': 'vertical', 'aria-label': 'Resize panes', tabindex: '0' } });
  const layout = h('div', { class: 'lesson' }, lessonPane, divider, terminalPane);
  const banner = h('div', { class: 'broadcast-banner is-hidden-panel', attrs: { role: 'status', 'aria-live': 'assertive' } });
  // A learner must know when their sandbox is not a boundary (the server runs --isolation=trusted).
  const isolationWarning =
    lab.isolation === 'trusted'
      ? [h('div', { class: 'isolation-warning', attrs: { role: 'note' }, text: 'This sandbox is not isolated from the server: what you run here can affect the machine labrun runs on.' })]
      : [];
  root.replaceChildren(
    topBar(h('nav', { class: 'crumbs' }, h('a', { attrs: { href: appPath('/') }, text: 'Labs' }), h('span', { class: 'sep', text: '/' }), h('span', { text: lab.title })), recording.el, progressText),
    ...isolationWarning,
    banner,
    layout,
  );
  void listenForBroadcasts(banner, recording.update);
  listenForSessionNotices(banner);

  // ---- status line: the sandbox's progress while it starts, then the connection's state ----
  let sessionMsg: string | null = 'Starting your sandbox…';
  let terminalMsg: string | null = null;
  let notice: string | undefined;
  let terminalClosed = false;
  const paintStatus = (): void => {
    const text = sessionMsg ?? terminalMsg;
    statusLine.replaceChildren(...(text ? [h('span', { text })] : []), ...(notice ? [h('span', { class: 'notice', text: notice })] : []));
    statusLine.classList.toggle('is-empty', !text && !notice);
    statusLine.classList.toggle('is-error', /could not|failed|lost/i.test(text ?? ''));
  };
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  const poll = async (): Promise<void> => {
    pollTimer = undefined;
    try {
      const s = await api.session(lab.id);
      if (terminalClosed) return;
      sessionMsg = sessionText(s);
      notice = s.notice;
      paintStatus();
      if (s.state === 'starting' || s.state === 'none' || s.state === 'waiting') pollTimer = setTimeout(() => void poll(), SESSION_POLL_MS);
    } catch {
      pollTimer = setTimeout(() => void poll(), SESSION_POLL_MS * 3);
    }
  };
  const startPolling = (): void => {
    if (pollTimer === undefined) void poll();
  };
  paintStatus();

  const terminal: TerminalHandle = mountTerminal(termHost, {
    url: wsUrl(`/ws/terminal?lab=${encodeURIComponent(lab.id)}`),
    onStatus: (s: TerminalStatus) => {
      terminalMsg = terminalStatusText(s);
      // Closed for good (e.g. the sandbox was stopped): the close reason is the news, not the session's state.
      terminalClosed = s.state === 'closed';
      if (terminalMsg === null || terminalClosed) sessionMsg = null;
      else startPolling();
      paintStatus();
    },
  });
  installDivider(layout, divider, () => terminal.fit());
  panes.show('terminal');

  // ---- steps ----
  const paintProgress = (): void => {
    const n = lab.steps.filter((s) => completed.has(s.id)).length;
    progressText.textContent = `${n} of ${lab.steps.length} steps done`;
  };
  const paintStepList = (): void => {
    stepList.replaceChildren(
      ...lab.steps.map((s, i) =>
        h(
          'li',
          { class: [completed.has(s.id) ? 'done' : '', i === index ? 'current' : ''].filter(Boolean).join(' ') },
          h(
            'button',
            {
              attrs: {
                type: 'button',
                'data-step': s.id,
                title: `${i + 1}. ${s.title}${completed.has(s.id) ? ' (done)' : ''}`,
                'aria-label': `Step ${i + 1}: ${s.title}${completed.has(s.id) ? ', done' : ''}`,
                ...(i === index && { 'aria-current': 'step' }),
              },
              on: { click: () => void go(i) },
            },
            h('span', { class: 'step-num', text: completed.has(s.id) ? '✓' : String(i + 1) }),
            i === index ? h('span', { class: 'step-title', text: s.title }) : null,
          ),
        ),
      ),
    );
    paintProgress();
  };

  const decorateCode = (container: HTMLElement): void => {
    for (const pre of container.querySelectorAll('pre')) {
      const code = pre.querySelector('code') ?? pre;
      const text = (): string => (code.textContent ?? '').replace(/\n+$/, '');
      const copy = h('button', { class: 'code-btn', text: 'Copy', attrs: { type: 'button', 'aria-label': 'Copy code' } });
      copy.addEventListener('click', () => {
        void navigator.clipboard.writeText(text()).then(
          () => {
            copy.textContent = 'Copied';
            setTimeout(() => (copy.textContent = 'Copy'), COPIED_FEEDBACK_MS);
          },
          () => {
            copy.textContent = 'Select & copy';
            getSelection()?.selectAllChildren(code);
          },
        );
      });
      const actions = h('div', { class: 'code-actions' }, copy);
      if (pre.hasAttribute('data-run')) {
        actions.append(
          h('button', {
            class: 'code-btn run',
            text: '▶ Run',
            attrs: { type: 'button', 'aria-label': 'Run in terminal' },
            on: {
              click: () => {
                terminal.sendInput(`${text().replace(/\n/g, '\r')}\r`);
                terminal.focus();
              },
            },
          }),
        );
      }
      const lang = pre.getAttribute('data-lang') ?? '';
      const bar = h('div', { class: 'code-bar' }, h('span', { class: 'code-lang', text: lang }), actions);
      const block = h('div', { class: 'code-block' });
      pre.replaceWith(block);
      block.append(bar, pre);
    }
  };

  const renderStep = (step: StepView): void => {
    const content = h('div', { class: 'markdown' });
    // Sanitized on the server with DOMPurify when the lab was loaded; inserted as is by design.
    content.innerHTML = step.html;
    // Authors often open the body with the step's title as a heading; the page already shows it.
    const first = content.firstElementChild;
    if (first && /^H[12]$/.test(first.tagName) && first.textContent?.trim() === step.title.trim()) first.remove();
    decorateCode(content);
    // A lesson points at the picture with a `topology:` link (see docs/lab-format.md).
    for (const a of content.querySelectorAll('a[data-panel="topology"]')) {
      a.addEventListener('click', (e) => {
        e.preventDefault();
        panes.show('topology');
      });
    }

    const answers = new Map<string, HTMLInputElement>();
    const questions = step.questions.length
      ? h(
          'fieldset',
          { class: 'questions' },
          h('legend', { text: 'Your answers' }),
          ...step.questions.map((q) => {
            const input = h('input', { attrs: { type: 'text', name: q.id, id: `q-${q.id}`, autocomplete: 'off', spellcheck: 'false' } });
            answers.set(q.id, input);
            return h('label', { class: 'question', attrs: { for: `q-${q.id}` } }, h('span', { text: q.prompt }), input);
          }),
        )
      : null;

    const results = h('div', { class: 'results-host' });
    const nextBtn = h('button', { class: 'button primary', text: index + 1 < lab.steps.length ? 'Next step →' : 'Back to labs', attrs: { type: 'button', 'data-action': 'next' }, on: { click: () => void (index + 1 < lab.steps.length ? go(index + 1) : location.assign(appPath('/'))) } });
    const checkBtn = h('button', { class: 'button check', text: 'Check', attrs: { type: 'button', 'data-action': 'check' } });
    checkBtn.addEventListener('click', () => {
      checkBtn.disabled = true;
      checkBtn.textContent = 'Checking…';
      const given = Object.fromEntries([...answers].map(([id, el]) => [id, el.value.trim()]));
      api
        .check(lab.id, step.id, given)
        .then((r) => {
          results.replaceChildren(renderResults(r));
          for (const id of r.completedSteps) completed.add(id);
          paintStepList();
          paintFooter();
          if (r.passed) nextBtn.focus();
          results.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
        })
        .catch((err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          const hint = err instanceof Error && 'hint' in err && typeof err.hint === 'string' ? err.hint : undefined;
          results.replaceChildren(h('section', { class: 'results failed' }, h('strong', { text: `The check could not run: ${message}` }), hint ? h('p', { text: hint }) : null));
        })
        .finally(() => {
          checkBtn.disabled = false;
          checkBtn.textContent = 'Check';
        });
    });

    const footer = h('div', { class: 'step-footer' });
    const paintFooter = (): void => {
      const done = completed.has(step.id);
      footer.replaceChildren(
        h('button', { class: 'button', text: '← Previous', attrs: { type: 'button', ...(index === 0 && { disabled: '' }) }, on: { click: () => void go(index - 1) } }),
        h('span', { class: `done-badge${done ? '' : ' is-hidden'}`, text: '✓ Step done' }),
        step.checkCount > 0 && !done ? checkBtn : nextBtn,
        ...(step.checkCount > 0 && done ? [checkBtn] : []),
      );
      if (step.checkCount > 0 && done) checkBtn.classList.add('secondary');
    };
    paintFooter();

    const hints = step.hints.length
      ? h('details', { class: 'hints' }, h('summary', { text: step.hints.length === 1 ? 'Need a hint?' : `Need a hint? (${step.hints.length})` }), h('ul', {}, ...step.hints.map((t) => h('li', { text: t }))))
      : null;

    article.replaceChildren(
      ...[
        h('p', { class: 'step-kicker', text: `Step ${index + 1} of ${lab.steps.length}` }),
        h('h1', { text: step.title }),
        content,
        questions,
        hints,
        results,
        footer,
      ].filter((n) => n !== null),
    );
    lessonPane.scrollTop = 0;
  };

  const go = async (i: number): Promise<void> => {
    const step = lab.steps[i];
    if (!step) return;
    index = i;
    paintStepList();
    renderStep(step);
    try {
      await api.setCurrentStep(lab.id, step.id);
    } catch {
      // Not fatal: the step still shows; the server log says why saving failed.
    }
  };

  startPolling();
  await go(index);
}

/** Wait before reopening a lost broadcast stream. */
const BROADCAST_RECONNECT_MS = 5000;
/** When this page loaded: broadcasts sent before it are history, not news. */
const loadedAt = Date.now();

/**
 * A classroom learner's page shows the instructor's broadcasts in a banner, live over the class's
 * event stream, and whether their terminal is being recorded.
 */
async function listenForBroadcasts(banner: HTMLElement, onRecording: (on: boolean) => void): Promise<void> {
  const me = await api.me().catch(() => null);
  if (!me?.class) return;
  const classId = me.class.id;
  let seen = 0;
  const connect = (): void => {
    const ws = new WebSocket(wsUrl(`/ws/events?class=${encodeURIComponent(classId)}`));
    ws.onmessage = (ev: MessageEvent<unknown>) => {
      const e = parseClassEvent(typeof ev.data === 'string' ? ev.data : '');
      // The class header says whether the instructor records this class's terminals.
      if (e?.type === 'class') onRecording(e.class.recording && e.class.endedAt === null);
      // History replays on every connection: show only what is newer than what this page showed.
      if (e?.type !== 'broadcast' || e.at <= seen) return;
      seen = e.at;
      if (e.at < loadedAt) return;
      banner.replaceChildren(
        h('span', { class: 'broadcast-from', text: 'From your instructor:' }),
        h('span', { class: 'broadcast-text', text: e.message }),
        h('button', { class: 'button', text: 'OK', attrs: { type: 'button' }, on: { click: () => banner.classList.add('is-hidden-panel') } }),
      );
      banner.classList.remove('is-hidden-panel');
    };
    ws.onclose = (ev) => {
      if (ev.code !== 1000) setTimeout(connect, BROADCAST_RECONNECT_MS);
    };
  };
  connect();
}

/**
 * The learner's own session notices (every mode): an idle warning, their sandbox stopped, the
 * instructor extending or ending their session — shown in the banner. Typing dismisses the idle
 * warning, since typing is what keeps the sandbox.
 */
function listenForSessionNotices(banner: HTMLElement): void {
  let warningShown = false;
  document.addEventListener(
    'keydown',
    () => {
      if (!warningShown) return;
      warningShown = false;
      banner.classList.add('is-hidden-panel');
    },
    { capture: true },
  );
  const connect = (): void => {
    const ws = new WebSocket(wsUrl('/ws/events'));
    ws.onmessage = (ev: MessageEvent<unknown>) => {
      const e = parseClassEvent(typeof ev.data === 'string' ? ev.data : '');
      if (e?.type !== 'session') return;
      warningShown = e.kind === 'idle-warning';
      banner.replaceChildren(
        h('span', { class: 'broadcast-from', text: 'Your sandbox:' }),
        h('span', { class: 'broadcast-text', attrs: { 'data-session-notice': e.kind }, text: e.message }),
        h('button', { class: 'button', text: 'OK', attrs: { type: 'button' }, on: { click: () => banner.classList.add('is-hidden-panel') } }),
      );
      banner.classList.remove('is-hidden-panel');
    };
    ws.onclose = (ev) => {
      if (ev.code !== 1000) setTimeout(connect, BROADCAST_RECONNECT_MS);
    };
  };
  connect();
}

function terminalStatusText(s: TerminalStatus): string | null {
  switch (s.state) {
    case 'open':
      return s.readOnly ? 'Watching (read-only)' : null;
    case 'connecting':
      return s.attempt === 0 ? 'Connecting to your terminal…' : 'Reconnecting…';
    case 'reconnecting':
      return `Connection lost${s.reason ? ` (${s.reason})` : ''}. Reconnecting in ${Math.max(1, Math.round(s.retryInMs / 1000))} s…`;
    case 'exited':
      return 'The shell exited. Press Enter in the terminal for a new one.';
    case 'closed':
      return `Terminal closed${s.reason ? `: ${s.reason}` : ''}. Reload the page to connect again.`;
  }
}
