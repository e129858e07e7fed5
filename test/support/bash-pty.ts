// A real bash in a real pty on this machine, for the terminal tests that need no Docker: no rc files,
// the prompt `prompt$ ` and only PATH, HOME and TERM in its environment.
import * as pty from 'node-pty';

/** bash in `home`, in a pty of `cols` x `rows`, its output as bytes. */
export function spawnBash(home: string, cols: number, rows: number): pty.IPty {
  return pty.spawn('bash', ['--norc', '--noprofile'], {
    name: 'xterm-256color',
    cols,
    rows,
    cwd: home,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TERM: 'xterm-256color', PS1: 'prompt$ ' },
    encoding: null,
  });
}
