// The browser side of the terminal: an xterm.js terminal wired to the server's WebSocket with the
// protocol in shared/protocol.ts. Renders raw output bytes, acknowledges them once rendered (flow
// control; output waits in a WriteQueue, so what a tty flush made stale is dropped undrawn), sends
// keystrokes and size changes, and reconnects by itself with exponential backoff,
// reporting every state change through onStatus so the page can say what is going on. Clipboard:
// Ctrl+Shift+C copies the selection (and, as an option, selecting copies), Ctrl+Shift+V and the
// browser's context menu paste through xterm's paste path, so bracketed paste (mode 2004) is honoured.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import '@xterm/xterm/css/xterm.css';
import { TERMINAL_OPTIONS } from './terminal-options.ts';
import { WriteQueue } from './write-queue.ts';
import {
  FlowControl,
  MAX_INPUT_CHARS,
  NO_RETRY_CLOSE_CODES,
  CloseCode,
  encodeClientFrame,
  parseServerControlFrame,
  type ServerControlFrame,
} from '../../shared/protocol.ts';

/** First retry soon (a server restart takes about a second), then back off so a dead server is not hammered. */
const RETRY_INITIAL_MS = 500;
const RETRY_MAX_MS = 8_000;
/** Run presses kept while a terminal connects; more is someone clicking Run over and over. */
const MAX_PENDING_INPUTS = 16;

export type TerminalStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'open'; resumed: boolean; readOnly: boolean }
  | { state: 'reconnecting'; attempt: number; retryInMs: number; code: number; reason: string }
  | { state: 'exited'; code: number | null; signal: number | null }
  | { state: 'closed'; code: number; reason: string };

export interface TerminalHandle {
  /**
   * Types text into the terminal as if the user had (e.g. the Run button); ignored while read-only.
   * Text sent before the connection is open waits for it (a Run into a tab just opened).
   */
  sendInput(text: string): void;
  /** Sends keys as typed (the key bar): dropped while the connection is down, like keystrokes. */
  sendKeys(bytes: string): void;
  /** Pastes text the way xterm pastes (newlines as Enter, bracketed when the program asked for it). */
  paste(text: string): void;
  /** Copies the selection to the clipboard; false when nothing is selected or the browser refused. */
  copySelection(): Promise<boolean>;
  /** Pastes the clipboard's text; false when the browser refused to read it. */
  pasteClipboard(): Promise<boolean>;
  /** Whether the program asked for application cursor keys (arrows then send ESC O A, not ESC [ A). */
  readonly applicationCursorKeys: boolean;
  setScreenReaderMode(on: boolean): void;
  focus(): void;
  /** Refits the terminal to its element, e.g. after a layout change that ResizeObserver cannot see. */
  fit(): void;
  dispose(): void;
}

export interface MountTerminalOptions {
  url: string;
  onStatus?: (s: TerminalStatus) => void;
  /** xterm's screen-reader mode: output is mirrored into a live region assistive technology reads. */
  screenReaderMode?: boolean;
  /** Read on every selection change: whether selecting text copies it. */
  copyOnSelect?: () => boolean;
  /** What the user types passes through here first (the key bar's sticky Ctrl and Alt). */
  transformInput?: (data: string) => string;
  /** Ctrl+Shift+Up: the user wants the keyboard out of the terminal (Tab is the shell's there). */
  onLeave?: () => void;
  /** The browser refused a clipboard access; the page says so. */
  onClipboardError?: (message: string) => void;
}

export function mountTerminal(el: HTMLElement, opts: MountTerminalOptions): TerminalHandle {
  const term = new Terminal({ ...TERMINAL_OPTIONS, screenReaderMode: opts.screenReaderMode ?? false });
  const fitAddon = new FitAddon();
  term.loadAddon(fitAddon);
  term.loadAddon(new WebLinksAddon());
  term.open(el);
  const output = new WriteQueue(term);

  let socket: WebSocket | undefined;
  /** Bumped per connection, so callbacks of an old socket (late write callbacks, events) are ignored. */
  let generation = 0;
  let attempt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let unacked = 0;
  let readOnly = false;
  let exited = false;
  let disposed = false;
  /** Input typed or Run before the socket is open (or while it reconnects), sent once it is. */
  let pending: string[] = [];

  const report = (s: TerminalStatus): void => opts.onStatus?.(s);

  const send = (frame: Parameters<typeof encodeClientFrame>[0]): void => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(encodeClientFrame(frame));
  };

  const sendResize = (): void => send({ type: 'resize', cols: term.cols, rows: term.rows });

  const ack = (bytes: number, gen: number): void => {
    if (gen !== generation) return;
    unacked += bytes;
    if (unacked >= FlowControl.ACK_BATCH_BYTES) {
      send({ type: 'ack', bytes: unacked });
      unacked = 0;
    }
  };

  const onControl = (frame: ServerControlFrame): void => {
    switch (frame.type) {
      case 'hello':
        // The server replays its scrollback next: start from a clean screen so nothing shows twice.
        output.clear();
        term.reset();
        attempt = 0;
        exited = false;
        readOnly = frame.readOnly;
        term.options.disableStdin = readOnly;
        send({ type: 'features', flush: true });
        sendResize();
        if (!readOnly) for (const text of pending.splice(0)) sendNow(text);
        pending = [];
        report({ state: 'open', resumed: frame.resumed, readOnly });
        return;
      case 'exit':
        exited = true;
        output.message(`\r\n\x1b[2m[shell exited${frame.code === null ? '' : ` with code ${frame.code}`} — press Enter for a new one]\x1b[0m\r\n`);
        report({ state: 'exited', code: frame.code, signal: frame.signal });
        return;
      case 'error':
        output.message(`\r\n\x1b[31m${printable(frame.message)}\x1b[0m\r\n`);
        return;
      case 'flush':
        output.dropStale(frame.keep);
        return;
    }
  };

  const connect = (): void => {
    retryTimer = undefined;
    const gen = ++generation;
    unacked = 0;
    report({ state: 'connecting', attempt });
    const ws = new WebSocket(opts.url);
    ws.binaryType = 'arraybuffer';
    socket = ws;
    ws.onmessage = (ev: MessageEvent<unknown>) => {
      if (gen !== generation) return;
      if (ev.data instanceof ArrayBuffer) {
        const bytes = new Uint8Array(ev.data);
        output.output(bytes, (n) => ack(n, gen));
        return;
      }
      const parsed = parseServerControlFrame(typeof ev.data === 'string' ? ev.data : '');
      if (parsed.ok) onControl(parsed.frame);
      else ws.close(CloseCode.BadFrame, 'client could not parse a server frame');
    };
    ws.onclose = (ev: CloseEvent) => {
      if (gen !== generation || disposed) return;
      socket = undefined;
      if (exited) return; // Enter starts a new shell (see onData); reconnecting now would do it unasked.
      if (NO_RETRY_CLOSE_CODES.includes(ev.code)) {
        report({ state: 'closed', code: ev.code, reason: ev.reason || describeClose(ev.code) });
        return;
      }
      const retryInMs = Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** attempt);
      attempt++;
      report({ state: 'reconnecting', attempt, retryInMs, code: ev.code, reason: ev.reason });
      retryTimer = setTimeout(connect, retryInMs);
    };
  };

  const sendNow = (text: string): void => {
    for (let i = 0; i < text.length; i += MAX_INPUT_CHARS) send({ type: 'input', data: text.slice(i, i + MAX_INPUT_CHARS) });
  };
  /** Keystrokes: to the shell if connected; typed while the connection is down they are dropped, as before. */
  const sendText = (text: string, queue = false): void => {
    if (readOnly) return;
    if (exited && socket === undefined) {
      connect();
      return;
    }
    if (socket?.readyState === WebSocket.OPEN && attempt === 0) sendNow(text);
    // Only a Run waits for the connection: replaying keys typed blind into a reconnected shell would surprise.
    else if (queue && pending.length < MAX_PENDING_INPUTS) pending.push(text);
  };

  const copySelection = async (): Promise<boolean> => {
    const text = term.getSelection();
    if (!text) return false;
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (err) {
      opts.onClipboardError?.(`Copy was refused by the browser (${err instanceof Error ? err.message : String(err)}); use the context menu's Copy.`);
      return false;
    }
  };
  const pasteClipboard = async (): Promise<boolean> => {
    try {
      const text = await navigator.clipboard.readText();
      if (text) term.paste(text);
      return true;
    } catch (err) {
      opts.onClipboardError?.(`Paste was refused by the browser (${err instanceof Error ? err.message : String(err)}); use the context menu's Paste or Ctrl+V.`);
      return false;
    }
  };
  term.attachCustomKeyEventHandler((ev: KeyboardEvent): boolean => {
    if (ev.type !== 'keydown' || !ev.ctrlKey || !ev.shiftKey || ev.altKey || ev.metaKey) return true;
    const key = ev.key.toLowerCase();
    if (key === 'c' || key === 'v' || ev.key === 'ArrowUp') {
      // The browser's own Ctrl+Shift+V would paste a second time through the textarea.
      ev.preventDefault();
      if (key === 'c') void copySelection();
      else if (key === 'v') void pasteClipboard();
      else opts.onLeave?.();
      return false;
    }
    return true;
  });
  const selectionListener = term.onSelectionChange(() => {
    if (opts.copyOnSelect?.() && term.hasSelection()) void copySelection();
  });

  const dataListener = term.onData((data) => sendText(opts.transformInput ? opts.transformInput(data) : data));
  const resizeListener = term.onResize(sendResize);
  let fitFrame: number | undefined;
  const fit = (): void => {
    // Fitting a hidden or zero-sized element would shrink the pty to nothing; wait until it has a size.
    if (el.clientWidth > 0 && el.clientHeight > 0) fitAddon.fit();
  };
  const observer = new ResizeObserver(() => {
    // One fit per frame, however many resize events a drag produces.
    if (fitFrame === undefined) {
      fitFrame = requestAnimationFrame(() => {
        fitFrame = undefined;
        fit();
      });
    }
  });
  observer.observe(el);
  fit();
  connect();

  return {
    sendInput: (text) => sendText(text, true),
    sendKeys: (bytes) => sendText(bytes),
    paste: (text) => term.paste(text),
    copySelection,
    pasteClipboard,
    get applicationCursorKeys() {
      return term.modes.applicationCursorKeysMode;
    },
    setScreenReaderMode: (on) => {
      term.options.screenReaderMode = on;
    },
    focus: () => term.focus(),
    fit,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      if (fitFrame !== undefined) cancelAnimationFrame(fitFrame);
      observer.disconnect();
      dataListener.dispose();
      resizeListener.dispose();
      selectionListener.dispose();
      socket?.close(CloseCode.Normal, 'terminal closed by the page');
      socket = undefined;
      term.dispose();
    },
  };
}

/** Server messages are shown in the terminal: drop control characters so they cannot drive it. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ');
}

function describeClose(code: number): string {
  switch (code) {
    case CloseCode.BadFrame:
      return 'protocol error';
    case CloseCode.Unauthenticated:
      return 'not signed in';
    case CloseCode.Forbidden:
      return 'connection not allowed from this page';
    case CloseCode.UnknownSession:
      return 'no such lab or session';
    case CloseCode.Replaced:
      return 'this terminal was opened in another tab';
    default:
      return `connection closed (${code})`;
  }
}
