import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAllowedHost, isAllowedOrigin, isAllowedWrite, type OriginPolicy } from '../../server/http/origin.ts';
import { withoutToken } from '../../server/http/security.ts';
import { parseCookies } from '../../server/http/auth.ts';

const local: OriginPolicy = { boundHost: '127.0.0.1', trustedOrigins: [] };
const lan: OriginPolicy = { boundHost: '0.0.0.0', trustedOrigins: ['https://labs.example.org'] };

const originCases: [string, string | undefined, string | undefined, OriginPolicy, boolean][] = [
  ['own origin', 'http://127.0.0.1:3000', '127.0.0.1:3000', local, true],
  ['localhost name', 'http://localhost:3000', 'localhost:3000', local, true],
  ['other port', 'http://127.0.0.1:4000', '127.0.0.1:3000', local, false],
  ['other site', 'http://evil.example', '127.0.0.1:3000', local, false],
  ['DNS rebinding: matching but non-loopback name on loopback bind', 'http://evil.example:3000', 'evil.example:3000', local, false],
  ['no Origin', undefined, '127.0.0.1:3000', local, false],
  ['null Origin (sandboxed iframe, file:)', 'null', '127.0.0.1:3000', local, false],
  ['not http', 'chrome-extension://abc', '127.0.0.1:3000', local, false],
  ['garbage', '::::', '127.0.0.1:3000', local, false],
  ['LAN bind, own host', 'http://10.0.0.5:3000', '10.0.0.5:3000', lan, true],
  ['LAN bind, other origin', 'http://10.0.0.6:3000', '10.0.0.5:3000', lan, false],
  ['trusted origin behind a proxy', 'https://labs.example.org', 'internal:3000', lan, true],
  ['scheme matters for trusted', 'http://labs.example.org', 'internal:3000', lan, false],
];
for (const [name, origin, host, policy, want] of originCases) {
  test(`origin: ${name}`, () => assert.equal(isAllowedOrigin(origin, host, policy), want));
}

const hostCases: [string | undefined, OriginPolicy, boolean][] = [
  ['127.0.0.1:3000', local, true],
  ['localhost:3000', local, true],
  ['[::1]:3000', local, true],
  ['evil.example:3000', local, false],
  [undefined, local, false],
  ['anything.lan:3000', lan, true],
];
for (const [host, policy, want] of hostCases) {
  test(`host: ${host ?? '(none)'} on ${policy.boundHost}`, () => assert.equal(isAllowedHost(host, policy), want));
}

const writeCases: [string, { origin?: string; secFetchSite?: string; host?: string }, boolean][] = [
  ['same-origin fetch', { origin: 'http://127.0.0.1:3000', secFetchSite: 'same-origin', host: '127.0.0.1:3000' }, true],
  ['cross-site form post', { origin: 'http://evil.example', secFetchSite: 'cross-site', host: '127.0.0.1:3000' }, false],
  ['same-site other port', { origin: 'http://127.0.0.1:4000', secFetchSite: 'same-site', host: '127.0.0.1:3000' }, false],
  ['old browser, foreign Origin only', { origin: 'http://evil.example', host: '127.0.0.1:3000' }, false],
  ['non-browser client', { host: '127.0.0.1:3000' }, true],
];
for (const [name, headers, want] of writeCases) {
  test(`write: ${name}`, () => assert.equal(isAllowedWrite(headers, local), want));
}

const redirectCases: [string, string][] = [
  ['/?token=abc', '/'],
  ['/labs/x?token=abc&step=2', '/labs/x?step=2'],
  ['//evil.example/?token=abc', '/'],
  ['/.//evil.example?token=a', '/evil.example'],
  ['/\\evil.example?token=a', '/'],
];
for (const [from, to] of redirectCases) {
  test(`token redirect ${from} → ${to}`, () => {
    assert.equal(withoutToken(from), to);
  });
}

test('cookies parse', () => {
  const c = parseCookies('a=1; labrun_session="xyz"; a=2; bad; e=%20x');
  assert.equal(c.get('a'), '1');
  assert.equal(c.get('labrun_session'), 'xyz');
  assert.equal(c.get('e'), ' x');
  assert.equal(parseCookies(undefined).size, 0);
});
