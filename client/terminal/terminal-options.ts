// xterm's options for every labrun terminal, in a module of their own (no CSS, no DOM) so that
// bench/terminal.ts can render with exactly these options when it compares with xterm alone.

/** Lines kept for scrolling back in the browser; xterm's default of 1000 is short for build logs. */
const SCROLLBACK_LINES = 5_000;

/** xterm's options for every labrun terminal (bench/terminal.ts renders with them too, to compare like with like). */
export const TERMINAL_OPTIONS = {
  cursorBlink: true,
  scrollback: SCROLLBACK_LINES,
  fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
  fontSize: 14,
  // At 1.0 the underscore of DejaVu Sans Mono falls below the cell and is clipped (LABRUN_MARK
  // rendered as "LABRUN MARK"); a little more height keeps it visible.
  lineHeight: 1.15,
} as const;
