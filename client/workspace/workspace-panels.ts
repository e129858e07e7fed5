// The Ports and Editor tabs of the learner's workspace, and the lesson's port: and file: links
// (server/labs/markdown.ts writes them as data attributes) that bring those tabs to the front.
// Both tabs stay at the end of the strip, after the terminals. The editor (CodeMirror, most of the
// client's code) loads when its tab first opens, so a lesson page that never edits does not fetch it.
import { appPath } from '../paths.ts';
import type { EditorPanel } from './editor-panel.ts';
import { mountPortsPanel } from './ports-panel.ts';
import type { Workspace } from './workspace.ts';

export const PORTS_TAB = 'ports';
export const EDITOR_TAB = 'editor';

export interface WorkspacePanels {
  openFile(path: string, line?: number): Promise<void>;
  /** Turns the lesson's port: and file: links in `container` into working links. */
  decorateLinks(container: HTMLElement): void;
}

export function addWorkspacePanels(workspace: Workspace, labId: string): WorkspacePanels {
  let editor: Promise<EditorPanel> | undefined;
  workspace.addPanel({
    id: PORTS_TAB,
    title: 'Ports',
    trailing: true,
    mount: (el) => {
      el.classList.add('workspace-panel');
      const ports = mountPortsPanel(el, { labId });
      // The first showing already reads the list; later ones refresh it.
      let first = true;
      return { shown: () => void (first ? (first = false) : ports.refresh()), dispose: () => ports.dispose() };
    },
  });
  workspace.addPanel({
    id: EDITOR_TAB,
    title: 'Editor',
    trailing: true,
    mount: (el) => {
      el.classList.add('workspace-panel');
      el.textContent = 'Loading the editor…';
      let disposed = false;
      const loading = import('./editor-panel.ts').then(({ mountEditorPanel }) => {
        const panel = mountEditorPanel(el, { labId });
        if (disposed) panel.dispose();
        return panel;
      });
      loading.catch((err: unknown) => {
        el.textContent = `The editor could not be loaded (${err instanceof Error ? err.message : String(err)}); reload the page to try again.`;
      });
      editor = loading;
      return {
        dispose: () => {
          disposed = true;
          loading.then((panel) => panel.dispose(), () => {});
        },
      };
    },
  });

  const openFile = async (path: string, line?: number): Promise<void> => {
    workspace.activate(EDITOR_TAB);
    await (await editor)?.open(path, line);
  };

  const decorateLinks = (container: HTMLElement): void => {
    for (const a of container.querySelectorAll<HTMLAnchorElement>('a[data-port]')) {
      const target = `${a.dataset.port ?? ''}${a.dataset.service ? `@${a.dataset.service}` : ''}`;
      a.href = appPath(`/preview/${encodeURIComponent(labId)}/${target}/${a.dataset.path ?? ''}`);
      a.target = '_blank';
      a.rel = 'noopener';
      a.title = `Open port ${target} of your sandbox in a new tab`;
      // The preview opens in a new tab; the Ports list comes to the front here.
      a.addEventListener('click', () => workspace.activate(PORTS_TAB));
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

  return { openFile, decorateLinks };
}
