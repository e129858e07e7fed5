// A learner's terminal tabs in a lab, kept in SQLite (tables made by the store's migrations) so a
// reload, another browser or the instructor's board sees the same tabs, names and order: which
// terminals exist, what the learner called them, and which workspace tab the learner has in front.
// Pure bookkeeping: the shells themselves belong to the TerminalManager (see learner-sessions.ts).
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { DEFAULT_TERMINAL_ID, MAX_TAB_TITLE, MAX_TERMINALS, TERMINAL_ID_RE, type TerminalTab } from '../../shared/api.ts';

/** Why a tab operation was refused; the HTTP layer maps each to a status. */
export type TabErrorKind = 'bad-id' | 'bad-title' | 'limit' | 'unknown';

export class TabError extends Error {
  constructor(
    message: string,
    readonly kind: TabErrorKind,
  ) {
    super(message);
    this.name = 'TabError';
  }
}

const tabRow = z.object({ terminal_id: z.string(), title: z.string(), position: z.number() });
const activeRow = z.object({ tab_id: z.string(), title: z.string(), at: z.number() });

/** A name as a tab shows it: one line, no control characters, trimmed; refused when empty or too long. */
export function cleanTabTitle(raw: string): string {
  const title = raw.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  if (title === '') throw new TabError('title: a tab needs a name', 'bad-title');
  if ([...title].length > MAX_TAB_TITLE) throw new TabError(`title: at most ${MAX_TAB_TITLE} characters`, 'bad-title');
  return title;
}

export function assertTerminalId(id: string): void {
  if (!TERMINAL_ID_RE.test(id)) throw new TabError(`terminal id '${id.slice(0, 40)}' is not valid: use 1-32 lowercase letters, digits, '-' or '_'`, 'bad-id');
}

/** What a terminal is called until the learner renames it: "Terminal 2" for numbered ones, else its id. */
export function defaultTitle(id: string): string {
  return /^\d+$/.test(id) ? `Terminal ${id}` : id;
}

export interface ActiveTab {
  tab: string;
  title: string;
  at: number;
}

export class TerminalTabs {
  constructor(
    private readonly db: Database.Database,
    /** Terminal tabs per learner and lab. */
    readonly limit = MAX_TERMINALS,
  ) {}

  /** The learner's terminals in order; a session nobody has opened a tab in has just the default one. */
  list(learnerId: string, labId: string): TerminalTab[] {
    const rows = this.db
      .prepare('SELECT terminal_id, title, position FROM terminal_tabs WHERE learner_id = ? AND lab_id = ? ORDER BY position, terminal_id')
      .all(learnerId, labId)
      .map((raw) => tabRow.parse(raw));
    if (rows.length === 0) return [{ id: DEFAULT_TERMINAL_ID, title: defaultTitle(DEFAULT_TERMINAL_ID) }];
    return rows.map((r) => ({ id: r.terminal_id, title: r.title }));
  }

  has(learnerId: string, labId: string, id: string): boolean {
    return this.list(learnerId, labId).some((t) => t.id === id);
  }

  /**
   * Opens a terminal tab: `id` if given (a code block's `terminal=<id>`; an existing one is returned
   * as it is), else the lowest free number. Refused past the limit.
   */
  open(learnerId: string, labId: string, want: { id?: string; title?: string } = {}): TerminalTab {
    if (want.id !== undefined) assertTerminalId(want.id);
    const title = want.title === undefined ? undefined : cleanTabTitle(want.title);
    return this.db.transaction((): TerminalTab => {
      const tabs = this.#materialize(learnerId, labId);
      const existing = want.id === undefined ? undefined : tabs.find((t) => t.id === want.id);
      if (existing) return existing;
      if (tabs.length >= this.limit) {
        throw new TabError(`you have ${tabs.length} terminals open, the most a session may have; close one to open another`, 'limit');
      }
      const taken = new Set(tabs.map((t) => t.id));
      let id = want.id;
      for (let n = 1; id === undefined; n++) if (!taken.has(String(n))) id = String(n);
      const tab = { id, title: title ?? defaultTitle(id) };
      this.#insert(learnerId, labId, tab);
      return tab;
    })();
  }

  rename(learnerId: string, labId: string, id: string, rawTitle: string): TerminalTab {
    const title = cleanTabTitle(rawTitle);
    return this.db.transaction((): TerminalTab => {
      const tabs = this.#materialize(learnerId, labId);
      if (!tabs.some((t) => t.id === id)) throw new TabError(`no terminal '${id}' in this session`, 'unknown');
      this.db.prepare('UPDATE terminal_tabs SET title = ? WHERE learner_id = ? AND lab_id = ? AND terminal_id = ?').run(title, learnerId, labId, id);
      return { id, title };
    })();
  }

  /** Forgets the tab. Closing the last one leaves the session with a fresh default terminal (list() shows it). */
  close(learnerId: string, labId: string, id: string): void {
    this.db.transaction(() => {
      const tabs = this.#materialize(learnerId, labId);
      if (!tabs.some((t) => t.id === id)) throw new TabError(`no terminal '${id}' in this session`, 'unknown');
      this.db.prepare('DELETE FROM terminal_tabs WHERE learner_id = ? AND lab_id = ? AND terminal_id = ?').run(learnerId, labId, id);
    })();
  }

  /** Records which workspace tab the learner has in front (any panel, not only terminals). */
  setActive(learnerId: string, labId: string, tab: string, rawTitle: string, at = Date.now()): ActiveTab {
    const title = cleanTabTitle(rawTitle);
    this.db
      .prepare(
        `INSERT INTO workspace_active_tab (learner_id, lab_id, tab_id, title, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(learner_id, lab_id) DO UPDATE SET tab_id = excluded.tab_id, title = excluded.title, at = excluded.at`,
      )
      .run(learnerId, labId, tab, title, at);
    return { tab, title, at };
  }

  active(learnerId: string, labId: string): ActiveTab | null {
    const raw = this.db.prepare('SELECT tab_id, title, at FROM workspace_active_tab WHERE learner_id = ? AND lab_id = ?').get(learnerId, labId);
    if (raw === undefined) return null;
    const row = activeRow.parse(raw);
    return { tab: row.tab_id, title: row.title, at: row.at };
  }

  /** The implicit default tab becomes a row before the first change, so order and names are kept from then on. */
  #materialize(learnerId: string, labId: string): TerminalTab[] {
    const tabs = this.list(learnerId, labId);
    const stored = this.db.prepare('SELECT COUNT(*) AS n FROM terminal_tabs WHERE learner_id = ? AND lab_id = ?').get(learnerId, labId);
    if (z.object({ n: z.number() }).parse(stored).n === 0) for (const t of tabs) this.#insert(learnerId, labId, t);
    return tabs;
  }

  #insert(learnerId: string, labId: string, tab: TerminalTab): void {
    const max = this.db.prepare('SELECT MAX(position) AS p FROM terminal_tabs WHERE learner_id = ? AND lab_id = ?').get(learnerId, labId);
    const position = (z.object({ p: z.number().nullable() }).parse(max).p ?? -1) + 1;
    this.db.prepare('INSERT INTO terminal_tabs (learner_id, lab_id, terminal_id, title, position) VALUES (?, ?, ?, ?, ?)').run(learnerId, labId, tab.id, tab.title, position);
  }
}
