// Classes in SQLite (tables made by the store's migrations): a class teaches one lab, has a join
// code that can be closed, and ends; learners join it with a display name and are known afterwards
// only by the hash of their session cookie. Also records which warm-pool sandbox each learner got,
// since a pool sandbox's Docker labels still say "pool" after it is handed out.
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { newJoinCode, newSessionSecret, hashSessionSecret } from './join-code.ts';

/** Tries at a fresh code before giving up: a clash among 387 million codes is already rare. */
const CODE_ATTEMPTS = 20;

export interface ClassInfo {
  id: string;
  labId: string;
  name: string;
  joinCode: string;
  joinOpen: boolean;
  createdAt: number;
  endedAt: number | null;
  /** Whether its learners' terminals are recorded (server/recording/). */
  recording: boolean;
}

export interface ClassLearner {
  learnerId: string;
  classId: string;
  displayName: string;
  joinedAt: number;
}

const classRow = z.object({
  id: z.string(),
  lab_id: z.string(),
  name: z.string(),
  join_code: z.string(),
  join_open: z.number(),
  created_at: z.number(),
  ended_at: z.number().nullable(),
  recording: z.number(),
});
const learnerRow = z.object({ learner_id: z.string(), class_id: z.string(), display_name: z.string(), joined_at: z.number() });
const assignmentRow = z.object({ sandbox_id: z.string(), learner_id: z.string(), lab_id: z.string() });

function toClass(raw: unknown): ClassInfo {
  const r = classRow.parse(raw);
  return { id: r.id, labId: r.lab_id, name: r.name, joinCode: r.join_code, joinOpen: r.join_open === 1, createdAt: r.created_at, endedAt: r.ended_at, recording: r.recording === 1 };
}

function toLearner(raw: unknown): ClassLearner {
  const r = learnerRow.parse(raw);
  return { learnerId: r.learner_id, classId: r.class_id, displayName: r.display_name, joinedAt: r.joined_at };
}

const LEARNER_SELECT = `SELECT cl.learner_id, cl.class_id, l.display_name, cl.joined_at
  FROM class_learners cl JOIN learners l ON l.id = cl.learner_id`;

export class ClassStore {
  constructor(private readonly db: Database.Database) {}

  createClass(labId: string, name: string): ClassInfo {
    const id = `c${randomBytes(6).toString('hex')}`;
    const now = Date.now();
    for (let i = 0; i < CODE_ATTEMPTS; i++) {
      const code = newJoinCode();
      const taken = this.db.prepare('SELECT 1 FROM classes WHERE join_code = ?').get(code);
      if (taken) continue;
      this.db
        .prepare('INSERT INTO classes (id, lab_id, name, join_code, join_open, created_at) VALUES (?, ?, ?, ?, 1, ?)')
        .run(id, labId, name, code, now);
      return { id, labId, name, joinCode: code, joinOpen: true, createdAt: now, endedAt: null, recording: false };
    }
    throw new Error(`could not find an unused join code in ${CODE_ATTEMPTS} tries`);
  }

  classes(): ClassInfo[] {
    return this.db.prepare('SELECT * FROM classes ORDER BY created_at DESC').all().map(toClass);
  }

  byId(id: string): ClassInfo | undefined {
    const raw = this.db.prepare('SELECT * FROM classes WHERE id = ?').get(id);
    return raw === undefined ? undefined : toClass(raw);
  }

  byCode(code: string): ClassInfo | undefined {
    const raw = this.db.prepare('SELECT * FROM classes WHERE join_code = ?').get(code);
    return raw === undefined ? undefined : toClass(raw);
  }

  setJoinOpen(id: string, open: boolean): void {
    this.db.prepare('UPDATE classes SET join_open = ? WHERE id = ?').run(open ? 1 : 0, id);
  }

  setRecording(id: string, on: boolean): void {
    this.db.prepare('UPDATE classes SET recording = ? WHERE id = ?').run(on ? 1 : 0, id);
  }

  end(id: string): void {
    this.db.prepare('UPDATE classes SET join_open = 0, ended_at = COALESCE(ended_at, ?) WHERE id = ?').run(Date.now(), id);
  }

  /** Adds a new learner to a class; returns the learner and the session secret for their cookie (never stored). */
  addLearner(classId: string, displayName: string): { learner: ClassLearner; secret: string } {
    const learnerId = `l${randomBytes(8).toString('hex')}`;
    const { secret, hash } = newSessionSecret();
    const now = Date.now();
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO learners (id, display_name, created_at) VALUES (?, ?, ?)').run(learnerId, displayName, now);
      this.db.prepare('INSERT INTO class_learners (learner_id, class_id, session_hash, joined_at) VALUES (?, ?, ?, ?)').run(learnerId, classId, hash, now);
    })();
    return { learner: { learnerId, classId, displayName, joinedAt: now }, secret };
  }

  /** The learner a session cookie's secret belongs to, or undefined. */
  learnerBySecret(secret: string): ClassLearner | undefined {
    const raw = this.db.prepare(`${LEARNER_SELECT} WHERE cl.session_hash = ?`).get(hashSessionSecret(secret));
    return raw === undefined ? undefined : toLearner(raw);
  }

  /** Who a learner cookie's secret proves: undefined when unknown or when its class has ended (its sandboxes are gone). */
  memberBySecret(secret: string): { learnerId: string; classId: string; labId: string } | undefined {
    const member = this.learnerBySecret(secret);
    const cls = member && this.byId(member.classId);
    if (!member || !cls || cls.endedAt !== null) return undefined;
    return { learnerId: member.learnerId, classId: cls.id, labId: cls.labId };
  }

  learner(learnerId: string): ClassLearner | undefined {
    const raw = this.db.prepare(`${LEARNER_SELECT} WHERE cl.learner_id = ?`).get(learnerId);
    return raw === undefined ? undefined : toLearner(raw);
  }

  learners(classId: string): ClassLearner[] {
    return this.db.prepare(`${LEARNER_SELECT} WHERE cl.class_id = ? ORDER BY cl.joined_at, cl.learner_id`).all(classId).map(toLearner);
  }

  /** Records that a warm-pool sandbox now belongs to a learner. */
  assignSandbox(sandboxId: string, learnerId: string, labId: string): void {
    this.db
      .prepare('INSERT INTO pool_assignments (sandbox_id, learner_id, lab_id, assigned_at) VALUES (?, ?, ?, ?) ON CONFLICT(sandbox_id) DO UPDATE SET learner_id = excluded.learner_id, lab_id = excluded.lab_id')
      .run(sandboxId, learnerId, labId, Date.now());
  }

  /** Which learner a pool sandbox was handed to, if any. */
  assignmentOf(sandboxId: string): { learnerId: string; labId: string } | undefined {
    const raw = this.db.prepare('SELECT sandbox_id, learner_id, lab_id FROM pool_assignments WHERE sandbox_id = ?').get(sandboxId);
    if (raw === undefined) return undefined;
    const r = assignmentRow.parse(raw);
    return { learnerId: r.learner_id, labId: r.lab_id };
  }

  forgetSandbox(sandboxId: string): void {
    this.db.prepare('DELETE FROM pool_assignments WHERE sandbox_id = ?').run(sandboxId);
  }
}
