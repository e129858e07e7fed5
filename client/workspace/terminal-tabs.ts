// The learner's terminal tabs in the workspace: one panel per terminal the server lists for the
// session (names and order come from there, so a reload or another browser shows the same), a +
// to open one, rename and close (closing ends its shell), and Run into a named tab, opening it
// first if need be. The touch key bar, the clipboard and the preferences apply to the tab in front.
import { api, wsUrl, type TerminalTab } from '../api.ts';
import { TERMINAL_TAB_PREFIX, terminalOfTab } from '../../shared/classroom-events.ts';
import { h } from '../dom.ts';
import { createKeyBar, type KeyBar } from '../terminal/key-bar.ts';
import { mountTerminal, type TerminalHandle, type TerminalStatus } from '../terminal/mount-terminal.ts';
import type { TerminalPrefsStore } from '../terminal/terminal-prefs.ts';
import type { Workspace } from './workspace.ts';

export interface TerminalTabsOptions {
  labId: string;
  workspace: Workspace;
  prefs: TerminalPrefsStore;
  /** The status of the terminal in front changed (or another one came to the front). */
  onStatus(s: TerminalStatus | undefined): void;
  /** A tab action was refused (the limit…) or the clipboard was: the page says so. */
  onError(message: string): void;
}

export const tabIdOf = (terminalId: string): string => `${TERMINAL_TAB_PREFIX}${terminalId}`;

export class TerminalTabs {
  readonly #opts: TerminalTabsOptions;
  readonly #handles = new Map<string, TerminalHandle>();
  readonly #status = new Map<string, TerminalStatus>();
  readonly keyBar: KeyBar;
  readonly #addButton: HTMLButtonElement;
  #limit = Number.POSITIVE_INFINITY;

  constructor(opts: TerminalTabsOptions) {
    this.#opts = opts;
    this.keyBar = createKeyBar({
      send: (bytes) => this.#front()?.sendKeys(bytes),
      paste: () => void this.#front()?.pasteClipboard(),
      applicationCursorKeys: () => this.#front()?.applicationCursorKeys ?? false,
      focus: () => this.#front()?.focus(),
    });
    this.#addButton = h('button', { class: 'ws-add', text: '+', attrs: { type: 'button', 'aria-label': 'Open a new terminal', title: 'New terminal', 'data-action': 'new-terminal' } });
    this.#addButton.addEventListener('click', () => void this.openNew());
    opts.workspace.addTool(this.#addButton);
    opts.prefs.subscribe((p) => {
      for (const handle of this.#handles.values()) handle.setScreenReaderMode(p.screenReader);
    });
  }

  /** Loads the session's tabs; the one the learner last had in front comes to the front again. */
  async load(): Promise<void> {
    const tabs = await api.terminals(this.#opts.labId);
    this.#limit = tabs.limit;
    for (const t of tabs.terminals) this.#add(t);
    const front = tabs.active?.tab;
    if (front !== undefined && this.#opts.workspace.has(front)) this.#opts.workspace.activate(front);
    this.#paintAdd();
  }

  /** The terminal id of the tab in front, if it is a terminal. */
  get frontId(): string | undefined {
    const active = this.#opts.workspace.activeId;
    return active === undefined ? undefined : (terminalOfTab(active) ?? undefined);
  }

  statusOf(id: string): TerminalStatus | undefined {
    return this.#status.get(id);
  }

  async openNew(): Promise<void> {
    try {
      const tab = await api.openTerminal(this.#opts.labId);
      this.#add(tab, { activate: true, focus: true });
    } catch (err) {
      this.#opts.onError(err instanceof Error ? err.message : String(err));
    }
  }

  /**
   * The Run button: types `text` into terminal `id` (opened if the learner has none by that id),
   * or, with no id, into the terminal in front (else the first one).
   */
  async run(id: string | undefined, text: string): Promise<void> {
    let target = id ?? this.frontId ?? this.#terminalIds()[0];
    if (target === undefined) return;
    if (!this.#opts.workspace.has(tabIdOf(target))) {
      try {
        const tab = await api.openTerminal(this.#opts.labId, { id: target });
        target = tab.id;
        this.#add(tab);
      } catch (err) {
        this.#opts.onError(err instanceof Error ? err.message : String(err));
        return;
      }
    }
    this.#opts.workspace.activate(tabIdOf(target));
    const handle = this.#handles.get(target);
    handle?.sendInput(text);
    handle?.focus();
  }

  #terminalIds(): string[] {
    return this.#opts.workspace
      .ids()
      .map((t) => terminalOfTab(t))
      .filter((t): t is string => t !== null);
  }

  #front(): TerminalHandle | undefined {
    const id = this.frontId;
    return id === undefined ? undefined : this.#handles.get(id);
  }

  #paintAdd(): void {
    const full = this.#terminalIds().length >= this.#limit;
    this.#addButton.disabled = full;
    this.#addButton.title = full ? `At most ${this.#limit} terminals: close one to open another` : 'New terminal';
  }

  #add(tab: TerminalTab, opts: { activate?: boolean; focus?: boolean } = {}): void {
    const tabId = tabIdOf(tab.id);
    const ws = this.#opts.workspace;
    // A Run into a named tab can open it while the list is still loading.
    if (ws.has(tabId)) return;
    ws.addPanel(
      {
        id: tabId,
        title: tab.title,
        mount: (el) => this.#mount(tab.id, el),
        rename: async (title) => (await api.renameTerminal(this.#opts.labId, tab.id, title)).title,
        close: async () => {
          // The page lets go first, so the server's "tab closed" is not shown as a lost connection.
          this.#handles.get(tab.id)?.dispose();
          this.#handles.delete(tab.id);
          const left = await api.closeTerminal(this.#opts.labId, tab.id);
          // Closing the last terminal leaves the session a fresh default one: show it.
          queueMicrotask(() => {
            for (const t of left.terminals) if (!ws.has(tabIdOf(t.id))) this.#add(t, { activate: true });
            this.#paintAdd();
          });
        },
      },
      { activate: opts.activate ?? false },
    );
    if (opts.focus) ws.handleOf(tabId)?.focus?.();
    this.#paintAdd();
  }

  #mount(id: string, el: HTMLElement): { shown(): void; focus(): void; dispose(): void } {
    const host = h('div', { class: 'term-host', attrs: { 'data-terminal': id } });
    el.append(host, h('p', { class: 'sr-only', text: 'In the terminal, Tab completes; press Control+Shift+Up to return to the tabs.' }));
    const prefs = this.#opts.prefs;
    const handle = mountTerminal(host, {
      url: wsUrl(`/ws/terminal?lab=${encodeURIComponent(this.#opts.labId)}&term=${encodeURIComponent(id)}`),
      screenReaderMode: prefs.current.screenReader,
      copyOnSelect: () => prefs.current.copyOnSelect,
      transformInput: (data) => this.keyBar.transformInput(data),
      onLeave: () => this.#opts.workspace.focusStrip(),
      onClipboardError: (message) => this.#opts.onError(message),
      onStatus: (s) => {
        this.#status.set(id, s);
        if (this.frontId === id) this.#opts.onStatus(s);
      },
    });
    this.#handles.set(id, handle);
    return {
      shown: () => {
        handle.fit();
        this.#opts.onStatus(this.#status.get(id));
      },
      focus: () => handle.focus(),
      dispose: () => {
        handle.dispose();
        this.#handles.delete(id);
        this.#status.delete(id);
      },
    };
  }
}
