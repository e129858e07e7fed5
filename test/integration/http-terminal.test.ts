// The terminal WebSocket through the whole web app: auth + origin, a real sandbox started on first
// connect, a real shell in it, the protocol's close code for malformed frames, and the Check route
// running real checks (fail, then pass after the command, with the completion stored).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { CloseCode, encodeClientFrame } from '../../shared/protocol.ts';
import { requireDocker } from '../support/require.ts';
import { makeFixture, signIn, startServer } from './http-fixture.ts';

/** Sandbox creation plus a shell: seconds normally, much longer on a loaded two-core machine. */
const OPEN_TIMEOUT_MS = 120_000;
const OUTPUT_TIMEOUT_MS = 20_000;

class Client {
  output = '';
  closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary && Buffer.isBuffer(data)) this.output += data.toString('utf8');
      for (const w of this.waiters) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, headers: Record<string, string>): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const client = new Client(ws);
      const timer = setTimeout(() => reject(new Error('terminal did not open in time')), OPEN_TIMEOUT_MS);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(client);
      });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  type(text: string): void {
    this.ws.send(encodeClientFrame({ type: 'input', data: text }));
  }

  /** Waits for `pattern` in the output from offset `from` on (all of it by default). */
  waitFor(pattern: RegExp, from = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} in terminal output:\n${this.output.slice(-2000)}`)), OUTPUT_TIMEOUT_MS);
      const check = (): void => {
        if (pattern.test(this.output.slice(from))) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve();
        }
      };
      this.waiters.push(check);
      check();
    });
  }
}

test('terminal and checks through the web app with a real sandbox', async (t) => {
  if (!requireDocker(t)) return;
  const fx = makeFixture(t);
  const server = await startServer(t, fx, { reapSandboxes: true });
  const cookie = await signIn(server.url);
  const wsUrl = `${server.url.replace('http', 'ws')}/ws/terminal?lab=${fx.labId}`;
  const headers = { Origin: server.url, Cookie: cookie };

  await t.test('good origin + cookie: a shell in the workspace', async () => {
    const c = await Client.open(wsUrl, headers);
    c.ws.send(encodeClientFrame({ type: 'resize', cols: 100, rows: 30 }));
    c.type('echo hello-$((6*7)); pwd\r');
    await c.waitFor(/hello-42/);
    await c.waitFor(/\/root\/webfix/);
    c.ws.close();
    await c.closed;
  });

  await t.test("Ctrl-P reaches the shell at once (recalls the last command): no detach key sequence holds it back", async () => {
    const c = await Client.open(wsUrl, headers);
    c.type('echo recall-$((6*7))\r');
    await c.waitFor(/recall-42/);
    const before = c.output.length;
    c.type('\x10');
    await c.waitFor(/echo recall-\$\(\(6\*7\)\)/, before);
    c.type('\x15');
    c.ws.close();
    await c.closed;
  });

  await t.test('the session reports the sandbox ready', async () => {
    const res = await fetch(`${server.url}/api/labs/${fx.labId}/session`, { headers: { cookie } });
    const body: unknown = await res.json();
    assert.equal(res.status, 200);
    assert.ok(typeof body === 'object' && body !== null && 'state' in body);
    assert.equal(body.state, 'ready');
  });

  await t.test('a malformed frame closes that socket with the protocol code; others keep working', async () => {
    const bad = await Client.open(wsUrl, headers);
    bad.ws.send('{"type":"input","data":42}');
    const { code } = await bad.closed;
    assert.equal(code, CloseCode.BadFrame);

    const good = await Client.open(wsUrl, headers);
    good.type('echo still-$((40+2))\r');
    await good.waitFor(/still-42/);
    good.ws.close();
    await good.closed;
  });

  await t.test('Check fails with a hint, then passes after the command, and the step is stored done', async () => {
    const check = async (): Promise<{ passed: boolean; completedSteps: string[]; text: string }> => {
      const res = await fetch(`${server.url}/api/labs/${fx.labId}/steps/hello/check`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(res.status, 200);
      const text = await res.text();
      const body: unknown = JSON.parse(text);
      assert.ok(typeof body === 'object' && body !== null && 'passed' in body && 'completedSteps' in body);
      assert.ok(typeof body.passed === 'boolean' && Array.isArray(body.completedSteps));
      return { passed: body.passed, completedSteps: body.completedSteps.map(String), text };
    };
    const before = await check();
    assert.equal(before.passed, false);
    assert.match(before.text, /Create greeting.txt/);
    assert.deepEqual(before.completedSteps, []);

    const c = await Client.open(wsUrl, headers);
    c.type('echo hello > greeting.txt && echo wrote-$((20+22))\r');
    await c.waitFor(/wrote-42/);
    c.ws.close();

    const afterRun = await check();
    assert.equal(afterRun.passed, true, afterRun.text);
    assert.deepEqual(afterRun.completedSteps, ['hello']);
  });
});
