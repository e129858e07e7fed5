// What the touch key bar sends: the bytes a VT100/xterm keyboard produces for keys a phone's soft
// keyboard lacks (Esc, Tab, arrows, | and ~), and the sticky Ctrl and Alt applied to the next key,
// whether it comes from the bar or from the soft keyboard. Pure, so the table is unit-tested.

export const BAR_KEYS = ['Escape', 'Tab', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', '|', '~'] as const;
export type BarKey = (typeof BAR_KEYS)[number];

export interface Modifiers {
  ctrl: boolean;
  alt: boolean;
}

export const NO_MODIFIERS: Modifiers = { ctrl: false, alt: false };

const ESC = '\x1b';
const ARROW_FINAL: Record<string, string> = { ArrowUp: 'A', ArrowDown: 'B', ArrowRight: 'C', ArrowLeft: 'D' };

/**
 * The control character Ctrl makes of one character, as terminals do: letters and @[\]^_ map to
 * 0-31 (Ctrl-C is 0x03), space to NUL, ? to DEL; anything else has no control form (undefined).
 */
export function ctrlOf(ch: string): string | undefined {
  if (ch.length !== 1) return undefined;
  if (ch === ' ') return '\x00';
  if (ch === '?') return '\x7f';
  const code = ch.toUpperCase().charCodeAt(0);
  if (code >= 0x40 && code <= 0x5f) return String.fromCharCode(code - 0x40);
  return undefined;
}

/** Applies sticky modifiers to text typed on the soft keyboard (one key press: usually one character). */
export function withModifiers(text: string, mods: Modifiers): string {
  if (!mods.ctrl && !mods.alt) return text;
  let out = text;
  if (mods.ctrl && [...text].length === 1) out = ctrlOf(text) ?? text;
  // Alt is "meta sends escape": ESC before the key, as xterm and most terminal apps expect.
  return mods.alt ? `${ESC}${out}` : out;
}

/**
 * The bytes for a key of the bar. Arrows follow the cursor-key mode the program set (DECCKM:
 * ESC O A in application mode, ESC [ A otherwise); with a modifier they take xterm's parameter form
 * (ESC [ 1 ; 5 A for Ctrl-Up), which is the same in both modes.
 */
export function keyBytes(key: BarKey, mods: Modifiers = NO_MODIFIERS, opts: { applicationCursor?: boolean } = {}): string {
  const final = ARROW_FINAL[key];
  if (final !== undefined) {
    const param = 1 + (mods.alt ? 2 : 0) + (mods.ctrl ? 4 : 0);
    if (param > 1) return `${ESC}[1;${param}${final}`;
    return opts.applicationCursor ? `${ESC}O${final}` : `${ESC}[${final}`;
  }
  switch (key) {
    case 'Escape':
      return mods.alt ? `${ESC}${ESC}` : ESC;
    case 'Tab':
      // Ctrl-Tab has no byte of its own; Alt-Tab is ESC Tab (readline's complete-into-menu).
      return mods.alt ? `${ESC}\t` : '\t';
    default:
      return withModifiers(key, mods);
  }
}
