// The workspace's Ports list: what listens in the learner's sandbox and in its compose services'
// namespaces, each with a link that opens its preview in a new browser tab. Refreshes itself while
// visible. Self-contained: mountPortsPanel(el, ctx) is all a page needs.
import { h } from '../dom.ts';
import type { PortEntry } from '../../shared/workspace-api.ts';
import { previewHref, workspaceApi } from './workspace-api.ts';

/** How often the list is read while it is on screen: a service just started shows up within this. */
const REFRESH_MS = 3000;

export interface PortsPanelContext {
  labId: string;
  /** The instructor's view of a learner. */
  learner?: string;
}

export interface PortsPanel {
  refresh(): Promise<void>;
  dispose(): void;
}

function where(p: PortEntry): string {
  return p.service === undefined ? 'sandbox' : p.service;
}

export function mountPortsPanel(el: HTMLElement, ctx: PortsPanelContext): PortsPanel {
  const status = h('p', { class: 'ports-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'ports-table' },
    h('thead', {}, h('tr', {}, ...['Port', 'Address', 'Where', 'Program', ''].map((t) => h('th', { text: t, attrs: { scope: 'col' } })))),
    body,
  );
  const refreshBtn = h('button', { class: 'button', text: 'Refresh', attrs: { type: 'button' } });
  el.replaceChildren(
    h('div', { class: 'ports-panel' }, h('div', { class: 'ports-head' }, h('h2', { text: 'Listening ports' }), refreshBtn), status, table,
      h('p', { class: 'ports-note', text: 'A preview opens the port in a new tab, through labrun: your sandbox has no network of its own.' })),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;

  const paint = (ports: PortEntry[]): void => {
    status.textContent = ports.length === 0 ? 'Nothing listens yet. Start a service, for example: docker run -d -p 8080:80 nginx' : '';
    body.replaceChildren(
      ...ports.map((p) =>
        h(
          'tr',
          { attrs: { 'data-port': String(p.port), 'data-where': where(p) } },
          h('td', { class: 'port', text: String(p.port) }),
          h('td', { text: p.address }),
          h('td', { text: where(p) }),
          h('td', { text: p.process ?? '' }),
          h('td', {}, h('a', { class: 'button preview-link', text: 'Open ↗', attrs: { href: previewHref(p.preview), target: '_blank', rel: 'noopener', 'aria-label': `Open port ${p.port}${p.service ? ` of ${p.service}` : ''} in a new tab` } })),
        ),
      ),
    );
  };

  const refresh = async (): Promise<void> => {
    clearTimeout(timer);
    try {
      paint((await workspaceApi.ports(ctx.labId, ctx.learner)).ports);
    } catch (err) {
      status.textContent = `Could not read the ports: ${err instanceof Error ? err.message : String(err)}`;
    }
    schedule();
  };
  // Only while on screen: a hidden panel costs the sandbox nothing.
  const schedule = (): void => {
    if (!disposed) timer = setTimeout(() => void (el.offsetParent !== null ? refresh() : schedule()), REFRESH_MS);
  };
  refreshBtn.addEventListener('click', () => void refresh());
  void refresh();
  return {
    refresh,
    dispose: () => {
      disposed = true;
      clearTimeout(timer);
    },
  };
}
