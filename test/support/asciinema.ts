// Runs Debian's `asciinema cat FILE` (the reference player's text dump of a recording). It reads its
// keyboard from /dev/tty, so it gets a pty of its own (node-pty); returns its exit code and output.
import { spawn } from 'node-pty';

const CAT_TIMEOUT_MS = 30_000;

export function asciinemaCat(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const pty = spawn('asciinema', ['cat', file], { cols: 200, rows: 50, encoding: 'utf8' });
    let output = '';
    pty.onData((d) => (output += d));
    const timer = setTimeout(() => {
      pty.kill();
      reject(new Error(`asciinema cat ${file} did not finish in ${CAT_TIMEOUT_MS} ms; printed:\n${output}`));
    }, CAT_TIMEOUT_MS);
    pty.onExit(({ exitCode }) => {
      clearTimeout(timer);
      resolve({ code: exitCode, output });
    });
  });
}
