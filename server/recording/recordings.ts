// Terminal recordings of a class's learners, as asciicast v2 files kept beside the progress store:
// `<data>/recordings/<class>/<learner>/<lab>-<started ms>.cast`. The instructor turns recording on
// per class (stored with the class); each learner terminal gets a tap that opens a file at its first
// output while recording is on, writes output, size changes and a marker whenever the learner's step
// changes, and closes the file when recording goes off or the terminal ends. Off means no file is
// ever opened. Ending a class removes its recordings.
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { RecordingInfo } from '../../shared/api.ts';
import type { ClassStore } from '../classroom/class-store.ts';
import type { Disposable } from '../lifetime.ts';
import { sessionKey } from '../session/session-key.ts';
import type { TerminalRecorder } from '../session/learner-sessions.ts';
import type { TerminalTap } from '../terminal/terminal-session.ts';
import { CastWriter } from './asciicast.ts';

/** A recording's id is its file name without `.cast`: the lab id, a dash, the start time in ms. */
const RECORDING_ID = /^([a-z0-9][a-z0-9._-]*)-(\d{10,})$/;
/** Ids of classes and learners as the class store makes them; anything else is never a path segment. */
const SAFE_SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

export interface RecordingsOptions {
  /** The data folder (`--data`); recordings go under `<dataDir>/recordings`. */
  dataDir: string;
  classes: ClassStore;
  /** Also record keystrokes ("i" events); off by default. */
  input?: boolean;
}

class RecordingTap implements TerminalTap {
  #writer: CastWriter | undefined;
  #ended = false;

  constructor(
    private readonly owner: Recordings,
    readonly classId: string,
    private readonly file: (startedAt: number) => string,
    private cols: number,
    private rows: number,
    private step: string | undefined,
    private readonly recordInput: boolean,
  ) {}

  /** The writer while recording is on (opened on first need), else none (closing one left open). */
  #active(): CastWriter | undefined {
    if (this.#ended) return undefined;
    if (!this.owner.isOn(this.classId)) {
      this.stop();
      return undefined;
    }
    if (!this.#writer) {
      const now = Date.now();
      this.#writer = new CastWriter({ path: this.file(now), cols: this.cols, rows: this.rows, input: this.recordInput });
      if (this.step) this.#writer.marker(this.step);
    }
    return this.#writer;
  }

  output(chunk: Buffer): void {
    this.#active()?.output(chunk);
  }

  input(data: string): void {
    this.#active()?.input(data);
  }

  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    // Before the first output the header takes the size; after it, a resize event does.
    this.#writer?.resize(cols, rows);
  }

  mark(stepId: string): void {
    if (stepId === this.step) return;
    this.step = stepId;
    this.#writer?.marker(stepId);
  }

  /** Closes the current file; a later output while recording is on starts a new one. */
  stop(): Promise<void> {
    const w = this.#writer;
    this.#writer = undefined;
    return w?.close() ?? Promise.resolve();
  }

  end(): void {
    this.#ended = true;
    void this.stop();
    this.owner.forget(this);
  }
}

export class Recordings implements TerminalRecorder, Disposable {
  readonly #dir: string;
  readonly #classes: ClassStore;
  readonly #input: boolean;
  /** Class id → recording on; read from the store once, then kept in step with setRecording(). */
  readonly #on = new Map<string, boolean>();
  readonly #taps = new Map<string, Set<RecordingTap>>();

  constructor(opts: RecordingsOptions) {
    this.#dir = path.join(opts.dataDir, 'recordings');
    this.#classes = opts.classes;
    this.#input = opts.input ?? false;
  }

  isOn(classId: string): boolean {
    let on = this.#on.get(classId);
    if (on === undefined) {
      const cls = this.#classes.byId(classId);
      on = cls?.recording === true && cls.endedAt === null;
      this.#on.set(classId, on);
    }
    return on;
  }

  /** Turns a class's recording on or off (stored); off closes every open recording of the class at once. */
  async setRecording(classId: string, on: boolean): Promise<void> {
    this.#classes.setRecording(classId, on);
    this.#on.set(classId, on);
    if (!on) await Promise.all([...this.#taps.values()].flatMap((set) => [...set].filter((t) => t.classId === classId).map((t) => t.stop())));
  }

  #learnerDir(classId: string, learnerId: string): string | undefined {
    if (!SAFE_SEGMENT.test(classId) || !SAFE_SEGMENT.test(learnerId)) return undefined;
    return path.join(this.#dir, classId, learnerId);
  }

  tap(learnerId: string, labId: string, cols: number, rows: number, stepId: string | undefined): TerminalTap | undefined {
    const member = this.#classes.learner(learnerId);
    const dir = member && this.#learnerDir(member.classId, learnerId);
    if (!member || !dir) return undefined;
    const file = (startedAt: number): string => {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return path.join(dir, `${labId}-${startedAt}.cast`);
    };
    const t = new RecordingTap(this, member.classId, file, cols, rows, stepId, this.#input);
    const key = sessionKey(learnerId, labId);
    let set = this.#taps.get(key);
    if (!set) {
      set = new Set();
      this.#taps.set(key, set);
    }
    set.add(t);
    return t;
  }

  forget(t: RecordingTap): void {
    for (const [key, set] of this.#taps) {
      if (set.delete(t) && set.size === 0) this.#taps.delete(key);
    }
  }

  mark(learnerId: string, labId: string, stepId: string): void {
    for (const t of this.#taps.get(sessionKey(learnerId, labId)) ?? []) t.mark(stepId);
  }

  /** A learner's recordings of a lab, oldest first (none outside a class). */
  list(learnerId: string, labId: string): RecordingInfo[] {
    const member = this.#classes.learner(learnerId);
    const dir = member && this.#learnerDir(member.classId, learnerId);
    if (!dir) return [];
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith('.cast'))
      .map((n) => RECORDING_ID.exec(n.slice(0, -'.cast'.length)))
      .filter((m): m is RegExpExecArray => m !== null && m[1] === labId)
      .map((m) => ({ id: m[0], labId, startedAt: Number(m[2]), bytes: statSync(path.join(dir, `${m[0]}.cast`)).size }))
      .sort((a, b) => a.startedAt - b.startedAt);
  }

  /** The file of one of a learner's recordings, or undefined when there is no such recording. */
  file(learnerId: string, labId: string, id: string): string | undefined {
    return this.list(learnerId, labId).some((r) => r.id === id) ? this.#fileOf(learnerId, id) : undefined;
  }

  #fileOf(learnerId: string, id: string): string | undefined {
    const member = this.#classes.learner(learnerId);
    const dir = member && this.#learnerDir(member.classId, learnerId);
    return dir && path.join(dir, `${id}.cast`);
  }

  /** Removes every recording of a class (the class ended). */
  async removeClass(classId: string): Promise<void> {
    this.#on.set(classId, false);
    await Promise.all([...this.#taps.values()].flatMap((set) => [...set].filter((t) => t.classId === classId).map((t) => t.stop())));
    if (SAFE_SEGMENT.test(classId)) await rm(path.join(this.#dir, classId), { recursive: true, force: true });
  }

  /** Closes every open recording (the server is stopping); files stay. */
  async dispose(): Promise<void> {
    await Promise.all([...this.#taps.values()].flatMap((set) => [...set].map((t) => t.stop())));
  }
}
