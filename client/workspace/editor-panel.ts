// The workspace's editor: a file tree of the sandbox's workspace and a CodeMirror 6 editor (YAML, shell,
// nginx and Dockerfile modes) that reads and saves through the workspace API. Unsaved changes are
// marked; a save against a file that changed underneath is refused by the server (409) and the panel
// offers to reload the file or overwrite it; size, binary and outside-the-workspace refusals are shown
// as the server words them. Self-contained: mountEditorPanel(el, ctx) is all a page needs.
import { EditorView, basicSetup } from 'codemirror';
import { EditorState, type Extension } from '@codemirror/state';
import { keymap } from '@codemirror/view';
import { StreamLanguage } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { nginx } from '@codemirror/legacy-modes/mode/nginx';
import { dockerFile } from '@codemirror/legacy-modes/mode/dockerfile';
import { yaml } from '@codemirror/lang-yaml';
import { h } from '../dom.ts';
import type { FileEntry } from '../../shared/workspace-api.ts';
import { WorkspaceError, workspaceApi } from './workspace-api.ts';

export interface EditorPanelContext {
  labId: string;
}

export interface EditorPanel {
  /** Opens a workspace file, at a line (1-based) if given. */
  open(path: string, line?: number): Promise<void>;
  refreshTree(): Promise<void>;
  isDirty(): boolean;
  dispose(): void;
}

/** The language a file gets, by its name (and a shell script by its first line). */
export function languageFor(path: string, firstLine: string): Extension {
  const name = path.split('/').pop() ?? path;
  if (/\.ya?ml$/i.test(name)) return yaml();
  if (/^(Dockerfile|Containerfile)(\..*)?$/i.test(name) || /\.dockerfile$/i.test(name)) return StreamLanguage.define(dockerFile);
  if (/\.conf$/i.test(name) || /^nginx/i.test(name)) return StreamLanguage.define(nginx);
  if (/\.(sh|bash)$/i.test(name) || /^#!.*\b(ba|z|da)?sh\b/.test(firstLine) || /^\.(bashrc|profile)$/.test(name)) return StreamLanguage.define(shell);
  return [];
}

/** Inside the shadow root the page's stylesheet does not apply: size and font come from here (CSS variables do cross). */
const EDITOR_THEME = EditorView.theme({
  '&': { height: '100%', fontSize: '13.5px' },
  '.cm-scroller': { fontFamily: 'var(--mono)' },
});

interface OpenFile {
  path: string;
  version: string;
  saved: string;
}

export function mountEditorPanel(el: HTMLElement, ctx: EditorPanelContext): EditorPanel {
  const treeList = h('ul', { class: 'editor-tree-list' });
  const tree = h('nav', { class: 'editor-tree', attrs: { 'aria-label': 'Workspace files' } }, h('div', { class: 'editor-tree-head' }, h('span', { text: 'Files' }), h('button', { class: 'button small', text: '↻', attrs: { type: 'button', title: 'Refresh the file list', 'aria-label': 'Refresh the file list' }, on: { click: () => void refreshTree() } })), treeList);
  const pathLabel = h('span', { class: 'editor-path', text: 'No file open' });
  const dirtyMark = h('span', { class: 'editor-dirty is-hidden', text: '● unsaved', attrs: { 'aria-live': 'polite' } });
  const saveBtn = h('button', { class: 'button primary', text: 'Save', attrs: { type: 'button', 'data-action': 'save', disabled: '', title: 'Save (Ctrl+S)' } });
  const message = h('div', { class: 'editor-message is-hidden', attrs: { role: 'alert' } });
  const host = h('div', { class: 'editor-host' });
  el.replaceChildren(h('div', { class: 'editor-panel' }, tree, h('section', { class: 'editor-main', attrs: { 'aria-label': 'Editor' } }, h('div', { class: 'editor-bar' }, pathLabel, dirtyMark, saveBtn), message, host)));

  let current: OpenFile | undefined;
  /** Each file gets a state of its own: its own undo history, its language. */
  const extensions = (path: string, content: string, editable: boolean): Extension[] => [
    basicSetup,
    EDITOR_THEME,
    languageFor(path, content.split('\n', 1)[0] ?? ''),
    EditorState.readOnly.of(!editable),
    keymap.of([{ key: 'Mod-s', preventDefault: true, run: () => {
          void save();
          return true;
        } }]),
    EditorView.contentAttributes.of({ 'aria-label': path === '' ? 'Editor (no file open)' : `Contents of ${path}` }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) paintDirty();
    }),
  ];
  // CodeMirror styles itself at run time. In a shadow root it does that with constructed stylesheets,
  // which labrun's CSP allows; in the document it would add <style> elements, which the CSP refuses.
  const shadow = host.attachShadow({ mode: 'open' });
  const view = new EditorView({ parent: shadow, root: shadow, state: EditorState.create({ doc: '', extensions: extensions('', '', false) }) });

  const isDirty = (): boolean => current !== undefined && view.state.doc.toString() !== current.saved;
  const paintDirty = (): void => {
    const dirty = isDirty();
    dirtyMark.classList.toggle('is-hidden', !dirty);
    saveBtn.toggleAttribute('disabled', !dirty);
    for (const b of treeList.querySelectorAll<HTMLButtonElement>('button[data-path]')) b.classList.toggle('is-dirty', dirty && b.dataset.path === current?.path);
  };
  const showMessage = (text: string | null, kind: 'error' | 'conflict' | 'info' = 'error', ...actions: HTMLElement[]): void => {
    message.className = `editor-message is-${kind}${text === null ? ' is-hidden' : ''}`;
    message.replaceChildren(...(text === null ? [] : [h('span', { text }), ...actions]));
  };

  const paintTree = (entries: FileEntry[]): void => {
    treeList.replaceChildren(
      ...entries.map((e) => {
        const depth = e.path.split('/').length - 1;
        const name = e.path.split('/').pop() ?? e.path;
        if (e.kind === 'dir') return h('li', { class: `tree-dir depth-${Math.min(depth, 6)}`, text: `${name}/` });
        return h(
          'li',
          { class: `depth-${Math.min(depth, 6)}` },
          h('button', {
            class: `tree-file${e.path === current?.path ? ' is-open' : ''}`,
            text: e.kind === 'link' ? `${name} →` : name,
            attrs: { type: 'button', 'data-path': e.path, title: e.path },
            on: { click: () => void open(e.path) },
          }),
        );
      }),
    );
    paintDirty();
  };

  async function refreshTree(): Promise<void> {
    try {
      const t = await workspaceApi.tree(ctx.labId);
      paintTree(t.entries);
    } catch (err) {
      treeList.replaceChildren(h('li', { class: 'tree-error', text: err instanceof Error ? err.message : String(err) }));
    }
  }

  const goToLine = (line: number): void => {
    const target = view.state.doc.line(Math.min(Math.max(1, line), view.state.doc.lines));
    view.dispatch({ selection: { anchor: target.from }, effects: EditorView.scrollIntoView(target.from, { y: 'center' }) });
    view.focus();
  };

  const load = (path: string, content: string, version: string, line?: number): void => {
    current = { path, version, saved: content };
    view.setState(EditorState.create({ doc: content, extensions: extensions(path, content, true) }));
    pathLabel.textContent = path;
    host.dataset.path = path;
    goToLine(line ?? 1);
    for (const b of treeList.querySelectorAll<HTMLButtonElement>('button[data-path]')) b.classList.toggle('is-open', b.dataset.path === path);
    paintDirty();
    view.focus();
  };

  async function open(path: string, line?: number): Promise<void> {
    if (isDirty() && current?.path !== path && !confirm(`${current?.path ?? 'This file'} has unsaved changes. Discard them?`)) return;
    if (isDirty() && current?.path === path) {
      // Already open with edits: keep them, just go to the line.
      if (line !== undefined) goToLine(line);
      return;
    }
    try {
      const f = await workspaceApi.read(ctx.labId, path);
      showMessage(null);
      load(f.path, f.content, f.version, line);
    } catch (err) {
      showMessage(err instanceof WorkspaceError && err.hint ? `${err.message} — ${err.hint}` : err instanceof Error ? err.message : String(err));
    }
  }

  async function save(base = current?.version): Promise<void> {
    if (!current || base === undefined) return;
    const file = current;
    const content = view.state.doc.toString();
    saveBtn.setAttribute('disabled', '');
    saveBtn.textContent = 'Saving…';
    try {
      const saved = await workspaceApi.save(ctx.labId, file.path, content, base);
      current = { path: file.path, version: saved.version, saved: content };
      showMessage(`Saved ${file.path}`, 'info');
      void refreshTree();
    } catch (err) {
      if (err instanceof WorkspaceError && err.status === 409) {
        const theirs = err.currentVersion ?? '';
        showMessage(
          `${err.message}.`,
          'conflict',
          h('button', { class: 'button', text: 'Reload (discard mine)', attrs: { type: 'button', 'data-action': 'reload' }, on: { click: () => void reload(file.path) } }),
          h('button', { class: 'button', text: 'Overwrite with mine', attrs: { type: 'button', 'data-action': 'overwrite' }, on: { click: () => void save(theirs) } }),
        );
      } else {
        showMessage(err instanceof Error ? err.message : String(err));
      }
    } finally {
      saveBtn.textContent = 'Save';
      paintDirty();
    }
  }

  async function reload(path: string): Promise<void> {
    current = undefined; // discard: no "unsaved changes" question
    await open(path);
  }

  saveBtn.addEventListener('click', () => void save());
  const onUnload = (e: BeforeUnloadEvent): void => {
    if (isDirty()) e.preventDefault();
  };
  addEventListener('beforeunload', onUnload);
  void refreshTree();

  return {
    open,
    refreshTree,
    isDirty,
    dispose: () => {
      removeEventListener('beforeunload', onUnload);
      view.destroy();
    },
  };
}
