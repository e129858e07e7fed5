// The workspace API against a real isolated sandbox (the seed lab's): the Ports list and the preview
// of what listens (the sandbox's own network, a compose service's namespace, a WebSocket service), and
// the editor's routes — path refusals, size and binary limits, conflicts — plus the symlink attack
// that a host-side write would fall for.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { LABEL } from '../../server/sandbox/naming.ts';
import { SANDBOX_DOCKER, requireDocker } from '../support/require.ts';
import { call, copyLab, signIn, startServer } from './http-fixture.ts';

const START_TIMEOUT_MS = 180_000;

/** The fixture's sandbox container, found by its lab label. */
function sandboxName(labId: string): string {
  const out = execFileSync('docker', [...SANDBOX_DOCKER, 'ps', '--filter', `label=${LABEL.lab}=${labId}`, '--format', '{{.Names}}'], { encoding: 'utf8' }).trim();
  if (!out || out.includes('\n')) throw new Error(`expected one sandbox for ${labId}, found: ${JSON.stringify(out)}`);
  return out;
}

/** Runs a shell line inside the sandbox, in the workspace, as the learner's terminal would. */
function inSandbox(name: string, script: string, input?: string): string {
  return execFileSync('docker', [...SANDBOX_DOCKER, 'exec', '-i', '-w', '/root/linuxnetworks', name, 'bash', '-c', script], { encoding: 'utf8', input: input ?? '', timeout: 120_000 });
}

/** Waits until `fn` returns true (a service starting in the sandbox). */
async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('workspace API on a real sandbox: ports, preview, files', { timeout: 600_000 }, async (t) => {
  if (!requireDocker(t)) return;
  const fx = copyLab(t, path.resolve('labs/linux-networks'));
  const server = await startServer(t, fx, { reapSandboxes: true });
  const { url } = server;
  const owner = await signIn(url);
  const api = `/api/labs/${fx.labId}`;

  // Before the sandbox exists the workspace routes say so instead of starting one.
  const early = await call(url, owner, 'GET', `${api}/files`);
  assert.equal(early.status, 409);

  // A Check starts the sandbox (its result does not matter here).
  const started = await call(url, owner, 'POST', `${api}/steps/one-container/check`, {});
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const sb = sandboxName(fx.labId);

  /** The preview's ticketed root for a target, following the entry redirect. */
  const previewRoot = async (target: string): Promise<string> => {
    const res = await fetch(`${url}/preview/${fx.labId}/${target}/`, { headers: { cookie: owner }, redirect: 'manual' });
    assert.equal(res.status, 303);
    return new URL(res.headers.get('location') ?? '', `${url}/preview/${fx.labId}/${target}/`).href;
  };
  const ports = async () => {
    const r = await call(url, owner, 'GET', `${api}/ports`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return (r.body as { ports: { port: number; service?: string; process?: string; address: string }[] }).ports;
  };

  await t.test('a published container port is listed and previewed; nothing listening gets the page', { timeout: START_TIMEOUT_MS }, async () => {
    const root = await previewRoot('8080');
    const before = await fetch(root);
    assert.equal(before.status, 502, await before.clone().text());
    assert.match(await before.text(), /Nothing listens on port 8080 in your sandbox/);
    inSandbox(sb, 'docker run -d --name web8080 -p 8080:80 nginx:latest >/dev/null');
    await until('nginx on 8080', async () => (await fetch(root)).status === 200);
    const page = await (await fetch(root)).text();
    assert.match(page, /Welcome to nginx!/);
    const listed = await ports();
    const own = listed.find((p) => p.port === 8080 && p.service === undefined);
    assert.ok(own, JSON.stringify(listed));
    assert.equal(own.process, 'docker-proxy');
    // The container's own namespace, listed by its name, with nginx listening on 80.
    assert.ok(listed.some((p) => p.port === 80 && p.service === 'web8080' && p.process === 'nginx'), JSON.stringify(listed));
    // Docker's embedded DNS is not the learner's port.
    assert.ok(!listed.some((p) => p.address === '127.0.0.11'));
    inSandbox(sb, 'docker rm -f web8080 >/dev/null');
  });

  await t.test('with network_mode: service:nginx_a, port 9080 shows nginx_b\'s page', { timeout: START_TIMEOUT_MS }, async () => {
    inSandbox(sb, 'docker rm -f web8080 >/dev/null 2>&1; docker compose -f docker-compose-netsvc.yaml up -d 2>&1');
    inSandbox(sb, "docker compose -f docker-compose-netsvc.yaml exec -T nginx_b sh -c 'echo served-by-nginx_b > /usr/share/nginx/html/who.html'");
    const root = await previewRoot('9080');
    await until('nginx_b on 9080', async () => (await fetch(`${root}who.html`)).status === 200);
    assert.match(await (await fetch(`${root}who.html`)).text(), /served-by-nginx_b/);
    // nginx_a's own port 80 holds no such page: the 9080 answer really came from nginx_b.
    const a = await fetch(`${await previewRoot('80@nginx_a')}who.html`);
    assert.equal(a.status, 404, await a.text());
    const listed = await ports();
    assert.ok(listed.some((p) => p.port === 9080 && p.service === 'nginx_a'), `nginx_a owns the shared namespace: ${JSON.stringify(listed)}`);
    assert.ok(listed.some((p) => p.port === 9080 && p.service === undefined && p.process === 'docker-proxy'));
  });

  await t.test('a WebSocket service in the sandbox echoes through the preview', { timeout: START_TIMEOUT_MS }, async () => {
    const script = readFileSync(path.resolve('test/fixtures/preview/ws-echo.pl'), 'utf8');
    inSandbox(sb, 'cat > /tmp/ws-echo.pl && (setsid perl /tmp/ws-echo.pl 8765 >/tmp/ws-echo.log 2>&1 &)', script);
    const root = await previewRoot('8765');
    await until('the echo service', async () => (await fetch(root)).status === 200);
    const ws = new WebSocket(`${root.replace('http', 'ws')}`, { headers: { Origin: 'null' } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello-sandbox'));
      ws.once('message', (d) => resolve(String(d)));
      ws.once('error', reject);
    });
    ws.close();
    assert.equal(reply, 'echo:hello-sandbox');
  });

  await t.test('the editor reads and saves inside the workspace, detecting changes underneath', async () => {
    const tree = await call(url, owner, 'GET', `${api}/files`);
    assert.equal(tree.status, 200);
    const entries = (tree.body as { entries: { path: string; kind: string }[] }).entries;
    assert.ok(entries.some((e) => e.path === 'netsvc.conf' && e.kind === 'file'), JSON.stringify(entries));
    const loaded = await call(url, owner, 'GET', `${api}/files/content?path=netsvc.conf`);
    assert.equal(loaded.status, 200);
    const file = loaded.body as { content: string; version: string };
    assert.match(file.content, /listen 9080;/);

    const save = (body: string, base: string, p = 'netsvc.conf') =>
      fetch(`${url}${api}/files/content?path=${encodeURIComponent(p)}&base=${base}`, { method: 'PUT', headers: { cookie: owner, origin: url, 'content-type': 'application/octet-stream' }, body });
    const edited = file.content.replace('# nginx_b', '# edited: nginx_b');
    const saved = await save(edited, file.version);
    assert.equal(saved.status, 200, await saved.clone().text());
    const savedBody = (await saved.json()) as { version: string };
    assert.equal(inSandbox(sb, 'cat netsvc.conf'), edited);

    // A change in the terminal meanwhile: saving with the old version is a conflict naming the new one.
    inSandbox(sb, "echo '# from the terminal' >> netsvc.conf");
    const stale = await save(`${edited}# mine\n`, savedBody.version);
    assert.equal(stale.status, 409);
    const conflict = (await stale.json()) as { error: string; currentVersion: string };
    assert.match(conflict.error, /changed in your sandbox/);
    assert.match(inSandbox(sb, 'cat netsvc.conf'), /from the terminal/, 'the refused save wrote nothing');
    // Overwriting is a save against the version it has now.
    assert.equal((await save(edited, conflict.currentVersion)).status, 200);
    // A new file: base empty; saving it again as new is a conflict.
    assert.equal((await save('new\n', '', 'notes.txt')).status, 200);
    assert.equal((await save('again\n', '', 'notes.txt')).status, 409);
  });

  await t.test('paths outside the workspace, too large and binary files are refused with clear messages', async () => {
    inSandbox(sb, 'ln -sf /etc/passwd passwd-link && head -c 2000000 /dev/zero | tr "\\0" a > big.txt && printf "\\x7fELF\\x00\\x01" > prog.bin');
    const rows: [string, number, RegExp][] = [
      ['../x', 400, /climbs out of the workspace/],
      ['/etc/passwd', 400, /absolute/],
      ['passwd-link', 403, /leads outside the workspace/],
      ['missing.conf', 404, /does not exist/],
      ['big.txt', 413, /larger than 1 MiB/],
      ['prog.bin', 415, /binary file/],
    ];
    for (const [p, status, message] of rows) {
      const r = await call(url, owner, 'GET', `${api}/files/content?path=${encodeURIComponent(p)}`);
      assert.equal(r.status, status, `${p}: ${JSON.stringify(r.body)}`);
      assert.match((r.body as { error: string }).error, message, p);
    }
    const huge = await fetch(`${url}${api}/files/content?path=huge.txt&base=`, { method: 'PUT', headers: { cookie: owner, origin: url, 'content-type': 'application/octet-stream' }, body: 'a'.repeat(1024 * 1024 + 1) });
    assert.equal(huge.status, 413);
    assert.match(await huge.text(), /larger than 1 MiB/);
  });

  await t.test('a symlink to a host file is not followed onto the host (a host-side write would be)', async () => {
    const hostDir = mkdtempSync(path.join(tmpdir(), 'lr-attack-'));
    t.after(() => rmSync(hostDir, { recursive: true, force: true }));
    const secret = path.join(hostDir, 'server-secret.txt');
    writeFileSync(secret, 'original\n');
    inSandbox(sb, `ln -sf ${secret} to-host`);
    // Through the editor: the sandbox resolves the link in its own filesystem, outside the workspace.
    const res = await fetch(`${url}${api}/files/content?path=to-host&base=`, { method: 'PUT', headers: { cookie: owner, origin: url, 'content-type': 'application/octet-stream' }, body: 'pwned\n' });
    assert.equal(res.status, 403);
    assert.equal(readFileSync(secret, 'utf8'), 'original\n');
    // The naive way — host root writing to the workspace's path on the mounted disk — follows the link.
    const disks = path.join(fx.dataDir, 'sandboxes', 'disks');
    const mount = readdirSync(disks).find((d) => !d.endsWith('.img'));
    assert.ok(mount, `no mounted disk in ${disks}`);
    writeFileSync(path.join(disks, mount, 'root', 'linuxnetworks', 'to-host'), 'pwned\n');
    assert.equal(readFileSync(secret, 'utf8'), 'pwned\n', 'the host-side write followed the symlink onto the host');
  });

  await t.test('another learner\'s cookie gets 403 on the workspace routes', async () => {
    const created = await call(url, owner, 'POST', '/api/classes', { labId: fx.labId });
    assert.equal(created.status, 201);
    const code = String((created.body as { joinCode: string }).joinCode);
    const joined = await call(url, undefined, 'POST', `/api/join/${code}`, { name: 'Other' });
    const other = (joined.setCookie ?? '').split(';')[0] ?? '';
    for (const route of [`${api}/ports?learner=local`, `${api}/files?learner=local`, `${api}/files/content?path=netsvc.conf&learner=local`]) {
      assert.equal((await call(url, other, 'GET', route)).status, 403, route);
    }
    const res = await fetch(`${url}/preview/${fx.labId}/9080/?learner=local`, { headers: { cookie: other }, redirect: 'manual' });
    assert.equal(res.status, 403);
  });
});
