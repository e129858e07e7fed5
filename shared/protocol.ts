// The terminal WebSocket protocol, shared by server (server/terminal/) and browser (client/terminal/).
// Encoding: pty output travels server→client as binary frames holding the raw bytes (no base64, no
// JSON per byte); everything else is a JSON text frame with a `type`. Every frame that arrives is
// parsed from `unknown` with a schema; a bad frame is answered by closing with CloseCode.BadFrame.
// No Node-only imports here: esbuild bundles this file into the client.
import * as z from 'zod';

/**
 * Application close codes (4000–4999 are free for applications, RFC 6455 §7.4.2). The client does not
 * reconnect after 4400/4401/4403/4404/4409: retrying cannot succeed or would fight another tab.
 */
export const CloseCode = {
  /** Normal end: the shell exited (an `exit` frame came first) or the server disposed the session. */
  Normal: 1000,
  /** Server shutting down; the client may reconnect to a new server. */
  GoingAway: 1001,
  /** The server could not provide what the socket is for, e.g. the sandbox did not start (RFC 6455). */
  InternalError: 1011,
  /** A frame failed to parse; the reason names the problem. */
  BadFrame: 4400,
  /** The upgrade carried no valid session (set by the web app). */
  Unauthenticated: 4401,
  /** The upgrade's Origin is not allowed (set by the web app). */
  Forbidden: 4403,
  /** Unknown lab or session, or a read-only attach to a key with no live terminal. */
  UnknownSession: 4404,
  /** A newer connection attached to the same terminal (another tab); this one is no longer live. */
  Replaced: 4409,
} as const;
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which retrying cannot help. */
export const NO_RETRY_CLOSE_CODES: readonly number[] = [
  CloseCode.BadFrame,
  CloseCode.Unauthenticated,
  CloseCode.Forbidden,
  CloseCode.UnknownSession,
  CloseCode.Replaced,
];

/**
 * Flow control, counted in bytes of pty output on both ends (VS Code's design, in bytes instead of
 * UTF-16 chars so server and client count the same unit). The client acks every ACK_BATCH_BYTES it
 * has rendered; the server pauses the pty above HIGH_WATERMARK unacked bytes and resumes below
 * LOW_WATERMARK. VS Code's 100 kB / 5 kB let the client's queue run dry on every pause (stop-and-go:
 * `seq 1 300000` took 1.1-1.8 s against 0.9-1.1 s in bench/terminal.ts). 256 kB / 128 kB still left
 * xterm idle ~20-40 ms per seq run waiting for the resumed output (measured in the page: time from
 * the ack that emptied its queue to the next frame); resuming at 256 kB of 384 kB brought that to 0.
 * The most ever in flight (~450 kB with one 64 KiB batch) stays below the ~500 kB at which xterm.js
 * turns sluggish, so Ctrl-C still lands promptly. wetty's 2 MB / 512 kB was not measurably faster.
 */
export const FlowControl = {
  HIGH_WATERMARK_BYTES: 384_000,
  LOW_WATERMARK_BYTES: 256_000,
  ACK_BATCH_BYTES: 5_000,
} as const;

/** Terminal sizes are clamped to this range: 0 makes node-pty throw, huge sizes waste memory in xterm. */
export const MIN_TERMINAL_SIZE = 1;
export const MAX_TERMINAL_SIZE = 1000;

/** One input frame is a keystroke or a pasted/Run-button command; 64 KiB is a generous paste. */
export const MAX_INPUT_CHARS = 64 * 1024;
/** Largest control text frame the server reads at all (input plus JSON escaping); bigger is refused unparsed. */
export const MAX_CLIENT_FRAME_BYTES = MAX_INPUT_CHARS * 6 + 1024;
/** Acks larger than this are nonsense (the server never has more than a few hundred kB in flight). */
const MAX_ACK_BYTES = 2 ** 31 - 1;

const clampSize = (n: number): number => Math.min(MAX_TERMINAL_SIZE, Math.max(MIN_TERMINAL_SIZE, n));
/** Sizes must be safe integers; out-of-range values are clamped, not refused (a tiny window is not an attack). */
const size = z.int().transform(clampSize);

// ---- client → server (all JSON text frames) ----

const InputFrame = z.strictObject({ type: z.literal('input'), data: z.string().max(MAX_INPUT_CHARS) });
const ResizeFrame = z.strictObject({ type: z.literal('resize'), cols: size, rows: size });
const AckFrame = z.strictObject({ type: z.literal('ack'), bytes: z.int().min(1).max(MAX_ACK_BYTES) });

/**
 * What this page understands beyond the first version of the protocol, sent after `hello`: the server
 * sends `flush` frames only to a page that said so, as a page loaded before them would close on one.
 */
const FeaturesFrame = z.strictObject({ type: z.literal('features'), flush: z.boolean() });
export const ClientFrameSchema = z.discriminatedUnion('type', [InputFrame, ResizeFrame, AckFrame, FeaturesFrame]);
export type ClientFrame = z.output<typeof ClientFrameSchema>;

// ---- server → client (JSON text frames; output is binary) ----

const HelloFrame = z.strictObject({
  type: z.literal('hello'),
  /** Bytes of scrollback replayed in the binary frames that follow: the client resets its screen first. */
  replayBytes: z.int().min(0),
  readOnly: z.boolean(),
  /** Whether this attach continues a shell that already existed (a reconnect) or started a new one. */
  resumed: z.boolean(),
});
const ExitFrame = z.strictObject({
  type: z.literal('exit'),
  code: z.int().nullable(),
  signal: z.int().nullable(),
});
const ErrorFrame = z.strictObject({ type: z.literal('error'), message: z.string(), code: z.int() });
/**
 * The shell's tty discarded the output it held (Ctrl-C under a flood): output received before this
 * frame and not drawn yet may be dropped too, except its last `keep` bytes, which are newer than the
 * flush. Dropped bytes are acked as if drawn.
 */
const FlushFrame = z.strictObject({ type: z.literal('flush'), keep: z.int().min(0) });

export const ServerControlFrameSchema = z.discriminatedUnion('type', [HelloFrame, ExitFrame, ErrorFrame, FlushFrame]);
export type ServerControlFrame = z.output<typeof ServerControlFrameSchema>;

export type ParseResult<T> = { ok: true; frame: T } | { ok: false; error: string };

function parseJsonFrame<T>(text: string, schema: z.ZodType<T>, maxChars: number): ParseResult<T> {
  if (text.length > maxChars) return { ok: false, error: `frame of ${text.length} chars exceeds ${maxChars}` };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'frame is not JSON' };
  }
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, frame: result.data };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { ok: false, error: `bad frame: ${where}${issue?.message ?? 'invalid'}` };
}

/** Parses a client→server text frame. Never throws. */
export function parseClientFrame(text: string): ParseResult<ClientFrame> {
  return parseJsonFrame(text, ClientFrameSchema, MAX_CLIENT_FRAME_BYTES);
}

/** Parses a server→client text frame (the client's side). Never throws. */
export function parseServerControlFrame(text: string): ParseResult<ServerControlFrame> {
  return parseJsonFrame(text, ServerControlFrameSchema, 64 * 1024);
}

export function encodeClientFrame(frame: z.input<typeof ClientFrameSchema>): string {
  return JSON.stringify(frame);
}

export function encodeServerControlFrame(frame: ServerControlFrame): string {
  return JSON.stringify(frame);
}

/** Close reasons are limited to 123 bytes of UTF-8 by RFC 6455; longer ones make `ws` throw. */
export function closeReason(text: string): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= 123) return text;
  return `${new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, '')}…`;
}
