// The service features' pure parts, table-driven: the base path in index.html, trusted proxy
// addresses, the Host rule through a proxy, xAPI statements and durations, results rows, the CSV's
// formula guard and the configuration's new options.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, DEFAULT_RATE_LIMITS, parseConfig } from '../../server/config.ts';
import { csvRecords, learnerStepResults } from '../../server/classroom/results.ts';
import { formatResults } from '../../server/classroom/results-export.ts';
import { signature } from '../../server/events/webhook.ts';
import { isoDuration, toStatement, verbOf } from '../../server/events/xapi.ts';
import { htmlUnderBase } from '../../server/http/base-path.ts';
import { isAllowedHost, isAllowedOrigin } from '../../server/http/origin.ts';
import { TrustedProxies } from '../../server/http/trusted-proxy.ts';

const INDEX = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/app.css">
  <script type="module" src="/app.js"></script>
</head>
<body><a href="//other.example/x">x</a></body>
</html>`;

test('index.html under a base path: the meta tag, prefixed root-relative links, nothing else touched', () => {
  const out = htmlUnderBase(INDEX, '/labrun');
  assert.match(out, /<meta charset="utf-8">\n {2}<meta name="labrun-base" content="\/labrun">/);
  assert.match(out, /href="\/labrun\/app\.css"/);
  assert.match(out, /src="\/labrun\/app\.js"/);
  assert.match(out, /href="data:,"/);
  assert.match(out, /href="\/\/other\.example\/x"/, 'a protocol-relative URL is not a path');
  const root = htmlUnderBase(INDEX, '');
  assert.match(root, /<meta name="labrun-base" content="">/);
  assert.match(root, /href="\/app\.css"/);
});

test('trusted proxies: addresses and ranges, IPv4-mapped peers, one hop only', () => {
  const p = new TrustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
  const cases: [string | undefined, boolean][] = [
    ['127.0.0.1', true],
    ['::ffff:127.0.0.1', true],
    ['10.20.30.40', true],
    ['11.0.0.1', false],
    ['fd12::1', true],
    ['::1', false],
    ['not-an-ip', false],
    [undefined, false],
  ];
  for (const [addr, trusted] of cases) assert.equal(p.has(addr), trusted, String(addr));
  assert.equal(p.trustFn('127.0.0.1', 0), true);
  assert.equal(p.trustFn('127.0.0.1', 1), false, 'a hop the proxy reports is never trusted');
  assert.equal(new TrustedProxies([]).has('127.0.0.1'), false);
});

test('the Host rule: a loopback server refuses other names, unless a trusted proxy forwarded them', () => {
  const policy = { boundHost: '127.0.0.1', trustedOrigins: [] };
  assert.equal(isAllowedHost('labs.example.edu', policy), false);
  assert.equal(isAllowedHost('labs.example.edu', { ...policy, anyHost: true }), true);
  assert.equal(isAllowedOrigin('https://labs.example.edu', 'labs.example.edu', { ...policy, anyHost: true }), true);
  assert.equal(isAllowedOrigin('https://evil.example', 'labs.example.edu', { ...policy, anyHost: true }), false, 'the Origin must still match');
});

test('xAPI: verbs per event, durations, statement shape', () => {
  const verbs: [Parameters<typeof verbOf>[0], string | undefined][] = [
    [{ type: 'joined', learnerId: 'l1', name: 'Ada', at: 0 }, 'initialized'],
    [{ type: 'step-opened', learnerId: 'l1', stepId: 's', at: 0 }, 'attempted'],
    [{ type: 'check', learnerId: 'l1', stepId: 's', passed: true, at: 0 }, 'passed'],
    [{ type: 'check', learnerId: 'l1', stepId: 's', passed: false, at: 0 }, 'failed'],
    [{ type: 'step-done', learnerId: 'l1', stepId: 's', at: 0 }, 'completed'],
    [{ type: 'session', learnerId: 'l1', kind: 'class-ended', message: '', at: 0 }, 'terminated'],
    [{ type: 'session', learnerId: 'l1', kind: 'idle-warning', message: '', at: 0 }, undefined],
    [{ type: 'sandbox', learnerId: 'l1', state: 'ready', at: 0 }, undefined],
  ];
  for (const [e, verb] of verbs) assert.equal(verbOf(e), verb, JSON.stringify(e));
  const durations: [number, string][] = [[0, 'PT0S'], [420, 'PT0.42S'], [61_000, 'PT1M1S'], [3_600_000, 'PT1H'], [3_725_500, 'PT1H2M5.5S']];
  for (const [ms, iso] of durations) assert.equal(isoDuration(ms), iso);
  const s = toStatement(
    { type: 'check', learnerId: 'l1', stepId: 'one', passed: false, at: Date.UTC(2026, 0, 2, 3, 4, 5) },
    { id: '00000000-0000-4000-8000-000000000000', homePage: 'https://labs.example.edu/labrun', learnerName: 'Ada', labId: 'net', labTitle: 'Networks', stepTitle: 'One', classId: 'c1', checks: [{ name: 'a', passed: false }], durationMs: 250 },
  );
  assert.deepEqual(s, {
    id: '00000000-0000-4000-8000-000000000000',
    actor: { objectType: 'Agent', name: 'Ada', account: { homePage: 'https://labs.example.edu/labrun', name: 'l1' } },
    verb: { id: 'http://adlnet.gov/expapi/verbs/failed', display: { 'en-US': 'failed' } },
    object: { objectType: 'Activity', id: 'https://labs.example.edu/labrun/labs/net/steps/one', definition: { name: { 'en-US': 'One' }, type: 'http://adlnet.gov/expapi/activities/lesson' } },
    result: { success: false, duration: 'PT0.25S', extensions: { 'https://labs.example.edu/labrun/xapi/extensions/checks': [{ name: 'a', passed: false }] } },
    context: { platform: 'labrun', contextActivities: { parent: [{ id: 'https://labs.example.edu/labrun/labs/net', objectType: 'Activity' }] }, extensions: { 'https://labs.example.edu/labrun/xapi/extensions/class': 'c1' } },
    timestamp: '2026-01-02T03:04:05.000Z',
  });
});

test('results rows: state, first pass, attempts and time since the previous finished step', () => {
  const steps = [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }, { id: 'c', title: 'C' }];
  const attempts = [
    { stepId: 'a', passed: false, result: {}, at: 20_000 },
    { stepId: 'a', passed: true, result: {}, at: 70_000 },
    { stepId: 'b', passed: true, result: {}, at: 100_000 },
    { stepId: 'a', passed: true, result: {}, at: 130_000 },
  ];
  const rows = learnerStepResults(steps, { labId: 'x', currentStep: 'c', completedSteps: ['a', 'b'], updatedAt: 0 }, attempts, 10_000);
  assert.deepEqual(
    rows.map((r) => [r.stepId, r.state, r.doneAt, r.attempts, r.failedAttempts, r.timeOnStepSeconds]),
    [
      ['a', 'done', new Date(70_000).toISOString(), 3, 1, 60],
      ['b', 'done', new Date(100_000).toISOString(), 1, 0, 30],
      ['c', 'current', null, 0, 0, null],
    ],
  );
  // No join time (the local learner): the first step's time starts at its first check.
  assert.equal(learnerStepResults(steps, { labId: 'x', currentStep: null, completedSteps: ['a'], updatedAt: 0 }, attempts, undefined)[0]?.timeOnStepSeconds, 50);
});

test('the CSV quotes what needs quoting and defuses formulas', () => {
  const results = {
    class: { id: 'c1', name: 'Class, one', labId: 'x', labTitle: 'X', createdAt: '', endedAt: null },
    steps: [{ id: 'a', title: 'Say "hi"' }],
    learners: [{ learnerId: 'l1', name: '=1+1', joinedAt: '2026-01-01T00:00:00.000Z', steps: [{ stepNumber: 1, stepId: 'a', stepTitle: 'Say "hi"', state: 'done' as const, doneAt: '2026-01-01T00:01:00.000Z', attempts: 2, failedAttempts: 1, timeOnStepSeconds: 60 }] }],
  };
  assert.equal(csvRecords(results).length, 1);
  const csv = formatResults(results, 'csv').split('\n');
  assert.equal(csv[1], `c1,"Class, one",x,l1,'=1+1,2026-01-01T00:00:00.000Z,1,a,"Say ""hi""",done,2026-01-01T00:01:00.000Z,2,1,60`);
});

test('the webhook signature is HMAC-SHA256 of the body', () => {
  assert.equal(signature('key', 'The quick brown fox jumps over the lazy dog'), 'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
});

test('service options: base path, proxies, metrics token, webhook, event log, rate limits', () => {
  const c = parseConfig(['--base-path', '/labrun/', '--trusted-proxy', '127.0.0.1', '--trusted-proxy=10.0.0.0/8', '--metrics-token', 'm'.repeat(20), '--webhook', 'https://lms.example.edu/x', '--webhook-secret', 's'.repeat(20), '--rate-limit', 'check=5/30s', '--public-url', 'https://labs.example.edu/labrun/', '--data', '/tmp/d'], {});
  assert.equal(c.basePath, '/labrun');
  assert.deepEqual(c.trustedProxies, ['127.0.0.1', '10.0.0.0/8']);
  assert.equal(c.metricsToken, 'm'.repeat(20));
  assert.deepEqual(c.webhook, { url: 'https://lms.example.edu/x', secret: 's'.repeat(20) });
  assert.equal(c.eventLog, '/tmp/d/events.jsonl');
  assert.equal(c.publicUrl, 'https://labs.example.edu/labrun');
  assert.deepEqual(c.rateLimits, { ...DEFAULT_RATE_LIMITS, check: { max: 5, windowMs: 30_000 } });
  const d = parseConfig([], { LABRUN_BASE_PATH: '/a/b', LABRUN_TRUSTED_PROXIES: '::1, 192.168.0.0/16', LABRUN_RATE_LIMITS: 'join=0,sign-in=10/1m' });
  assert.equal(d.basePath, '/a/b');
  assert.deepEqual(d.trustedProxies, ['::1', '192.168.0.0/16']);
  assert.equal(d.rateLimits.join.max, 0);
  assert.equal(parseConfig([], {}).basePath, '');
  assert.equal(parseConfig(['--base-path', '/'], {}).basePath, '');

  const bad: [string[], RegExp][] = [
    [['--base-path', 'labrun'], /^--base-path: must be a path like \/labrun/],
    [['--base-path', '/a/../b'], /^--base-path: may not contain/],
    [['--base-path', '/a b'], /^--base-path: must be a path/],
    [['--trusted-proxy', 'proxy.example'], /^--trusted-proxy: must be an IP address or a range/],
    [['--trusted-proxy', '10.0.0.0/33'], /^--trusted-proxy: must be an IP address or a range/],
    [['--webhook', 'https://x.example/h'], /^--webhook: needs --webhook-secret too/],
    [['--webhook', 'ftp://x.example/h', '--webhook-secret', 's'.repeat(20)], /^--webhook: 'ftp:\/\/x\.example\/h' must start with http/],
    [['--metrics-token', 'short'], /^--metrics-token: must be at least 16 characters/],
    [['--rate-limit', 'checks=5'], /^--rate-limit: 'checks=5' must look like check=60\/1m/],
    [['--rate-limit', 'check=5/0s'], /^--rate-limit: 'check=5\/0s': the window must be a duration above 0/],
  ];
  for (const [argv, message] of bad) assert.throws(() => parseConfig(argv, {}), (err: unknown) => err instanceof ConfigError && message.test(err.message), argv.join(' '));
});
