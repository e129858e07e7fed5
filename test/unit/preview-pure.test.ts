// The pure parts of port preview and the editor, table-driven: /proc parsing, tickets, redirect and
// cookie rewriting, path rules, binary detection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseListenSockets, parseNsPids, parseStat } from '../../server/sandbox/proc-net.ts';
import { cookiesForApp, rewriteLocation, rewriteSetCookie } from '../../server/preview/preview-rewrite.ts';
import { PreviewTickets, TICKET_LIFETIME_MS, parseTarget } from '../../server/preview/preview-ticket.ts';
import { checkRelativePath, looksBinary, parseTree, versionOf } from '../../server/workspace/workspace-paths.ts';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31338 1 0000000000000000 100 0 0 10 0
   2: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 31339 1 0000000000000000 20 4 30 10 -1
   3: 0B00007F:A1B2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31340 1 0000000000000000 100 0 0 10 0
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4244 1 0000000000000000 100 0 0 10 0
`;

test('/proc/net/tcp and tcp6: only LISTEN sockets, with readable addresses', () => {
  assert.deepEqual(parseListenSockets(TCP, false), [
    { address: '0.0.0.0', port: 8080, inode: '31337' },
    { address: '127.0.0.1', port: 80, inode: '31338' },
    { address: '127.0.0.11', port: 41394, inode: '31340' },
  ]);
  assert.deepEqual(parseListenSockets(TCP6, true), [
    { address: '::', port: 80, inode: '4242' },
    { address: '::1', port: 8081, inode: '4243' },
    { address: '::ffff:127.0.0.1', port: 8082, inode: '4244' },
  ]);
  assert.deepEqual(parseListenSockets('header\ngarbage line\n   0: zz:zz 0 0A', false), []);
});

test('/proc/<pid>/stat and status', () => {
  assert.deepEqual(parseStat('4242 (my (odd) prog) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10'), { ppid: 17, startTime: '987654', comm: 'my (odd) prog' });
  assert.equal(parseStat('garbage'), undefined);
  assert.deepEqual(parseNsPids('Name:\tnginx\nNSpid:\t51234\t88\t1\nNSsid: 1\n'), [51234, 88, 1]);
  assert.deepEqual(parseNsPids('Name: x\n'), []);
});

test('preview targets', () => {
  const rows: [string, ReturnType<typeof parseTarget>][] = [
    ['8080', { port: 8080 }],
    ['9080@nginx_b', { port: 9080, service: 'nginx_b' }],
    ['0', undefined],
    ['65536', undefined],
    ['80@', undefined],
    ['80@../x', undefined],
    ['x80', undefined],
  ];
  for (const [segment, expected] of rows) assert.deepEqual(parseTarget(segment), expected, segment);
});

test('tickets: bound to learner, lab and target; they expire', () => {
  const t = new PreviewTickets('secret-a');
  const now = Date.now();
  const ticket = t.issue('l0123', 'lab', { port: 8080 }, now);
  assert.deepEqual(t.verify(ticket, 'lab', { port: 8080 }, now), { learnerId: 'l0123' });
  assert.equal(t.verify(ticket, 'lab', { port: 8081 }, now), 'invalid');
  assert.equal(t.verify(ticket, 'lab', { port: 8080, service: 'a' }, now), 'invalid');
  assert.equal(t.verify(ticket, 'other', { port: 8080 }, now), 'invalid');
  assert.equal(t.verify(ticket.replace('l0123', 'l0124'), 'lab', { port: 8080 }, now), 'invalid');
  assert.equal(new PreviewTickets('secret-b').verify(ticket, 'lab', { port: 8080 }, now), 'invalid');
  assert.equal(t.verify(ticket, 'lab', { port: 8080 }, now + TICKET_LIFETIME_MS + 1000), 'expired');
  assert.equal(t.verify('junk', 'lab', { port: 8080 }, now), 'invalid');
});

test('Location rewriting is relative to where the request was', () => {
  const rows: [string, string, string][] = [
    ['/login', '', './login'],
    ['/login', 'a/b', '../login'],
    ['/', 'a/b/c', '../../'],
    ['http://localhost:8080/x?y=1#z', '', './x?y=1#z'],
    ['http://127.0.0.1/x', 'd/', '../x'],
    ['https://example.invalid/x', '', 'https://example.invalid/x'],
    ['//example.invalid/x', '', '//example.invalid/x'],
    ['next.html', 'a/', 'next.html'],
  ];
  for (const [location, rest, expected] of rows) assert.equal(rewriteLocation(location, rest), expected, `${location} from ${rest}`);
});

test('cookies: the app\'s are kept to the preview path, labrun\'s never cross', () => {
  assert.equal(rewriteSetCookie('a=1; Path=/; Domain=x.test; HttpOnly', '/preview/@t/lab/80/'), 'a=1; Path=/preview/@t/lab/80/; HttpOnly');
  assert.equal(rewriteSetCookie('labrun_session=x; Path=/', '/p/'), undefined);
  assert.equal(rewriteSetCookie('LABRUN_learner=x', '/p/'), undefined);
  assert.equal(rewriteSetCookie('__Host-a=x; Path=/; Secure', '/p/'), undefined);
  assert.equal(cookiesForApp('labrun_session=abc; app=1; labrun_learner=def; b=2'), 'app=1; b=2');
  assert.equal(cookiesForApp('labrun_session=abc'), undefined);
});

test('editor paths: relative, inside, no tricks', () => {
  for (const ok of ['netsvc.conf', 'conf/site.conf', '.env', 'a b/c']) assert.deepEqual(checkRelativePath(ok), { ok });
  for (const [bad, why] of [
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../x', /climbs out/],
    ['a/../../x', /climbs out/],
    ['a//b', /empty or '.'/],
    ['./a', /empty or '.'/],
    ['a\0b', /NUL/],
  ] as const) {
    const r = checkRelativePath(bad);
    assert.ok('error' in r && why.test(r.error), `${JSON.stringify(bad)}: ${JSON.stringify(r)}`);
  }
});

test('binary detection, versions and the tree listing', () => {
  assert.equal(looksBinary(Buffer.from('server {\n  listen 80;\n}\n')), false);
  assert.equal(looksBinary(Buffer.from('grüße ✓')), false);
  assert.equal(looksBinary(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1])), true);
  assert.equal(looksBinary(Buffer.from([0xc3, 0x28])), true, 'invalid UTF-8');
  assert.equal(versionOf(Buffer.from('')), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.deepEqual(parseTree('f\t12\tnetsvc.conf\0d\t4096\tconf\0l\t9\tconf/link\0x\t1\tbad\0f\t1\tnew\nline\0'), [
    { kind: 'dir', size: 4096, path: 'conf' },
    { kind: 'link', size: 9, path: 'conf/link' },
    { kind: 'file', size: 12, path: 'netsvc.conf' },
  ]);
});
