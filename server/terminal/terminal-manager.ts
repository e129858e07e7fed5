// The server's registry of live terminals, one per key (a learner's session key, see
// server/session/session-key.ts). The session owner calls attach() once the upgrade is authenticated; a second attach with the same key
// continues the same shell (scrollback replayed). A terminal whose writer socket is gone lives on
// for a grace period so a reload or a flaky network does not lose the shell.
import type { WebSocket } from 'ws';
import { CloseCode, closeReason, encodeServerControlFrame } from '../../shared/protocol.ts';
import type { PtyLike } from './pty.ts';
import { TerminalSession, type CloseWith, type TerminalTap } from './terminal-session.ts';

/** Long enough to survive a laptop lid closed over a coffee; short enough not to hoard shells. */
const DEFAULT_GRACE_MS = 10 * 60 * 1000;
/** A few screens of a noisy build; bounded so 100 idle learners cost at most ~25 MB. */
const DEFAULT_SCROLLBACK_BYTES = 256 * 1024;
/** Size of the pty until the client's first resize frame arrives (the classic VT100 size). */
const INITIAL_COLS = 80;
const INITIAL_ROWS = 24;

export interface TerminalManagerOptions {
  graceMs?: number;
  scrollbackBytes?: number;
}

export class TerminalManager {
  readonly #sessions = new Map<string, TerminalSession>();
  /** key → the group it belongs to (a learner's session has several terminals, ended together). */
  readonly #groups = new Map<string, string>();
  readonly #graceMs: number;
  readonly #scrollbackBytes: number;
  #disposePromise: Promise<void> | undefined;

  constructor(opts: TerminalManagerOptions = {}) {
    this.#graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    this.#scrollbackBytes = opts.scrollbackBytes ?? DEFAULT_SCROLLBACK_BYTES;
  }

  /** Terminals live now (a shell in a sandbox, attached or in its reconnect grace). */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Connects `ws` to the terminal `key`, spawning it with `spawn(cols, rows)` if none is live. Spawn
   * with `encoding: null` so output stays raw bytes. A read-only attach never spawns: with no live
   * terminal it closes with 4404. Never throws; failures close the socket with a reason.
   */
  attach(
    ws: WebSocket,
    key: string,
    spawn: (cols: number, rows: number) => PtyLike,
    opts: { readOnly?: boolean; onInput?: () => void; group?: string; tap?: (cols: number, rows: number) => TerminalTap | undefined } = {},
  ): void {
    const readOnly = opts.readOnly ?? false;
    // A socket that closed while the caller authenticated would never fire 'close' for us, so its
    // terminal would never start its grace timer: refuse it before spawning anything.
    if (ws.readyState !== ws.OPEN) return;
    if (this.#disposePromise) {
      ws.close(CloseCode.GoingAway, 'server is shutting down');
      return;
    }
    let session = this.#sessions.get(key);
    if (!session) {
      if (readOnly) {
        ws.close(CloseCode.UnknownSession, 'no live terminal to watch for this session');
        return;
      }
      let pty: PtyLike;
      try {
        pty = spawn(INITIAL_COLS, INITIAL_ROWS);
      } catch (err) {
        const message = `could not start the terminal: ${err instanceof Error ? err.message : String(err)}`;
        if (ws.readyState === ws.OPEN) ws.send(encodeServerControlFrame({ type: 'error', message, code: 1011 }));
        ws.close(1011, closeReason(message));
        return;
      }
      const tap = opts.tap?.(INITIAL_COLS, INITIAL_ROWS);
      const created: TerminalSession = new TerminalSession(pty, {
        ...(tap && { tap }),
        graceMs: this.#graceMs,
        scrollbackBytes: this.#scrollbackBytes,
        onEnd: () => {
          if (this.#sessions.get(key) !== created) return;
          this.#sessions.delete(key);
          this.#groups.delete(key);
        },
      });
      session = created;
      this.#sessions.set(key, session);
      if (opts.group !== undefined) this.#groups.set(key, opts.group);
    }
    session.attach(ws, readOnly, opts.onInput);
  }

  /** Ends the terminal `key` (its shell's whole session), closing its sockets with `closeWith`; no-op if none. */
  async end(key: string, closeWith: CloseWith): Promise<void> {
    await this.#sessions.get(key)?.dispose(closeWith);
  }

  /** Ends every terminal attached with `group` (a learner's whole session), as end() does. */
  async endGroup(group: string, closeWith: CloseWith): Promise<void> {
    const keys = [...this.#groups].filter(([, g]) => g === group).map(([k]) => k);
    await Promise.all(keys.map((k) => this.end(k, closeWith)));
  }

  /** Types `text` into the live terminal `key`; false when there is none. */
  type(key: string, text: string): boolean {
    return this.#sessions.get(key)?.type(text) ?? false;
  }

  /** Whether a live terminal exists for `key` (attached or within its grace period). */
  has(key: string): boolean {
    return this.#sessions.has(key);
  }

  /** Pid of the terminal's shell (the leader of its process group), for diagnostics and tests. */
  pidOf(key: string): number | undefined {
    return this.#sessions.get(key)?.pid;
  }

  /** Kills every terminal (whole process sessions) and closes every socket; idempotent. */
  dispose(): Promise<void> {
    this.#disposePromise ??= Promise.all([...this.#sessions.values()].map((s) => s.dispose())).then(() => {
      this.#sessions.clear();
      this.#groups.clear();
    });
    return this.#disposePromise;
  }
}
