// The learner's terminal preferences, kept per browser: copy on selection, xterm's screen-reader
// mode, and whether the touch key bar shows (auto = on a coarse pointer, i.e. a touch screen).
// Read with zod like anything from outside: storage may hold another version's JSON or none.
import * as z from 'zod';

const STORAGE_KEY = 'labrun.terminalPrefs';

const Prefs = z.object({
  copyOnSelect: z.boolean().catch(false),
  screenReader: z.boolean().catch(false),
  keyBar: z.enum(['auto', 'on', 'off']).catch('auto'),
});
export type TerminalPrefs = z.infer<typeof Prefs>;

const DEFAULTS: TerminalPrefs = { copyOnSelect: false, screenReader: false, keyBar: 'auto' };

function load(): TerminalPrefs {
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    const parsed = Prefs.safeParse(raw);
    return parsed.success ? parsed.data : { ...DEFAULTS };
  } catch {
    return { ...DEFAULTS };
  }
}

/** A touch screen without a mouse: the soft keyboard has no Esc, Tab, Ctrl or arrows. */
export function coarsePointer(): boolean {
  return matchMedia('(pointer: coarse)').matches;
}

export class TerminalPrefsStore {
  #prefs = load();
  readonly #listeners = new Set<(p: TerminalPrefs) => void>();

  get current(): TerminalPrefs {
    return this.#prefs;
  }

  /** Whether the key bar shows now, the 'auto' setting resolved. */
  get keyBarShown(): boolean {
    return this.#prefs.keyBar === 'on' || (this.#prefs.keyBar === 'auto' && coarsePointer());
  }

  set(change: Partial<TerminalPrefs>): void {
    this.#prefs = { ...this.#prefs, ...change };
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.#prefs));
    } catch {
      // Storage can be disabled; the choice still holds for this page.
    }
    for (const fn of this.#listeners) fn(this.#prefs);
  }

  subscribe(fn: (p: TerminalPrefs) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}
