import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../server/config.ts';

test('defaults suit one local user', () => {
  const c = parseConfig([], {});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 3000);
  assert.equal(c.labsDir, path.resolve('labs'));
  assert.equal(c.dataDir, path.resolve('data'));
  assert.deepEqual(c.trustedOrigins, []);
  assert.match(c.token, /^[0-9a-f]{64}$/);
  assert.deepEqual(c.limits, {});
});

test('two starts without --token get different tokens', () => {
  assert.notEqual(parseConfig([], {}).token, parseConfig([], {}).token);
});

test('flags win over environment; both forms of flags work', () => {
  const c = parseConfig(['--port=0', '--host', '0.0.0.0', '--trusted-origin', 'https://labs.example.org/', '--trusted-origin=http://x.test:8080'], {
    LABRUN_PORT: '4000',
    LABRUN_TOKEN: 'abcdefghijklmnopqrstuvwxyz',
  });
  assert.equal(c.port, 0);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.token, 'abcdefghijklmnopqrstuvwxyz');
  assert.deepEqual(c.trustedOrigins, ['https://labs.example.org', 'http://x.test:8080']);
});

test('sandbox limits parse sizes and CPUs', () => {
  const c = parseConfig(['--memory', '1536m', '--cpus', '1.5', '--pids', '512'], {});
  assert.deepEqual(c.limits, { memoryBytes: 1536 * 1024 ** 2, nanoCpus: 1.5e9, pidsLimit: 512 });
  assert.equal(parseConfig([], { LABRUN_SANDBOX_MEMORY: '2g' }).limits.memoryBytes, 2 * 1024 ** 3);
});

test('environment trusted origins are comma-separated', () => {
  assert.deepEqual(parseConfig([], { LABRUN_TRUSTED_ORIGINS: 'https://a.test, https://b.test' }).trustedOrigins, ['https://a.test', 'https://b.test']);
});

const bad: [string[], RegExp][] = [
  [['--port', 'eighty'], /^--port: /],
  [['--port', '70000'], /^--port: /],
  [['--port'], /'--port' needs a value/],
  [['--prot', '1'], /unknown option '--prot'/],
  [['serve'], /unexpected argument 'serve'/],
  [['--token', 'short'], /^--token: must be at least 16/],
  [['--token', 'has spaces in it, sadly'], /^--token: may only contain/],
  [['--trusted-origin', 'https://a.test/path'], /^--trusted-origin: .* is not an origin/],
  [['--trusted-origin', 'nonsense'], /^--trusted-origin: 'nonsense' is not a URL/],
  [['--memory', 'lots'], /^--memory: must be a size/],
  [['--cpus', '-1'], /^--cpus: /],
  [['--pids', '1.5'], /^--pids: /],
  [['--port', '1', '--port', '2'], /given twice/],
];
for (const [argv, message] of bad) {
  test(`rejects ${argv.join(' ')}`, () => {
    assert.throws(() => parseConfig(argv, {}), (err: unknown) => err instanceof ConfigError && message.test(err.message));
  });
}

test('isolation, sandbox engine and disk: defaults, flags, environment and bad values', () => {
  const d = parseConfig([], {});
  assert.equal(d.isolation, undefined, 'undefined = isolated when the engine answers, decided at start');
  assert.equal(d.sandboxEngine, 'unix:///run/labrun-engine.sock');
  assert.equal(d.diskBytes, undefined);
  const c = parseConfig(['--isolation', 'trusted', '--disk', '4g'], { LABRUN_SANDBOX_ENGINE: 'unix:///tmp/e.sock' });
  assert.equal(c.isolation, 'trusted');
  assert.equal(c.diskBytes, 4 * 1024 ** 3);
  assert.equal(c.sandboxEngine, 'unix:///tmp/e.sock');
  assert.equal(parseConfig([], { LABRUN_ISOLATION: 'isolated' }).isolation, 'isolated');
  assert.throws(() => parseConfig(['--isolation', 'none'], {}), /--isolation: must be 'isolated' or 'trusted'/);
  assert.throws(() => parseConfig(['--disk', '100m'], {}), /--disk: must be at least 512m/);
  assert.throws(() => parseConfig(['--sandbox-engine', 'tcp://1.2.3.4:2375'], {}), /--sandbox-engine: must be a unix socket URL/);
});
