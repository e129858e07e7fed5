// Types lines into a real terminal (a pty running the learner's shell) and waits for each to finish,
// as a learner would; each result is the exit status and what the terminal showed for that line.
import type { PtyLike } from '../../server/terminal/pty.ts';

/** One lesson command (compose up, curl) takes seconds; a minute means it hangs. */
const COMMAND_TIMEOUT_MS = 60_000;

/** A terminal that types one line and waits for its exit status, via a marker the shell echoes. */
export function typedTerminal(p: PtyLike): (line: string) => Promise<{ rc: number; output: string }> {
  let out = '';
  let waiter: (() => void) | undefined;
  p.onData((d: string | Buffer) => {
    out += d.toString();
    waiter?.();
  });
  let n = 0;
  return async (line: string): Promise<{ rc: number; output: string }> => {
    const id = n++;
    const from = out.length;
    const marker = new RegExp(`@@${id}:(\\d+)@@`);
    // On the same line: a command with a TTY (docker compose exec) would swallow anything typed ahead.
    p.write(`${line}; echo "@@${id}:$?@@"\r`);
    const deadline = Date.now() + COMMAND_TIMEOUT_MS;
    for (;;) {
      const m = marker.exec(out.slice(from));
      if (m) return { rc: Number(m[1]), output: out.slice(from, from + m.index) };
      if (Date.now() > deadline) throw new Error(`'${line}' did not finish within ${COMMAND_TIMEOUT_MS / 1000}s; terminal shows:\n${out.slice(from).slice(-2000)}`);
      await new Promise<void>((resolve) => {
        waiter = resolve;
        setTimeout(resolve, 500).unref();
      });
    }
  };
}

/** Terminal output without colour and cursor control sequences, as a person reads it. */
export function plainText(output: string): string {
  // eslint-disable-next-line no-control-regex
  return output.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g, '');
}
