// `labrun test --record DIR`: the self-test's run as an asciicast v2 file per lab, for lab authors to
// watch what each step's setup, checks and solve ran and printed. A sandbox wrapper writes every
// command as a prompt line followed by its output, and a marker per step; the sandbox is unchanged.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { CastWriter } from './asciicast.ts';

/** A wide, tall screen: check output is often a table. */
const COLS = 120;
const ROWS = 36;

/** How a command reads on the recording's prompt line (the script of `bash -lc <script>`, else argv). */
function shown(argv: readonly string[]): string {
  if (argv[0] === 'bash' && (argv[1] === '-lc' || argv[1] === '-c') && argv[2] !== undefined) return argv[2];
  return argv.join(' ');
}

const crlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');

export interface RunRecording {
  sandbox: Sandbox;
  /** Marks the start of a step (a marker event and a heading line). */
  step(id: string, title: string): void;
  close(): Promise<void>;
  path: string;
}

/** Wraps `sandbox` so every exec is recorded into `<dir>/<labId>.cast`. */
export function recordRun(sandbox: Sandbox, dir: string, labId: string): RunRecording {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${labId}.cast`);
  const cast = new CastWriter({ path: file, cols: COLS, rows: ROWS, title: `labrun test ${labId}` });
  const out = (text: string): void => cast.output(Buffer.from(crlf(text)));
  const wrapped: Sandbox = Object.create(sandbox, {
    exec: {
      value: async (req: Parameters<Sandbox['exec']>[0]) => {
        out(`\x1b[1;32m${req.service ?? 'sandbox'}\x1b[0m:\x1b[1;34m${sandbox.workspacePath}\x1b[0m# ${shown(req.argv)}\n`);
        const r = await sandbox.exec(req);
        if (r.stdout) out(r.stdout.endsWith('\n') ? r.stdout : `${r.stdout}\n`);
        if (r.stderr) out(`\x1b[31m${r.stderr.endsWith('\n') ? r.stderr : `${r.stderr}\n`}\x1b[0m`);
        if (r.exitCode !== 0) out(`\x1b[2m(exit ${r.timedOut ? 'timeout' : String(r.exitCode)})\x1b[0m\n`);
        return r;
      },
    },
  });
  return {
    sandbox: wrapped,
    step: (id, title) => {
      cast.marker(id);
      out(`\n\x1b[1m== ${id}: ${title} ==\x1b[0m\n`);
    },
    close: () => cast.close(),
    path: file,
  };
}
