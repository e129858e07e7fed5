// The small "Terminal | Ports | Editor" switch above the terminal pane, and the lesson's port: and
// file: links (server/labs/markdown.ts writes them as data attributes). A stand-in for the workspace's
// shared tab strip: the panels it shows are self-contained (mountPortsPanel, mountEditorPanel), so they
// move into that strip without change.
import { h } from '../dom.ts';
import { appPath } from '../paths.ts';
import { mountEditorPanel, type EditorPanel } from './editor-panel.ts';
import { mountPortsPanel, type PortsPanel } from './ports-panel.ts';

export type WorkspaceTab = 'terminal' | 'ports' | 'editor';

export interface WorkspaceSwitch {
  show(tab: WorkspaceTab): void;
  openFile(path: string, line?: number): Promise<void>;
  /** Turns the lesson's port: and file: links in `container` into working links. */
  decorateLinks(container: HTMLElement): void;
}

/**
 * Puts the switch at the top of `pane`; `terminalParts` are shown for the terminal tab, the panels
 * (made on first use) for the others. `onTerminalShown` refits the terminal to its now visible host.
 */
export function mountWorkspaceSwitch(pane: HTMLElement, opts: { labId: string; terminalParts: HTMLElement[]; onTerminalShown: () => void }): WorkspaceSwitch {
  const portsHost = h('div', { class: 'workspace-panel is-hidden-panel', attrs: { 'data-panel': 'ports' } });
  const editorHost = h('div', { class: 'workspace-panel is-hidden-panel', attrs: { 'data-panel': 'editor' } });
  let ports: PortsPanel | undefined;
  let editor: EditorPanel | undefined;
  const buttons = new Map<WorkspaceTab, HTMLButtonElement>();
  const bar = h('div', { class: 'workspace-switch', attrs: { role: 'tablist', 'aria-label': 'Workspace' } });
  for (const [tab, label] of [['terminal', 'Terminal'], ['ports', 'Ports'], ['editor', 'Editor']] as const) {
    const b = h('button', { class: 'workspace-tab', text: label, attrs: { type: 'button', role: 'tab', 'data-tab': tab, 'aria-selected': String(tab === 'terminal') }, on: { click: () => show(tab) } });
    buttons.set(tab, b);
    bar.append(b);
  }
  pane.prepend(bar);
  pane.append(portsHost, editorHost);

  function show(tab: WorkspaceTab): void {
    for (const [t, b] of buttons) b.setAttribute('aria-selected', String(t === tab));
    for (const part of opts.terminalParts) part.classList.toggle('is-hidden-panel', tab !== 'terminal');
    portsHost.classList.toggle('is-hidden-panel', tab !== 'ports');
    editorHost.classList.toggle('is-hidden-panel', tab !== 'editor');
    if (tab === 'ports') {
      if (ports) void ports.refresh();
      else ports = mountPortsPanel(portsHost, { labId: opts.labId });
    }
    if (tab === 'editor') editor ??= mountEditorPanel(editorHost, { labId: opts.labId });
    if (tab === 'terminal') opts.onTerminalShown();
  }

  const openFile = async (path: string, line?: number): Promise<void> => {
    show('editor');
    await editor?.open(path, line);
  };

  const decorateLinks = (container: HTMLElement): void => {
    for (const a of container.querySelectorAll<HTMLAnchorElement>('a[data-port]')) {
      const target = `${a.dataset.port ?? ''}${a.dataset.service ? `@${a.dataset.service}` : ''}`;
      a.href = appPath(`/preview/${encodeURIComponent(opts.labId)}/${target}/${a.dataset.path ?? ''}`);
      a.target = '_blank';
      a.rel = 'noopener';
      a.title = `Open port ${target} of your sandbox in a new tab`;
    }
    for (const a of container.querySelectorAll<HTMLAnchorElement>('a[data-file]')) {
      const line = Number(a.dataset.line);
      a.title = `Open ${a.dataset.file ?? ''} in the editor`;
      a.addEventListener('click', (e) => {
        e.preventDefault();
        void openFile(a.dataset.file ?? '', Number.isInteger(line) && line > 0 ? line : undefined);
      });
    }
  };

  return { show, openFile, decorateLinks };
}
