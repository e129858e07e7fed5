// Bench page for the xterm.js parser/renderer alone, no network: bench/terminal.ts bundles it twice,
// once with our @xterm/xterm and once with `@xterm/xterm` aliased to the xterm that wetty ships,
// to tell how much of a throughput gap is the xterm version rather than our transport. The page
// passes the options and the element size of the terminal it compares with, so the grid is the same.
import { Terminal, type ITerminalOptions } from '@xterm/xterm';

declare global {
  interface Window {
    /** Writes `seq 1 n`'s bytes in `chunk`-byte writes (like WebSocket frames); resolves with ms until rendered. */
    xtermOnly(n: number, chunk: number, options: ITerminalOptions): Promise<number>;
  }
}

window.xtermOnly = async (n, chunk, options) => {
  const el = document.getElementById('term');
  if (!el) throw new Error('xterm-only page: #term is missing');
  el.replaceChildren();
  const term = new Terminal(options);
  term.open(el);
  let text = '';
  for (let i = 1; i <= n; i++) text += `${i}\r\n`;
  const bytes = new TextEncoder().encode(text);
  const rows = el.querySelector('.xterm-rows');
  if (!rows) throw new Error('xterm-only page: xterm has no DOM renderer rows');
  const last = `${n - 2}${n - 1}${n}`;
  const t0 = performance.now();
  const done = new Promise<number>((resolve) => {
    const obs = new MutationObserver(() => {
      if (rows.textContent?.includes(last)) {
        obs.disconnect();
        resolve(performance.now());
      }
    });
    obs.observe(rows, { childList: true, subtree: true, characterData: true });
  });
  for (let i = 0; i < bytes.length; i += chunk) term.write(bytes.subarray(i, i + chunk));
  const ms = (await done) - t0;
  term.dispose();
  return ms;
};
