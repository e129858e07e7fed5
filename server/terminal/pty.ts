// What a terminal needs from the process behind it: the narrow pty interface every sandbox driver
// offers (a local node-pty running `docker exec`, later a remote exec stream, or a test's fake).
// node-pty's IPty fits it as is; nothing here depends on node-pty.

export interface PtyLike {
  /**
   * The shell's process id when it runs on this host (node-pty makes it a session leader), so its
   * whole session can be signalled; undefined for a pty with no local process.
   */
  readonly pid?: number | undefined;
  /** Output: raw bytes when spawned with `encoding: null`; strings are re-encoded as UTF-8. */
  onData(listener: (data: Buffer | string) => void): unknown;
  onExit(listener: (e: { exitCode: number; signal?: number | undefined }) => void): unknown;
  /**
   * The tty discarded the output it held (Ctrl-C under a flood, with ISIG and without NOFLSH): output
   * passed on before, except its last `keep` bytes, is as stale and need not be shown. Optional: a
   * pty that cannot tell never calls it.
   */
  onFlush?(listener: (keep: number) => void): unknown;
  write(data: string): void;
  /** May throw once the pty has closed (the caller tolerates that race). */
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  /** Signals the shell; used only when there is no local pid whose session can be signalled instead. */
  kill(signal?: string): void;
}
