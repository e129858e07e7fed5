// A tiny HTTP + WebSocket app, as a learner might run in their sandbox, for the preview tests that use
// the in-memory driver: it records what reached it (cookies, path, prefix header), redirects, sets
// cookies, echoes form posts and WebSocket messages.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface Seen {
  cookie?: string;
  url?: string;
  prefix?: string;
}

/** A tiny app, as a learner might run in their sandbox. */
export async function startApp(t: { after(fn: () => unknown): void }): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const app: Server = createServer((req, res) => {
    seen.push({ url: req.url, ...(req.headers.cookie && { cookie: req.headers.cookie }), prefix: String(req.headers['x-forwarded-prefix']) });
    if (req.url === '/redirect' || req.url === '/deep/er/redirect') {
      res.writeHead(302, { Location: '/landing?x=1' }).end();
    } else if (req.url === '/absolute') {
      res.writeHead(301, { Location: `http://localhost:${(app.address() as AddressInfo).port}/abs-landing` }).end();
    } else if (req.url === '/elsewhere') {
      res.writeHead(302, { Location: 'https://example.invalid/' }).end();
    } else if (req.url === '/cookies') {
      res.writeHead(200, { 'Set-Cookie': ['app=1; Path=/; HttpOnly', 'labrun_session=forged; Path=/', 'wide=2; Domain=127.0.0.1; Path=/'], 'Clear-Site-Data': '"cookies"' }).end('ok');
    } else if (req.method === 'POST') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => res.end(`posted:${body}`));
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Security-Policy': "default-src 'self'" }).end('<h1>hello from the app</h1>');
    }
  });
  const wss = new WebSocketServer({ server: app });
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(`echo:${String(d)}`)));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    wss.close();
    app.close();
  });
  return { port: (app.address() as AddressInfo).port, seen };
}

