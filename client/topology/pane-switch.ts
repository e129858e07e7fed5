// A small switch between the views of the terminal pane (Terminal, Network, …) until the workspace's
// tab strip takes them over: one host element per view, one visible at a time, each mounted on first
// show and kept live after (the topology keeps updating while the terminal is in front).
import { h } from '../dom.ts';

export interface PaneView {
  id: string;
  title: string;
  /** Mounts the view into its host on first show (the terminal's is already mounted: omit it). */
  mount?: (host: HTMLElement) => { dispose(): void };
  /** Called each time the view comes to the front (e.g. refit the terminal). */
  onShow?: () => void;
}

export interface PaneSwitch {
  bar: HTMLElement;
  show(id: string): void;
  dispose(): void;
}

/** `hosts` maps each view id to its element (already in the page); the bar goes where the caller puts it. */
export function paneSwitch(views: PaneView[], hosts: Map<string, HTMLElement>): PaneSwitch {
  const mounted = new Map<string, { dispose(): void }>();
  const buttons = new Map<string, HTMLButtonElement>();
  const bar = h('div', { class: 'pane-switch', attrs: { role: 'tablist', 'aria-label': 'Views' } });
  const show = (id: string): void => {
    for (const v of views) {
      const host = hosts.get(v.id);
      const on = v.id === id;
      host?.classList.toggle('is-hidden-panel', !on);
      buttons.get(v.id)?.setAttribute('aria-selected', String(on));
      if (on && host && v.mount && !mounted.has(v.id)) mounted.set(v.id, v.mount(host));
      if (on) v.onShow?.();
    }
  };
  for (const v of views) {
    const b = h('button', { class: 'pane-tab', text: v.title, attrs: { type: 'button', role: 'tab', 'data-view': v.id, 'aria-selected': 'false' }, on: { click: () => show(v.id) } });
    buttons.set(v.id, b);
    bar.append(b);
  }
  return {
    bar,
    show,
    dispose: () => {
      for (const m of mounted.values()) m.dispose();
      mounted.clear();
    },
  };
}
