// Bench page entry: mounts labrun's terminal full-page against the bench server's /ws.
import { mountTerminal } from '../../client/terminal/mount-terminal.ts';

const el = document.getElementById('term');
if (!el) throw new Error('bench page: #term is missing');
mountTerminal(el, {
  url: `ws://${location.host}/ws`,
  onStatus: (s) => {
    document.body.dataset.terminal = s.state;
  },
});
