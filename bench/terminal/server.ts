// Bench server, run as a child process of bench/terminal.ts so its memory is measured alone: serves
// the bundled bench page from the folder in argv[2] and one bash terminal per WebSocket on /ws,
// through labrun's TerminalManager. Prints `listening <port>` once ready.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as pty from 'node-pty';
import { WebSocketServer } from 'ws';
import { TerminalManager } from '../../server/terminal/terminal-manager.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: server.ts <bundle dir>');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

const manager = new TerminalManager();
const server = createServer(async (req, res) => {
  const name = req.url === '/' ? 'index.html' : (req.url ?? '').replace(/^\//, '');
  if (!/^[\w.-]+$/.test(name)) return void res.writeHead(404).end();
  try {
    const body = await readFile(join(dir, name));
    res.writeHead(200, { 'content-type': TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
const wss = new WebSocketServer({ server, path: '/ws' });
let next = 0;
wss.on('connection', (ws) => {
  manager.attach(ws, `bench-${next++}`, (cols, rows) =>
    pty.spawn('bash', ['--norc', '--noprofile'], {
      name: 'xterm-256color',
      cols,
      rows,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color', PS1: '$ ', HOME: process.env.HOME ?? '/' },
      encoding: null,
    }),
  );
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => {
  void manager.dispose().then(() => process.exit(0));
});
