// The progress store: learners, where each learner is in each lab, which steps they finished and
// every check attempt, in one SQLite file (<data>/labrun.db). Writes are synchronous and durable
// (WAL), so a server restart or crash loses nothing already acknowledged to the browser.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';

/**
 * Schema migrations, applied in order; index + 1 is the version stored in PRAGMA user_version.
 * Append only: never edit a migration that has shipped.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE learners (
     id TEXT PRIMARY KEY,
     display_name TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE progress (
     learner_id TEXT NOT NULL REFERENCES learners(id),
     lab_id TEXT NOT NULL,
     current_step TEXT,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (learner_id, lab_id)
   );
   CREATE TABLE step_completions (
     learner_id TEXT NOT NULL REFERENCES learners(id),
     lab_id TEXT NOT NULL,
     step_id TEXT NOT NULL,
     completed_at INTEGER NOT NULL,
     PRIMARY KEY (learner_id, lab_id, step_id)
   );
   CREATE TABLE check_attempts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     learner_id TEXT NOT NULL REFERENCES learners(id),
     lab_id TEXT NOT NULL,
     step_id TEXT NOT NULL,
     passed INTEGER NOT NULL,
     result_json TEXT NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX check_attempts_by_step ON check_attempts (learner_id, lab_id, step_id, at);`,
  // Classrooms (server/classroom/class-store.ts): classes with a join code, the learners who joined
  // each (their session cookie stored only as a hash), and which warm-pool sandbox each learner got.
  `CREATE TABLE classes (
     id TEXT PRIMARY KEY,
     lab_id TEXT NOT NULL,
     name TEXT NOT NULL,
     join_code TEXT NOT NULL UNIQUE,
     join_open INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     ended_at INTEGER
   );
   CREATE TABLE class_learners (
     learner_id TEXT PRIMARY KEY REFERENCES learners(id),
     class_id TEXT NOT NULL REFERENCES classes(id),
     session_hash TEXT NOT NULL UNIQUE,
     joined_at INTEGER NOT NULL
   );
   CREATE INDEX class_learners_by_class ON class_learners (class_id, joined_at);
   CREATE TABLE pool_assignments (
     sandbox_id TEXT PRIMARY KEY,
     learner_id TEXT NOT NULL REFERENCES learners(id),
     lab_id TEXT NOT NULL,
     assigned_at INTEGER NOT NULL
   );`,
  // The learner's workspace (server/session/terminal-tabs.ts): their terminal tabs in order with the
  // names they gave them, and which workspace tab they last had in front (the instructor's board shows it).
  `CREATE TABLE terminal_tabs (
     learner_id TEXT NOT NULL REFERENCES learners(id),
     lab_id TEXT NOT NULL,
     terminal_id TEXT NOT NULL,
     title TEXT NOT NULL,
     position INTEGER NOT NULL,
     PRIMARY KEY (learner_id, lab_id, terminal_id)
   );
   CREATE TABLE workspace_active_tab (
     learner_id TEXT NOT NULL REFERENCES learners(id),
     lab_id TEXT NOT NULL,
     tab_id TEXT NOT NULL,
     title TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (learner_id, lab_id)
   );`,
  // Terminal recordings (server/recording/): the instructor turns them on per class.
  `ALTER TABLE classes ADD COLUMN recording INTEGER NOT NULL DEFAULT 0;`,
];

/** How long a writer waits for another connection's lock before failing, instead of failing at once. */
const BUSY_TIMEOUT_MS = 5000;

export interface LabProgress {
  labId: string;
  currentStep: string | null;
  completedSteps: string[];
  updatedAt: number | null;
}

export interface CheckAttempt {
  stepId: string;
  passed: boolean;
  result: unknown;
  at: number;
}

const progressRow = z.object({ lab_id: z.string(), current_step: z.string().nullable(), updated_at: z.number() });
const completionRow = z.object({ lab_id: z.string(), step_id: z.string() });
const attemptRow = z.object({ step_id: z.string(), passed: z.number(), result_json: z.string(), at: z.number() });

export class Store {
  private readonly db: Database.Database;
  private closed = false;

  /** Opens (creating if needed) `<dataDir>/labrun.db` and brings its schema up to date. */
  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, 'labrun.db'), { timeout: BUSY_TIMEOUT_MS });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  /** The open database, for feature stores that keep their own tables in it (classrooms). */
  get database(): Database.Database {
    return this.db;
  }

  get schemaVersion(): number {
    return z.number().parse(this.db.pragma('user_version', { simple: true }));
  }

  private migrate(): void {
    const from = this.schemaVersion;
    if (from > MIGRATIONS.length) {
      throw new Error(
        `the progress database is at schema version ${from}, newer than this labrun knows (${MIGRATIONS.length}); upgrade labrun or use another --data folder`,
      );
    }
    for (let v = from; v < MIGRATIONS.length; v++) {
      const sql = MIGRATIONS[v] ?? '';
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** Creates the learner if unknown; idempotent. */
  ensureLearner(id: string, displayName = id): void {
    this.db
      .prepare('INSERT INTO learners (id, display_name, created_at) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING')
      .run(id, displayName, Date.now());
  }

  setCurrentStep(learnerId: string, labId: string, stepId: string): void {
    this.db
      .prepare(
        `INSERT INTO progress (learner_id, lab_id, current_step, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(learner_id, lab_id) DO UPDATE SET current_step = excluded.current_step, updated_at = excluded.updated_at`,
      )
      .run(learnerId, labId, stepId, Date.now());
  }

  /** Records a check attempt and, when it passed, the step's completion (first completion time is kept). */
  recordAttempt(learnerId: string, labId: string, stepId: string, passed: boolean, result: unknown): void {
    const now = Date.now();
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO check_attempts (learner_id, lab_id, step_id, passed, result_json, at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(learnerId, labId, stepId, passed ? 1 : 0, JSON.stringify(result), now);
      if (passed) {
        this.db
          .prepare(
            `INSERT INTO step_completions (learner_id, lab_id, step_id, completed_at) VALUES (?, ?, ?, ?)
             ON CONFLICT DO NOTHING`,
          )
          .run(learnerId, labId, stepId, now);
      }
    })();
  }

  getProgress(learnerId: string, labId: string): LabProgress {
    return this.allProgress(learnerId, labId).get(labId) ?? { labId, currentStep: null, completedSteps: [], updatedAt: null };
  }

  /** Progress of one learner in every lab they touched (or only `onlyLab`), keyed by lab id. */
  allProgress(learnerId: string, onlyLab?: string): Map<string, LabProgress> {
    const out = new Map<string, LabProgress>();
    const entry = (labId: string): LabProgress => {
      let p = out.get(labId);
      if (!p) {
        p = { labId, currentStep: null, completedSteps: [], updatedAt: null };
        out.set(labId, p);
      }
      return p;
    };
    const labFilter = onlyLab === undefined ? '' : ' AND lab_id = ?';
    const args = onlyLab === undefined ? [learnerId] : [learnerId, onlyLab];
    for (const raw of this.db
      .prepare(`SELECT lab_id, current_step, updated_at FROM progress WHERE learner_id = ?${labFilter}`)
      .all(...args)) {
      const row = progressRow.parse(raw);
      const p = entry(row.lab_id);
      p.currentStep = row.current_step;
      p.updatedAt = row.updated_at;
    }
    for (const raw of this.db
      .prepare(`SELECT lab_id, step_id FROM step_completions WHERE learner_id = ?${labFilter} ORDER BY completed_at, step_id`)
      .all(...args)) {
      const row = completionRow.parse(raw);
      entry(row.lab_id).completedSteps.push(row.step_id);
    }
    return out;
  }

  /** Check attempts of one learner in one lab, oldest first. */
  attempts(learnerId: string, labId: string): CheckAttempt[] {
    return this.db
      .prepare('SELECT step_id, passed, result_json, at FROM check_attempts WHERE learner_id = ? AND lab_id = ? ORDER BY id')
      .all(learnerId, labId)
      .map((raw) => {
        const row = attemptRow.parse(raw);
        return { stepId: row.step_id, passed: row.passed === 1, result: JSON.parse(row.result_json) as unknown, at: row.at };
      });
  }

  /** Closes the database; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
