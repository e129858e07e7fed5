// The terminal settings menu at the end of the workspace strip: copy on selection, screen-reader
// mode and the key bar. A <details> element, so it opens and closes by keyboard with no script.
import { h } from '../dom.ts';
import { coarsePointer, type TerminalPrefsStore } from './terminal-prefs.ts';

export function terminalSettings(prefs: TerminalPrefsStore): HTMLElement {
  const box = (name: string, text: string, checked: boolean, onChange: (on: boolean) => void): HTMLElement => {
    const input = h('input', { attrs: { type: 'checkbox', name, ...(checked && { checked: '' }) } });
    input.addEventListener('change', () => onChange(input.checked));
    return h('label', { class: 'setting' }, input, h('span', { text }));
  };
  const p = prefs.current;
  const menu = h(
    'div',
    { class: 'settings-menu' },
    box('copy-on-select', 'Copy on selection', p.copyOnSelect, (on) => prefs.set({ copyOnSelect: on })),
    box('screen-reader', 'Screen-reader mode', p.screenReader, (on) => prefs.set({ screenReader: on })),
    // Unticking on a touch screen (or ticking without one) is an explicit choice; matching the default is 'auto'.
    box('key-bar', 'Key bar (Esc, Tab, Ctrl…)', prefs.keyBarShown, (on) => prefs.set({ keyBar: on === coarsePointer() ? 'auto' : on ? 'on' : 'off' })),
    h('p', { class: 'settings-hint', text: 'Ctrl+Shift+C copies, Ctrl+Shift+V pastes, Ctrl+Shift+Up leaves the terminal.' }),
  );
  const details = h('details', { class: 'ws-settings' }, h('summary', { text: '⚙', attrs: { 'aria-label': 'Terminal settings', title: 'Terminal settings' } }), menu);
  details.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && details.open) {
      details.open = false;
      details.querySelector('summary')?.focus();
    }
  });
  return details;
}
