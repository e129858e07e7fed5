// Runs one command in a container through the Engine API (no CLI): separate stdout and stderr,
// a byte cap on each, a timeout that kills the command, and the exit code.
import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { ExecResult } from './sandbox.ts';
import { demuxStream } from './frame-demux.ts';
import { CappedCollector } from './output.ts';

/** After the kill, how long to wait for the stream to close before abandoning it. */
const KILL_GRACE_MS = 2_000;
/** How long (polls × interval) to wait for the engine to record an exit after the output stream closed. */
const EXIT_POLLS = 40;
const EXIT_POLL_MS = 25;

export interface EngineExecOptions {
  argv: string[];
  env?: Record<string, string>;
  workingDir?: string;
  /** Written to the command's standard input, which is then closed. */
  stdin?: Buffer;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Kills the command (and what it started) once the timeout passes; gets the exec's pid as the engine reports it. */
  kill: (pid: number) => Promise<void>;
}

/** How long an exec may take to start before its request is given up. */
export const EXEC_START_TIMEOUT_MS = 15_000;

/**
 * Starts an exec and hands back its hijacked stream. When the engine refuses (the container is being
 * removed) or does not answer, the request is torn down: with stdin attached dockerode never ends it,
 * and the open request alone would keep the server process from exiting.
 */
export async function startExec(exec: Docker.Exec, opts: { stdin: boolean }): Promise<Duplex> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`the engine did not start the exec within ${EXEC_START_TIMEOUT_MS / 1000} s`)), EXEC_START_TIMEOUT_MS);
  try {
    return await exec.start({ hijack: true, stdin: opts.stdin, abortSignal: abort.signal });
  } catch (err) {
    abort.abort(err);
    throw err;
  } finally {
    // Never aborted once the stream is there: that would tear the hijacked stream down.
    clearTimeout(timer);
  }
}

const execInspectSchema = z.object({
  Running: z.boolean(),
  ExitCode: z.number().nullable().optional(),
  Pid: z.number(),
});

/** Before the one retry of a command the runtime could not start. */
const START_RETRY_DELAY_MS = 100;

/**
 * The runtime could not set the process up, so the command never ran: the engine writes its error into
 * the stream in place of output. Seen under load as runc's init dying early ("read init-p: connection
 * reset by peer"), which made a check report a wrong verdict. A program that is missing or not
 * executable fails the same way every time and is not retried.
 */
export function runtimeCouldNotStart(r: ExecResult): boolean {
  if (r.exitCode === 0 || r.timedOut) return false;
  const text = `${r.stdout}${r.stderr}`.trimStart();
  return text.startsWith('OCI runtime exec failed') && !/not found|no such file|permission denied|not a directory/i.test(text);
}

/** Runs a command with the Engine API; one that the runtime could not start is tried once more. */
export async function engineExec(container: Docker.Container, opts: EngineExecOptions): Promise<ExecResult> {
  const first = await engineExecOnce(container, opts);
  if (!runtimeCouldNotStart(first)) return first;
  await sleep(START_RETRY_DELAY_MS);
  const second = await engineExecOnce(container, opts);
  return { ...second, durationMs: first.durationMs + START_RETRY_DELAY_MS + second.durationMs };
}

async function engineExecOnce(container: Docker.Container, opts: EngineExecOptions): Promise<ExecResult> {
  const started = Date.now();
  const exec = await container.exec({
    Cmd: opts.argv,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: opts.stdin !== undefined,
    Tty: false,
    Env: opts.env ? Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) : undefined,
    WorkingDir: opts.workingDir,
  });
  const stream = await startExec(exec, { stdin: opts.stdin !== undefined });
  // Half-closing the hijacked connection is how the engine learns the input ended (the command sees EOF).
  if (opts.stdin !== undefined) stream.end(opts.stdin);
  const stdout = new CappedCollector(opts.maxOutputBytes);
  const stderr = new CappedCollector(opts.maxOutputBytes);
  demuxStream(
    stream,
    (c) => stdout.write(c),
    (c) => stderr.write(c),
  );

  let timedOut = false;
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), opts.timeoutMs);
  });
  try {
    if ((await Promise.race([ended, timeout])) === 'timeout') {
      timedOut = true;
      const info = execInspectSchema.safeParse(await exec.inspect());
      if (info.success && info.data.Running && info.data.Pid > 0) await opts.kill(info.data.Pid);
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise<void>((resolve) => (grace = setTimeout(resolve, KILL_GRACE_MS)))]);
      clearTimeout(grace);
    }
  } finally {
    clearTimeout(timer);
    stream.destroy();
  }

  let exitCode: number | null = null;
  if (!timedOut) {
    // The engine can close the stream a moment before it records the exit: ask again briefly.
    for (let i = 0; i < EXIT_POLLS; i++) {
      const info = execInspectSchema.safeParse(await exec.inspect());
      if (info.success && !info.data.Running) {
        exitCode = info.data.ExitCode ?? null;
        break;
      }
      await sleep(EXIT_POLL_MS);
    }
  }
  return {
    exitCode,
    stdout: stdout.text(),
    stderr: stderr.text(),
    timedOut,
    truncated: stdout.truncated || stderr.truncated,
    durationMs: Date.now() - started,
  };
}
