// The instructor's live board (/instructor/classes/<id>): the join code and link, the warm pool's
// progress, a broadcast box, and a grid of learners × steps fed by the class's event stream (no
// polling): done, current, failing checks, time on the step, idle and stuck, and the workspace tab
// each learner has in front. Clicking a learner shows their terminal, live and read-only: by default
// the one they are in, following them as they switch tabs, or any other of their terminals.
import { api, wsUrl, type ClassView, type TerminalTab } from './api.ts';
import { DEFAULT_TERMINAL_ID } from '../shared/api.ts';
import { topBar } from './catalog-page.ts';
import { h } from './dom.ts';
import { appPath } from './paths.ts';
import { EMPTY_BOARD, terminalOfTab, cellState, isIdle, isStuck, parseClassEvent, reduceBoard, shortDuration, type BoardState, type LearnerRow } from '../shared/classroom-events.ts';
import { mountTerminal, type TerminalHandle } from './terminal/mount-terminal.ts';
import { mountTopology } from './topology/topology-panel.ts';
import { paneSwitch, type PaneSwitch } from './topology/pane-switch.ts';
import { mountRecordingsView } from './recording/recordings-view.ts';

/** Failing checks for this long on one step = stuck: long enough to have tried, short enough to help in time. */
const STUCK_AFTER_MS = 5 * 60_000;
/** No step change or check for this long = idle. */
const IDLE_AFTER_MS = 10 * 60_000;
/** Times on the board tick locally (no server round trip) at this pace. */
const CLOCK_TICK_MS = 5000;
/** Wait before reopening a lost event stream. */
const RECONNECT_MS = 2000;
/** What one "Extend" click grants on top of the idle TTL: about a long exercise's worth. */
const EXTEND_MINUTES = 30;

const SANDBOX_TEXT: Record<string, string> = { none: '—', waiting: 'waiting for a seat', starting: 'starting', ready: 'ready', failed: 'failed', ended: 'ended' };

/** The class's results as downloads (learner, step, done at, attempts, time on step): plain links, the browser saves the file. */
function resultLinks(classId: string): HTMLElement {
  const link = (format: 'csv' | 'json', text: string): HTMLElement =>
    h('a', { class: 'button', text, attrs: { href: appPath(`/api/classes/${encodeURIComponent(classId)}/results.${format}`), download: '', 'data-results': format } });
  return h('span', { class: 'results-links' }, h('span', { class: 'muted small', text: 'Results' }), link('csv', 'CSV'), link('json', 'JSON'));
}

export async function renderBoard(root: HTMLElement, classId: string): Promise<void> {
  const info: ClassView = await api.classInfo(classId);
  document.title = `${info.name} · board · labrun`;
  let state: BoardState = EMPTY_BOARD;
  let watching: { learnerId: string; terminal: string; handle: TerminalHandle } | undefined;
  /** Whether the watch view switches terminals when the learner does. */
  let follow = true;
  /** The watched learner's tab as last painted, so a switch is seen once. */
  let lastActiveTab: string | undefined;

  const title = h('h1', { text: info.name });
  const labLine = h('p', { class: 'lede', text: info.labTitle });
  const code = h('div', { class: 'join-code', attrs: { 'data-join-code': info.joinCode }, text: info.joinCode });
  const link = h('input', { class: 'join-link', attrs: { type: 'text', readonly: '', value: info.joinUrl, 'aria-label': 'Join link' } });
  const copy = h('button', { class: 'button', text: 'Copy link', attrs: { type: 'button' }, on: { click: () => void navigator.clipboard.writeText(info.joinUrl).then(() => (copy.textContent = 'Copied')) } });
  const joinToggle = h('button', { class: 'button', attrs: { type: 'button', 'data-action': 'toggle-join' } });
  const endBtn = h('button', { class: 'button danger', text: 'End class', attrs: { type: 'button', 'data-action': 'end-class' } });
  const recordBtn = h('button', { class: 'button', attrs: { type: 'button', 'data-action': 'toggle-recording', title: 'Record every learner\'s terminal (asciicast); learners see that it is on' } });
  const actionError = h('p', { class: 'error-text', attrs: { role: 'alert' } });

  const poolInput = h('input', { attrs: { type: 'number', min: '0', max: '500', value: '0', name: 'pool-size', 'aria-label': 'Expected learners' } });
  const poolBtn = h('button', { class: 'button', text: 'Prepare sandboxes', attrs: { type: 'button', 'data-action': 'prepare-pool' } });
  const poolText = h('p', { class: 'pool-text', attrs: { 'data-pool': '' } });
  const poolNote = h('p', { class: 'pool-text muted' });
  const poolBar = h('div', { class: 'progress-bar' }, h('div', { class: 'progress-fill' }));

  const message = h('input', { attrs: { type: 'text', name: 'broadcast', maxlength: '500', placeholder: 'A message shown to every learner, e.g. "Break until 11:00"' } });
  const sendBtn = h('button', { class: 'button', text: 'Send to all', attrs: { type: 'submit' } });
  const broadcastForm = h('form', { class: 'broadcast-form' }, message, sendBtn);
  const sentList = h('ul', { class: 'sent-list' });

  const grid = h('div', { class: 'board-grid' });
  const summary = h('p', { class: 'board-summary' });
  const watchTitle = h('strong');
  const resetSelect = h('select', { attrs: { name: 'reset-step', 'aria-label': 'Reset to step' } });
  const resetBtn = h('button', { class: 'button', text: 'Reset to step', attrs: { type: 'button', 'data-action': 'reset-learner', title: 'A fresh sandbox with every earlier step solved; progress is kept' } });
  const extendBtn = h('button', { class: 'button', text: `Extend ${EXTEND_MINUTES} min`, attrs: { type: 'button', 'data-action': 'extend-learner', title: 'Keep this learner\'s sandbox even if idle: their idle clock starts over with extra time' } });
  const endSessionBtn = h('button', { class: 'button', text: 'End session', attrs: { type: 'button', 'data-action': 'end-learner', title: 'Remove this learner\'s sandbox; their progress is kept' } });
  const watchHost = h('div', { class: 'term-host' });
  // Beside the watched terminal: the learner's network picture and their recordings (read-only).
  const watchTopoHost = h('div', { class: 'topo-host is-hidden-panel' });
  const watchRecHost = h('div', { class: 'rec-host is-hidden-panel' });
  const watchBar = h('div', { class: 'watch-views' });
  let views: PaneSwitch | undefined;
  const watchTab = h('span', { class: 'watch-tab', attrs: { 'data-watch-active': '' } });
  const watchTerminal = h('select', { attrs: { name: 'watch-terminal', 'aria-label': 'Terminal to watch' } });
  const followBox = h('input', { attrs: { type: 'checkbox', name: 'follow-tab', checked: '' } });
  const followLabel = h('label', { class: 'follow', attrs: { title: 'Switch to the terminal the learner switches to' } }, followBox, h('span', { text: 'follow' }));
  const watchPanel = h(
    'section',
    { class: 'watch-panel is-hidden-panel', attrs: { 'aria-label': 'Learner terminal' } },
    h(
      'div',
      { class: 'watch-bar' },
      watchTitle,
      h('span', { class: 'muted', text: 'read-only, live' }),
      watchTab,
      watchTerminal,
      followLabel,
      h('span', { class: 'watch-actions' }, extendBtn, endSessionBtn, resetBtn, resetSelect, h('button', { class: 'button', text: 'Close', attrs: { type: 'button' }, on: { click: () => stopWatching() } })),
    ),
    watchBar,
    watchHost,
    watchTopoHost,
    watchRecHost,
  );

  root.replaceChildren(
    topBar(h('nav', { class: 'crumbs' }, h('a', { attrs: { href: appPath('/instructor') }, text: 'Classes' }), h('span', { class: 'sep', text: '/' }), h('span', { text: info.name }))),
    h(
      'main',
      { class: 'board' },
      h(
        'section',
        { class: 'board-head' },
        h('div', { class: 'board-title' }, title, labLine),
        h('div', { class: 'join-box' }, h('span', { class: 'muted small', text: 'Join code' }), code, h('div', { class: 'join-row' }, link, copy), h('div', { class: 'join-row' }, joinToggle, endBtn), h('div', { class: 'join-row' }, recordBtn), actionError),
        h('div', { class: 'pool-box' }, h('span', { class: 'muted small', text: 'Warm pool' }), h('div', { class: 'join-row' }, poolInput, poolBtn), poolBar, poolText, poolNote),
      ),
      h('section', { class: 'panel' }, h('h2', { text: 'Broadcast' }), broadcastForm, sentList),
      h('section', { class: 'panel' }, h('div', { class: 'board-grid-head' }, h('h2', { text: 'Learners' }), summary, resultLinks(classId)), grid),
      watchPanel,
    ),
  );

  const act = (p: Promise<unknown>): void => {
    actionError.textContent = '';
    p.catch((err: unknown) => {
      actionError.textContent = err instanceof Error ? err.message : String(err);
    });
  };
  joinToggle.addEventListener('click', () => act(api.setJoinOpen(classId, !(state.header?.joinOpen ?? info.joinOpen))));
  endBtn.addEventListener('click', () => {
    if (confirm('End the class? Every learner\'s sandbox and terminal recording is removed (download recordings first); their progress is kept.')) act(api.endClass(classId));
  });
  recordBtn.addEventListener('click', () => act(api.setRecording(classId, !(state.header?.recording ?? info.recording))));
  poolBtn.addEventListener('click', () => {
    const size = Number(poolInput.value);
    poolBtn.disabled = true;
    api
      .sizePool(classId, size, false)
      .catch(async (err: unknown) => {
        const text = err instanceof Error ? err.message : String(err);
        if (/not enough memory/.test(text) && confirm(`${text}\n\nPrepare anyway?`)) return api.sizePool(classId, size, true);
        throw err;
      })
      .then(
        (r) => (poolNote.textContent = `Memory: ${r.message}`),
        (err: unknown) => (actionError.textContent = err instanceof Error ? err.message : String(err)),
      )
      .finally(() => (poolBtn.disabled = false));
  });
  broadcastForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = message.value.trim();
    if (!text) return;
    act(api.broadcast(classId, text).then(() => (message.value = '')));
  });

  resetBtn.addEventListener('click', () => {
    const learnerId = watching?.learnerId;
    const step = state.header?.steps.find((s) => s.id === resetSelect.value);
    if (!learnerId || !step) return;
    if (!confirm(`Give ${watchTitle.textContent ?? 'this learner'} a fresh sandbox at step "${step.title}"? Their containers and files are replaced; their progress is kept.`)) return;
    resetBtn.disabled = true;
    resetBtn.textContent = 'Resetting…';
    act(
      api.resetLearner(classId, learnerId, step.id).finally(() => {
        resetBtn.disabled = false;
        resetBtn.textContent = 'Reset to step';
      }),
    );
  });

  extendBtn.addEventListener('click', () => {
    const learnerId = watching?.learnerId;
    if (learnerId) act(api.extendLearner(classId, learnerId, EXTEND_MINUTES));
  });
  endSessionBtn.addEventListener('click', () => {
    const learnerId = watching?.learnerId;
    if (!learnerId) return;
    if (!confirm(`End ${watchTitle.textContent ?? 'this learner'}'s session? Their sandbox is removed; their progress is kept, and reloading their page starts a fresh one.`)) return;
    act(api.endLearner(classId, learnerId));
  });

  const stopWatching = (): void => {
    views?.dispose();
    views = undefined;
    watchBar.replaceChildren();
    watching?.handle.dispose();
    watching = undefined;
    lastActiveTab = undefined;
    watchPanel.classList.add('is-hidden-panel');
    paint();
  };
  /** Connects the watch view to one of the learner's terminals (read-only). */
  const watchTerminalOf = (learnerId: string, terminal: string): void => {
    watching?.handle.dispose();
    const handle = mountTerminal(watchHost, {
      url: wsUrl(`/ws/terminal?lab=${encodeURIComponent(info.labId)}&learner=${encodeURIComponent(learnerId)}&term=${encodeURIComponent(terminal)}`),
    });
    watching = { learnerId, terminal, handle };
    watchTerminal.value = terminal;
  };
  /** The learner's terminals, for the picker; the watched one stays selected. */
  const loadTerminals = async (learnerId: string): Promise<void> => {
    const tabs: TerminalTab[] = await api.terminals(info.labId, learnerId).then((t) => t.terminals, () => []);
    if (watching?.learnerId !== learnerId) return;
    const ids = new Set(tabs.map((t) => t.id));
    if (!ids.has(watching.terminal)) tabs.push({ id: watching.terminal, title: `Terminal ${watching.terminal}` });
    watchTerminal.replaceChildren(...tabs.map((t) => h('option', { attrs: { value: t.id }, text: t.title })));
    watchTerminal.value = watching.terminal;
  };
  watchTerminal.addEventListener('change', () => {
    if (!watching || watchTerminal.value === watching.terminal) return;
    // Picking a terminal by hand means: stay on it.
    follow = false;
    followBox.checked = false;
    watchTerminalOf(watching.learnerId, watchTerminal.value);
  });
  followBox.addEventListener('change', () => {
    follow = followBox.checked;
    lastActiveTab = undefined;
    paint();
  });
  /** Shows the watched learner's tab and, when following, moves to the terminal they are in. */
  const paintWatchedTab = (): void => {
    if (!watching) return;
    const row = state.learners.find((r) => r.learnerId === watching?.learnerId);
    const active = row?.activeTab ?? null;
    watchTab.textContent = active ? `in: ${active.title}` : '';
    watchTab.setAttribute('data-watch-active', active?.tab ?? '');
    if (!active || active.tab === lastActiveTab) return;
    lastActiveTab = active.tab;
    const terminal = terminalOfTab(active.tab);
    void loadTerminals(watching.learnerId);
    if (follow && terminal !== null && terminal !== watching.terminal) watchTerminalOf(watching.learnerId, terminal);
  };
  const watch = (row: LearnerRow): void => {
    stopWatching();
    watchTitle.textContent = row.name;
    resetSelect.replaceChildren(...(state.header?.steps ?? []).map((s, i) => h('option', { attrs: { value: s.id }, text: `${i + 1}. ${s.title}` })));
    if (row.currentStep) resetSelect.value = row.currentStep;
    watchPanel.classList.remove('is-hidden-panel');
    const terminal = (row.activeTab && terminalOfTab(row.activeTab.tab)) ?? DEFAULT_TERMINAL_ID;
    watchTerminal.replaceChildren(h('option', { attrs: { value: terminal }, text: `Terminal ${terminal}` }));
    watchTerminalOf(row.learnerId, terminal);
    lastActiveTab = row.activeTab?.tab;
    void loadTerminals(row.learnerId);
    let recordings: ReturnType<typeof mountRecordingsView> | undefined;
    views = paneSwitch(
      [
        { id: 'terminal', title: 'Terminal', onShow: () => watching?.handle.fit() },
        { id: 'topology', title: 'Network', mount: (el) => mountTopology(el, { labId: info.labId, learnerId: row.learnerId }) },
        { id: 'recordings', title: 'Recordings', mount: (el) => (recordings = mountRecordingsView(el, info.labId, row.learnerId)), onShow: () => recordings?.refresh() },
      ],
      new Map([
        ['terminal', watchHost],
        ['topology', watchTopoHost],
        ['recordings', watchRecHost],
      ]),
    );
    watchBar.replaceChildren(views.bar);
    views.show('terminal');
    paint();
    watchPanel.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  };

  const paint = (): void => {
    const now = Date.now();
    const header = state.header;
    const steps = header?.steps ?? [];
    const joinOpen = header?.joinOpen ?? info.joinOpen;
    const ended = (header?.endedAt ?? info.endedAt) !== null;
    joinToggle.textContent = joinOpen ? 'Close joining' : 'Open joining';
    joinToggle.disabled = ended;
    const recording = header?.recording ?? info.recording;
    recordBtn.textContent = recording ? '● Recording terminals — stop' : 'Record terminals';
    recordBtn.classList.toggle('is-recording', recording);
    recordBtn.disabled = ended;
    endBtn.disabled = ended;
    code.classList.toggle('is-closed', !joinOpen);
    if (ended) title.textContent = `${info.name} (ended)`;
    paintWatchedTab();

    const pool = state.pool;
    if (pool && pool.target > 0 && poolInput.value === '0' && document.activeElement !== poolInput) poolInput.value = String(pool.target);
    if (pool && pool.target > 0) {
      const ready = pool.ready + pool.assigned;
      poolText.textContent = `${ready}/${pool.target} ready · ${pool.assigned} seated · ${pool.preparing} preparing${pool.waiting ? ` · ${pool.waiting} waiting for a seat` : ''}${pool.failed ? ` · ${pool.failed} failed` : ''}${pool.message ? ` — ${pool.message}` : ''}`;
      const fill = poolBar.firstElementChild;
      if (fill instanceof HTMLElement) fill.style.width = `${Math.min(100, (100 * ready) / pool.target)}%`;
    } else poolText.textContent = 'No sandboxes prepared ahead: each learner\'s starts when they join.';

    sentList.replaceChildren(...state.broadcasts.slice(-3).reverse().map((b) => h('li', {}, h('span', { class: 'muted', text: new Date(b.at).toLocaleTimeString() }), ' ', b.message)));

    const stuck = state.learners.filter((r) => isStuck(r, now, STUCK_AFTER_MS)).length;
    const finished = state.learners.filter((r) => steps.length > 0 && steps.every((s) => r.done.includes(s.id))).length;
    summary.textContent = `${state.learners.length} joined · ${finished} finished${stuck ? ` · ${stuck} stuck` : ''}`;

    if (state.learners.length === 0) {
      grid.replaceChildren(h('p', { class: 'muted', text: `Nobody has joined yet. Learners open ${info.joinUrl} (or type the code ${info.joinCode}).` }));
      return;
    }
    const table = h(
      'table',
      { class: 'board-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { text: 'Learner' }),
          h('th', { text: 'Sandbox' }),
          h('th', { text: 'Tab' }),
          ...steps.map((s, i) => h('th', { class: 'step-col', text: String(i + 1), attrs: { title: s.title } })),
          h('th', { text: 'On step' }),
          h('th', { text: 'Failed checks' }),
        ),
      ),
      h(
        'tbody',
        {},
        ...state.learners.map((r) => {
          const rowStuck = isStuck(r, now, STUCK_AFTER_MS);
          const idle = isIdle(r, steps, now, IDLE_AFTER_MS);
          const failedHere = r.currentStep ? (r.failedChecks[r.currentStep] ?? 0) : 0;
          const failedAll = Object.values(r.failedChecks).reduce((a, b) => a + b, 0);
          return h(
            'tr',
            { class: [rowStuck ? 'is-stuck' : '', watching?.learnerId === r.learnerId ? 'is-watched' : ''].filter(Boolean).join(' '), attrs: { 'data-learner': r.learnerId } },
            h(
              'td',
              {},
              h(
                'div',
                { class: 'learner-cell' },
                h('button', { class: 'learner-name', text: r.name, attrs: { type: 'button', title: 'Watch their terminal' }, on: { click: () => watch(r) } }),
                rowStuck ? h('span', { class: 'pill stuck', text: 'stuck' }) : null,
                idle ? h('span', { class: 'pill idle', text: 'idle' }) : null,
              ),
            ),
            h('td', { class: `sandbox-cell is-${r.sandbox}`, text: SANDBOX_TEXT[r.sandbox] ?? r.sandbox }),
            h('td', { class: 'tab-cell', text: r.activeTab?.title ?? '—', attrs: { 'data-active-tab': r.activeTab?.tab ?? '', title: 'The workspace tab this learner has in front' } }),
            ...steps.map((s) => {
              const cell = cellState(r, s.id);
              const failed = r.failedChecks[s.id] ?? 0;
              return h('td', { class: `cell cell-${cell}`, attrs: { 'data-step': s.id, 'data-state': cell, title: `${s.title}: ${cell}${failed ? `, ${failed} failed check${failed === 1 ? '' : 's'}` : ''}` } }, cell === 'done' ? '✓' : cell === 'todo' ? '' : failed ? String(failed) : '•');
            }),
            h('td', { class: 'muted', text: r.stepSince !== null ? shortDuration(now - r.stepSince) : '—' }),
            h('td', { class: failedHere ? 'failed-count' : 'muted', text: failedAll ? `${failedHere} here · ${failedAll} total` : '0' }),
          );
        }),
      ),
    );
    grid.replaceChildren(table);
  };

  let frame = 0;
  const schedulePaint = (): void => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      paint();
    });
  };
  const connect = (): void => {
    const ws = new WebSocket(wsUrl(`/ws/events?class=${encodeURIComponent(classId)}`));
    // The server replays the class's history on every connection: start from an empty board.
    let fresh = true;
    ws.onmessage = (ev: MessageEvent<unknown>) => {
      const e = parseClassEvent(typeof ev.data === 'string' ? ev.data : '');
      if (!e) return;
      if (fresh) {
        state = EMPTY_BOARD;
        fresh = false;
      }
      state = reduceBoard(state, e);
      schedulePaint();
    };
    ws.onclose = () => setTimeout(connect, RECONNECT_MS);
  };
  connect();
  setInterval(paint, CLOCK_TICK_MS);
  paint();
}
