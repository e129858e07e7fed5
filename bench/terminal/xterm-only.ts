// Bench page for the xterm.js parser/renderer alone, no network: bench/terminal.ts bundles it twice,
// once with our @xterm/xterm and once with `@xterm/xterm` aliased to the xterm that wetty ships,
// to tell how much of a throughput gap is the xterm version rather than our transport. The page
// passes the options and the element size of the terminal it compares with, so the grid is the same.
import { Terminal, type ITerminalOptions } from '@xterm/xterm';

declare global {
  interface Window {
    /** Builds `seq 1 n`'s bytes ahead of the timed run, so the run measures xterm only. */
    xtermOnlyPrepare(n: number): void;
    /** Writes the prepared bytes in `chunk`-byte writes (like WebSocket frames); resolves with ms until rendered. */
    xtermOnly(chunk: number, options: ITerminalOptions): Promise<number>;
  }
}

let prepared: { bytes: Uint8Array; last: string } | undefined;

window.xtermOnlyPrepare = (n) => {
  let text = '';
  for (let i = 1; i <= n; i++) text += `${i}\r\n`;
  prepared = { bytes: new TextEncoder().encode(text), last: `${n - 2}${n - 1}${n}` };
};

window.xtermOnly = async (chunk, options) => {
  if (!prepared) throw new Error('xterm-only page: call xtermOnlyPrepare first');
  const { bytes, last } = prepared;
  const el = document.getElementById('term');
  if (!el) throw new Error('xterm-only page: #term is missing');
  el.replaceChildren();
  const term = new Terminal(options);
  term.open(el);
  const rows = el.querySelector('.xterm-rows');
  if (!rows) throw new Error('xterm-only page: xterm has no DOM renderer rows');
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
