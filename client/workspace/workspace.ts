// The learner's workspace: a strip of tabs over one panel at a time. Any feature plugs a panel in
// with addPanel({ id, title, mount(el) }) — terminals are one kind (see terminal-tabs.ts), the port
// preview or editor others. A tab can offer rename and close (its spec says how); the strip follows
// the WAI-ARIA tabs pattern: one tab stop, arrows/Home/End move between tabs, F2 renames, Delete
// closes, double-click renames, and every control has a visible focus style.
import { h } from '../dom.ts';

/** What a mounted panel can do when the workspace shows, focuses or drops it (all optional). */
export interface PanelHandle {
  shown?(): void;
  focus?(): void;
  dispose?(): void;
}

export interface PanelSpec {
  id: string;
  title: string;
  /** Builds the panel into `el`, the first time it is shown (so a hidden panel costs nothing). */
  mount(el: HTMLElement): PanelHandle | undefined;
  /** Offered as ✎ / F2 / double-click: resolves to the title to show, or rejects with why not. */
  rename?(title: string): Promise<string>;
  /** Offered as × / Delete; the panel is removed once this resolves. */
  close?(): Promise<void>;
}

export interface WorkspaceOptions {
  label: string;
  /** Called when a tab comes to the front (the page reports it; the board shows it). */
  onActivate?(id: string, title: string): void;
  /** Something went wrong in a tab action (rename refused…): the page shows it. */
  onError?(message: string): void;
}

interface Entry {
  spec: PanelSpec;
  title: string;
  tab: HTMLElement;
  label: HTMLButtonElement;
  buttons: HTMLButtonElement[];
  panel: HTMLElement;
  handle: PanelHandle | undefined;
  mounted: boolean;
}

/** Tab ids become element ids; keep them to characters that are safe there. */
const domId = (id: string): string => id.replace(/[^a-zA-Z0-9_-]/g, '_');

export class Workspace {
  readonly element: HTMLElement;
  readonly #tablist: HTMLElement;
  readonly #tools: HTMLElement;
  readonly #panels: HTMLElement;
  readonly #entries = new Map<string, Entry>();
  readonly #opts: WorkspaceOptions;
  #active: string | undefined;

  constructor(opts: WorkspaceOptions) {
    this.#opts = opts;
    this.#tablist = h('div', { class: 'ws-tabs', attrs: { role: 'tablist', 'aria-label': opts.label } });
    this.#tools = h('div', { class: 'ws-tools' });
    this.#panels = h('div', { class: 'ws-panels' });
    this.element = h('div', { class: 'workspace' }, h('div', { class: 'ws-strip' }, this.#tablist, this.#tools), this.#panels);
    this.#tablist.addEventListener('keydown', (e) => this.#onKey(e));
  }

  get activeId(): string | undefined {
    return this.#active;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  ids(): string[] {
    return [...this.#entries.keys()];
  }

  titleOf(id: string): string | undefined {
    return this.#entries.get(id)?.title;
  }

  handleOf(id: string): PanelHandle | undefined {
    return this.#entries.get(id)?.handle;
  }

  /** Controls at the end of the strip (a + button, settings). */
  addTool(el: HTMLElement): void {
    this.#tools.append(el);
  }

  addPanel(spec: PanelSpec, opts: { activate?: boolean } = {}): void {
    if (this.#entries.has(spec.id)) throw new Error(`the workspace already has a tab '${spec.id}'`);
    const id = domId(spec.id);
    const label = h('button', {
      class: 'ws-tab-label',
      text: spec.title,
      attrs: { type: 'button', role: 'tab', id: `ws-tab-${id}`, 'aria-controls': `ws-panel-${id}`, 'aria-selected': 'false', tabindex: '-1', 'data-tab': spec.id },
    });
    const buttons: HTMLButtonElement[] = [];
    if (spec.rename) {
      buttons.push(h('button', { class: 'ws-tab-btn', text: '✎', attrs: { type: 'button', 'data-action': 'rename', 'aria-label': `Rename ${spec.title}`, title: 'Rename (F2 or double-click)', tabindex: '-1' } }));
    }
    if (spec.close) {
      buttons.push(h('button', { class: 'ws-tab-btn', text: '×', attrs: { type: 'button', 'data-action': 'close', 'aria-label': `Close ${spec.title}`, title: 'Close (Delete)', tabindex: '-1' } }));
    }
    const tab = h('div', { class: 'ws-tab', attrs: { 'data-tab': spec.id } }, label, ...buttons);
    const panel = h('div', { class: 'ws-panel', attrs: { role: 'tabpanel', id: `ws-panel-${id}`, 'aria-labelledby': `ws-tab-${id}`, 'data-panel': spec.id, hidden: '' } });
    const entry: Entry = { spec, title: spec.title, tab, label, buttons, panel, handle: undefined, mounted: false };
    this.#entries.set(spec.id, entry);
    label.addEventListener('click', () => this.activate(spec.id));
    label.addEventListener('dblclick', () => this.startRename(spec.id));
    for (const b of buttons) {
      b.addEventListener('click', () => (b.getAttribute('data-action') === 'rename' ? this.startRename(spec.id) : void this.close(spec.id)));
    }
    this.#tablist.append(tab);
    this.#panels.append(panel);
    if (opts.activate || this.#active === undefined) this.activate(spec.id, { focus: false });
    else this.#paintTabs();
  }

  /** Brings a tab to the front, mounting its panel the first time. */
  activate(id: string, opts: { focus?: boolean } = {}): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    const changed = this.#active !== id;
    this.#active = id;
    for (const e of this.#entries.values()) e.panel.hidden = e !== entry;
    this.#paintTabs();
    if (!entry.mounted) {
      entry.mounted = true;
      entry.handle = entry.spec.mount(entry.panel);
    }
    entry.handle?.shown?.();
    if (opts.focus) entry.handle?.focus?.();
    if (changed) this.#opts.onActivate?.(id, entry.title);
  }

  /** Moves keyboard focus to the tab in front (the way out of a panel that keeps Tab, like a terminal). */
  focusStrip(): void {
    if (this.#active !== undefined) this.#entries.get(this.#active)?.label.focus();
  }

  setTitle(id: string, title: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    entry.title = title;
    entry.label.textContent = title;
    for (const b of entry.buttons) b.setAttribute('aria-label', `${b.getAttribute('data-action') === 'rename' ? 'Rename' : 'Close'} ${title}`);
    if (this.#active === id) this.#opts.onActivate?.(id, title);
  }

  /** Drops a tab without asking its spec (the feature already closed it); the next tab comes to the front. */
  removePanel(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    const order = this.ids();
    const at = order.indexOf(id);
    entry.handle?.dispose?.();
    entry.tab.remove();
    entry.panel.remove();
    this.#entries.delete(id);
    if (this.#active === id) {
      this.#active = undefined;
      const next = order[at + 1] ?? order[at - 1];
      if (next !== undefined && next !== id) this.activate(next, { focus: true });
    }
    this.#paintTabs();
  }

  async close(id: string): Promise<void> {
    const entry = this.#entries.get(id);
    if (!entry?.spec.close) return;
    try {
      await entry.spec.close();
      const hadFocus = entry.tab.contains(document.activeElement);
      this.removePanel(id);
      if (hadFocus) this.focusStrip();
    } catch (err) {
      this.#opts.onError?.(err instanceof Error ? err.message : String(err));
    }
  }

  /** Replaces the tab's label with a text field: Enter or leaving it saves, Escape cancels. */
  startRename(id: string): void {
    const entry = this.#entries.get(id);
    const rename = entry?.spec.rename;
    if (!entry || !rename) return;
    const input = h('input', { class: 'ws-rename', attrs: { type: 'text', value: entry.title, 'aria-label': `New name for ${entry.title}`, maxlength: '40', spellcheck: 'false' } });
    let done = false;
    const finish = (save: boolean): void => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      input.replaceWith(entry.label);
      entry.label.focus();
      if (!save || title === entry.title || title === '') return;
      rename(title).then(
        (accepted) => this.setTitle(id, accepted),
        (err: unknown) => this.#opts.onError?.(err instanceof Error ? err.message : String(err)),
      );
    };
    input.addEventListener('keydown', (e) => {
      e.stopPropagation();
      if (e.key === 'Enter') finish(true);
      else if (e.key === 'Escape') finish(false);
    });
    input.addEventListener('blur', () => finish(true));
    entry.label.replaceWith(input);
    input.focus();
    input.select();
  }

  #paintTabs(): void {
    for (const [id, e] of this.#entries) {
      const on = id === this.#active;
      e.tab.classList.toggle('is-active', on);
      e.label.setAttribute('aria-selected', String(on));
      // One tab stop for the strip (roving tabindex); the front tab's own buttons are reachable after it.
      e.label.tabIndex = on ? 0 : -1;
      for (const b of e.buttons) b.tabIndex = on ? 0 : -1;
      const closable = e.spec.close !== undefined && this.#entries.size > 1;
      for (const b of e.buttons) if (b.getAttribute('data-action') === 'close') b.hidden = !closable;
    }
  }

  #onKey(e: KeyboardEvent): void {
    const target = e.target;
    if (!(target instanceof HTMLElement) || target.getAttribute('role') !== 'tab') return;
    const id = target.getAttribute('data-tab') ?? '';
    const order = this.ids();
    const at = order.indexOf(id);
    const go = (i: number): void => {
      const next = order[(i + order.length) % order.length];
      if (next === undefined) return;
      this.activate(next);
      this.#entries.get(next)?.label.focus();
    };
    switch (e.key) {
      case 'ArrowRight':
        go(at + 1);
        break;
      case 'ArrowLeft':
        go(at - 1);
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(order.length - 1);
        break;
      case 'F2':
        this.startRename(id);
        break;
      case 'Delete':
        if (this.#entries.size > 1) void this.close(id);
        break;
      case 'ArrowDown':
        // Into the panel: for a terminal, where the keyboard goes next.
        this.#entries.get(id)?.handle?.focus?.();
        break;
      default:
        return;
    }
    e.preventDefault();
  }
}
