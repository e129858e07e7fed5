// The touch key bar under the terminal: Esc, Tab, a sticky Ctrl and Alt, arrows, | and ~, and Paste —
// what a phone's soft keyboard lacks. Ctrl and Alt apply to the next key, from the bar or typed
// (see transformInput), then release. The buttons never take focus from the terminal on touch, so
// the soft keyboard stays up; by keyboard they are ordinary buttons (aria-pressed for the modifiers).
import { h } from '../dom.ts';
import { BAR_KEYS, NO_MODIFIERS, keyBytes, withModifiers, type BarKey, type Modifiers } from './key-bytes.ts';

const LABELS: Record<BarKey, { text: string; label: string }> = {
  Escape: { text: 'Esc', label: 'Escape' },
  Tab: { text: 'Tab', label: 'Tab' },
  ArrowUp: { text: '↑', label: 'Up arrow' },
  ArrowDown: { text: '↓', label: 'Down arrow' },
  ArrowLeft: { text: '←', label: 'Left arrow' },
  ArrowRight: { text: '→', label: 'Right arrow' },
  '|': { text: '|', label: 'Pipe' },
  '~': { text: '~', label: 'Tilde' },
};

export interface KeyBarTarget {
  /** Sends bytes to the terminal in front. */
  send(bytes: string): void;
  paste(): void;
  applicationCursorKeys(): boolean;
  focus(): void;
}

export interface KeyBar {
  readonly element: HTMLElement;
  /** For the terminal's typed input: applies and releases armed modifiers. */
  transformInput(data: string): string;
}

export function createKeyBar(target: KeyBarTarget): KeyBar {
  let mods: Modifiers = { ...NO_MODIFIERS };
  const button = (text: string, label: string, onPress: () => void, extra: Record<string, string> = {}): HTMLButtonElement => {
    const b = h('button', { class: 'key-btn', text, attrs: { type: 'button', 'aria-label': label, ...extra } });
    // On touch, focusing the button would blur the terminal and drop the soft keyboard.
    b.addEventListener('pointerdown', (e) => {
      if ((e as PointerEvent).pointerType !== 'mouse') e.preventDefault();
    });
    b.addEventListener('click', (e) => {
      onPress();
      // A tap returns to the terminal; a keyboard user (a click with detail 0) stays on the bar.
      if ((e as MouseEvent).detail !== 0) target.focus();
    });
    return b;
  };
  const ctrlBtn = button('Ctrl', 'Control (applies to the next key)', () => toggle('ctrl'), { 'aria-pressed': 'false', 'data-mod': 'ctrl' });
  const altBtn = button('Alt', 'Alt (applies to the next key)', () => toggle('alt'), { 'aria-pressed': 'false', 'data-mod': 'alt' });
  const paint = (): void => {
    ctrlBtn.setAttribute('aria-pressed', String(mods.ctrl));
    altBtn.setAttribute('aria-pressed', String(mods.alt));
  };
  const toggle = (m: keyof Modifiers): void => {
    mods = { ...mods, [m]: !mods[m] };
    paint();
  };
  const release = (): Modifiers => {
    const used = mods;
    mods = { ...NO_MODIFIERS };
    paint();
    return used;
  };
  const keys = BAR_KEYS.map((key) =>
    button(LABELS[key].text, LABELS[key].label, () => target.send(keyBytes(key, release(), { applicationCursor: target.applicationCursorKeys() })), { 'data-key': key }),
  );
  const [esc, tab, ...rest] = keys;
  const element = h(
    'div',
    { class: 'key-bar', attrs: { role: 'toolbar', 'aria-label': 'Terminal keys' } },
    esc,
    tab,
    ctrlBtn,
    altBtn,
    ...rest,
    button('Paste', 'Paste from the clipboard', () => target.paste(), { 'data-action': 'paste' }),
  );
  return {
    element,
    transformInput: (data) => (mods.ctrl || mods.alt ? withModifiers(data, release()) : data),
  };
}
