// The lesson page: step list, the step's markdown (server-sanitized HTML), Copy/Run buttons on code,
// questions, the Check button with results, and the learner's workspace beside it — terminal tabs
// (and whatever other panels plug into it), a status line for the sandbox and the terminal in front,
// terminal settings and, on touch screens, a key bar. The current step and the tabs are saved on the
// server, so a reload returns to them.
import { api, wsUrl, type LabView, type SessionStatus, type StepView } from './api.ts';
import { parseClassEvent } from '../shared/classroom-events.ts';
import { renderResults } from './check-results.ts';
import { topBar } from './catalog-page.ts';
import { h } from './dom.ts';
import { appPath } from './paths.ts';
import { installDivider } from './divider.ts';
import type { TerminalStatus } from './terminal/mount-terminal.ts';
import { TerminalPrefsStore } from './terminal/terminal-prefs.ts';
import { terminalSettings } from './terminal/terminal-settings.ts';
import { TerminalTabs } from './workspace/terminal-tabs.ts';
import { addWorkspacePanels } from './workspace/workspace-panels.ts';
import { Workspace } from './workspace/workspace.ts';
import { mountTopology } from './topology/topology-panel.ts';
import { recordingBadge } from './recording/recordings-view.ts';

/** How often the page asks for the sandbox's progress while it starts: smooth enough for a seconds counter. */
const SESSION_POLL_MS = 700;
/** How long a refused action's message stays in the status line. */
const NOTICE_MS = 8000;
/** How long "Copied" shows on a Copy button. */
const COPIED_FEEDBACK_MS = 1200;
/** What Ctrl-C sends on a terminal (ETX): a Run block marked `interrupt` types it first. */
const CTRL_C = '\x03';

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
  const workspace = new Workspace({
    label: 'Workspace',
    onActivate: (tab, title) => void api.setActiveTab(lab.id, tab, title).catch(() => undefined),
    onError: (message) => showNotice(message),
  });
  const prefs = new TerminalPrefsStore();
  const terminalPane = h('section', { class: 'terminal-pane', attrs: { 'aria-label': 'Workspace' } }, statusLine, workspace.element);
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
  let actionNotice: string | undefined;
  let terminalClosed = false;
  const paintStatus = (): void => {
    const text = sessionMsg ?? terminalMsg;
    const notes = [notice, actionNotice].filter((n): n is string => n !== undefined);
    statusLine.replaceChildren(...(text ? [h('span', { text })] : []), ...notes.map((n) => h('span', { class: 'notice', text: n })));
    statusLine.classList.toggle('is-empty', !text && notes.length === 0);
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

  const onTerminalStatus = (s: TerminalStatus | undefined): void => {
    terminalMsg = s ? terminalStatusText(s) : null;
    // Closed for good (e.g. the sandbox was stopped): the close reason is the news, not the session's state.
    terminalClosed = s?.state === 'closed';
    if (s && (terminalMsg === null || terminalClosed)) sessionMsg = null;
    else if (s) startPolling();
    paintStatus();
  };
  let noticeTimer: ReturnType<typeof setTimeout> | undefined;
  /** A refused tab action or clipboard access: shown in the status line for a while. */
  const showNotice = (message: string): void => {
    actionNotice = message;
    paintStatus();
    if (noticeTimer !== undefined) clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      if (actionNotice === message) actionNotice = undefined;
      paintStatus();
    }, NOTICE_MS);
  };
  const terminals = new TerminalTabs({ labId: lab.id, workspace, prefs, onStatus: onTerminalStatus, onError: showNotice });
  workspace.addTool(terminalSettings(prefs));
  const keyBarHost = terminals.keyBar.element;
  const paintKeyBar = (): void => {
    keyBarHost.classList.toggle('is-hidden-panel', !prefs.keyBarShown);
  };
  prefs.subscribe(paintKeyBar);
  matchMedia('(pointer: coarse)').addEventListener('change', paintKeyBar);
  paintKeyBar();
  terminalPane.append(keyBarHost);
  const panels = addWorkspacePanels(workspace, lab.id);
  // The live picture of the learner's own stack, after their terminal tabs.
  const TOPOLOGY_TAB = 'topology';
  terminals
    .load()
    .catch((err: unknown) => showNotice(`Could not load your terminal tabs: ${err instanceof Error ? err.message : String(err)}`))
    .finally(() => {
      const view = { dispose: (): void => {} };
      workspace.addPanel({
        id: TOPOLOGY_TAB,
        title: 'Network',
        mount: (el) => {
          el.classList.add('topo-host');
          view.dispose = mountTopology(el, { labId: lab.id }).dispose;
          return view;
        },
      });
    });
  const fitFront = (): void => {
    const id = workspace.activeId;
    if (id !== undefined) workspace.handleOf(id)?.shown?.();
  };
  installDivider(layout, divider, fitFront);

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

  /** Types a block into the terminal; `interrupt`: Ctrl-C first, ending what an earlier block left running. */
  const runInTerminal = (command: string, interrupt: boolean, terminalId?: string): void => {
    void terminals.run(terminalId, `${interrupt ? CTRL_C : ''}${command.replace(/\n/g, '\r')}\r`);
  };

  const decorateCode = (container: HTMLElement): void => {
    // Inline commands marked runnable (`<code data-run>`): a small Run button after the code.
    for (const code of container.querySelectorAll<HTMLElement>('code[data-run]')) {
      if (code.closest('pre')) continue;
      const run = h('button', {
        class: 'code-btn run inline-run',
        text: '▶',
        attrs: { type: 'button', 'aria-label': `Run ${code.textContent ?? ''} in terminal`, title: 'Run in terminal' },
        on: { click: () => runInTerminal(code.textContent ?? '', code.hasAttribute('data-interrupt')) },
      });
      code.after(run);
    }
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
            attrs: { type: 'button', 'aria-label': pre.hasAttribute('data-terminal') ? `Run in terminal ${pre.getAttribute('data-terminal') ?? ''}` : 'Run in terminal' },
            on: {
              click: () => runInTerminal(text(), pre.hasAttribute('data-interrupt'), pre.getAttribute('data-terminal') ?? undefined),
            },
          }),
        );
      }
      const lang = pre.getAttribute('data-lang') ?? '';
      const target = pre.getAttribute('data-terminal');
      const where = target === null ? null : h('span', { class: 'code-terminal', text: /^\d+$/.test(target) ? `terminal ${target}` : target, attrs: { title: 'Run types this into that terminal tab, opening it if needed' } });
      const bar = h('div', { class: 'code-bar' }, h('span', { class: 'code-lang' }, lang, where), actions);
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
        workspace.activate(TOPOLOGY_TAB);
      });
    }
    // Relative images are the lab's own (its assets/ folder).
    for (const img of content.querySelectorAll('img')) {
      const src = img.getAttribute('src') ?? '';
      if (src && !/^(?:[a-z][a-z0-9+.-]*:|\/|#)/i.test(src)) img.src = appPath(`/api/labs/${encodeURIComponent(lab.id)}/assets/${src}`);
    }
    panels.decorateLinks(content);

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
      // History replays on every connection: show only what is newer than what this page showed.
      // The class header says whether the instructor records this class's terminals.
      if (e?.type === 'class') onRecording(e.class.recording && e.class.endedAt === null);
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
