// Expectation matching, table-driven, against hand-made ground truth (no Docker): each row is an
// expectation, the command output / probe / answers it sees, and whether it passes with which reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpectationSchema, type CheckSpec } from '../../server/labs/schema.ts';
import { evaluate, ipv4s, matchText, probeFor, sameAnswer, valueFromOutput, withholdUntilAnswered, WITHHELD, type CommandOutput, type ExpectationOutcome } from '../../server/checks/expect.ts';
import { parseFacts, type Facts } from '../../server/checks/facts.ts';

function inspect(o: {
  id: string;
  name: string;
  service?: string;
  project?: string;
  running?: boolean;
  networkMode?: string;
  sandboxKey?: string;
  networks?: Record<string, { IPAddress: string; Gateway: string }>;
  ports?: Record<string, { HostPort: string }[] | null>;
}): unknown {
  const labels: Record<string, string> = {};
  if (o.service) {
    labels['com.docker.compose.project'] = o.project ?? 'linuxnetworks';
    labels['com.docker.compose.service'] = o.service;
  }
  const running = o.running ?? true;
  return {
    Id: o.id,
    Name: `/${o.name}`,
    State: { Status: running ? 'running' : 'exited', Running: running },
    Config: { Labels: labels },
    HostConfig: { NetworkMode: o.networkMode ?? 'linuxnetworks_default' },
    NetworkSettings: { SandboxKey: o.sandboxKey ?? '', Networks: o.networks ?? {}, Ports: o.ports ?? {} },
  };
}

const NET = 'linuxnetworks_default';
const networks = [
  { Id: 'f840bcf6b465', Name: 'bridge', Driver: 'bridge', Options: { 'com.docker.network.bridge.name': 'docker0' }, IPAM: { Config: [{ Subnet: '10.200.0.0/24', Gateway: '10.200.0.1' }] } },
  { Id: '960f692df19ddae15388f6065cfb60e3', Name: NET, Driver: 'bridge', Options: {}, IPAM: { Config: [{ Subnet: '10.201.1.0/24', Gateway: '10.201.1.1' }] } },
  { Id: '88178594ab0a', Name: 'host', Driver: 'host', IPAM: { Config: [] } },
  { Name: 'other', IPAM: { Config: [{ Subnet: '10.201.2.0/24', Gateway: '10.201.2.1' }] } },
];

/** The seed stack up: two services, each in its own namespace, nginx_a publishing 8080. */
const up: Facts = parseFacts(
  'linuxnetworks',
  [
    inspect({ id: 'aaa', name: 'linuxnetworks-nginx_a-1', service: 'nginx_a', sandboxKey: '/var/run/docker/netns/a1', networks: { [NET]: { IPAddress: '10.201.1.3', Gateway: '10.201.1.1' } }, ports: { '80/tcp': [{ HostPort: '8080' }, { HostPort: '8080' }] } }),
    inspect({ id: 'bbb', name: 'linuxnetworks-nginx_b-1', service: 'nginx_b', sandboxKey: '/var/run/docker/netns/b1', networks: { [NET]: { IPAddress: '10.201.1.2', Gateway: '10.201.1.1' } } }),
    inspect({ id: 'ddd', name: 'dummynginx', networkMode: 'default', sandboxKey: '/var/run/docker/netns/d1', networks: { bridge: { IPAddress: '10.200.0.2', Gateway: '10.200.0.1' } }, ports: { '80/tcp': [{ HostPort: '8080' }] } }),
  ],
  networks,
);
/** nginx_b stopped. */
const bStopped: Facts = parseFacts('linuxnetworks', [
  inspect({ id: 'aaa', name: 'linuxnetworks-nginx_a-1', service: 'nginx_a', sandboxKey: '/var/run/docker/netns/a1', networks: { [NET]: { IPAddress: '10.201.1.3', Gateway: '10.201.1.1' } } }),
  inspect({ id: 'bbb', name: 'linuxnetworks-nginx_b-1', service: 'nginx_b', running: false }),
], networks);
/** nginx_b moved to another network. */
const bElsewhere: Facts = parseFacts('linuxnetworks', [
  inspect({ id: 'aaa', name: 'linuxnetworks-nginx_a-1', service: 'nginx_a', sandboxKey: '/var/run/docker/netns/a1', networks: { [NET]: { IPAddress: '10.201.1.3', Gateway: '10.201.1.1' } } }),
  inspect({ id: 'bbb', name: 'linuxnetworks-nginx_b-1', service: 'nginx_b', sandboxKey: '/var/run/docker/netns/b1', networks: { other: { IPAddress: '10.201.2.2', Gateway: '10.201.2.1' } } }),
], networks);
/** network_mode: service:nginx_a on nginx_b. */
const shared: Facts = parseFacts('linuxnetworks', [
  inspect({ id: 'aaa', name: 'linuxnetworks-nginx_a-1', service: 'nginx_a', sandboxKey: '/var/run/docker/netns/a1', networks: { [NET]: { IPAddress: '10.201.1.3', Gateway: '10.201.1.1' } }, ports: { '80/tcp': [{ HostPort: '8080' }], '9080/tcp': [{ HostPort: '9080' }] } }),
  inspect({ id: 'bbb', name: 'linuxnetworks-nginx_b-1', service: 'nginx_b', networkMode: 'container:aaa' }),
], networks);

const ok = (stdout: string, exitCode = 0): CommandOutput => ({ exitCode, stdout, stderr: '', timedOut: false });
/** netstat -tln/-uln inside a container: Docker's DNS listens on 127.0.0.11 with a random port per protocol. */
const NETSTAT = 'tcp        0      0 0.0.0.0:80              0.0.0.0:*               LISTEN\ntcp        0      0 127.0.0.11:39503        0.0.0.0:*               LISTEN\nudp        0      0 127.0.0.11:57620        0.0.0.0:*\n';
const DNS_PORT = { service: 'nginx_a', run: 'netstat -tln', matches: '127\\.0\\.0\\.11:(\\d+)', label: "TCP port of Docker's DNS" };
const check: CheckSpec = { name: 'c', service: 'nginx_a', run: 'x', expect: [{ exitCode: 0 }] };

interface Row {
  name: string;
  expect: unknown;
  facts?: Facts;
  output?: CommandOutput;
  probe?: CommandOutput;
  answers?: Record<string, string>;
  pass: boolean;
  reason?: RegExp;
}

const rows: Row[] = [
  { name: 'exit code match', expect: { exitCode: 0 }, output: ok(''), pass: true },
  { name: 'exit code mismatch names the code and stderr', expect: { exitCode: 0 }, output: { exitCode: 6, stdout: '', stderr: 'curl: (6) Could not resolve host: nginx_b', timedOut: false }, pass: false, reason: /exited with 6: curl: \(6\) Could not resolve/ },
  { name: 'timeout is its own reason', expect: { exitCode: 0 }, output: { exitCode: null, stdout: '', stderr: '', timedOut: true }, pass: false, reason: /did not finish/ },
  { name: 'stdout contains', expect: { stdout: { contains: 'Welcome' } }, output: ok('<h1>Welcome to nginx!</h1>'), pass: true },
  { name: 'stdout contains, missing', expect: { stdout: { contains: 'Welcome' } }, output: ok('502 Bad Gateway'), pass: false, reason: /does not satisfy: contains "Welcome"/ },
  { name: 'stdout matches (multiline)', expect: { stdout: { matches: '^nameserver 127\\.0\\.0\\.11$' } }, output: ok('search x\nnameserver 127.0.0.11\noptions ndots:0\n'), pass: true },
  { name: 'stdout not contains', expect: { stdout: { contains: 'error', not: true } }, output: ok('all good'), pass: true },
  { name: 'stdout not contains, present', expect: { stdout: { contains: 'error', not: true } }, output: ok('an error'), pass: false, reason: /does not contain "error"/ },
  { name: 'stdout equals ignores surrounding whitespace', expect: { stdout: { equals: '2' } }, output: ok('2\n'), pass: true },
  { name: 'stderr matches', expect: { stderr: { matches: 'denied' } }, output: { exitCode: 1, stdout: '', stderr: 'permission denied', timedOut: false }, pass: true },
  { name: 'resolves: output has the Docker IP', expect: { resolves: { name: 'nginx_b' } }, output: ok('Server: 127.0.0.11\nAddress: 127.0.0.11#53\n\nName: nginx_b\nAddress: 10.201.1.2\n'), pass: true },
  { name: 'resolves: wrong IP says both', expect: { resolves: { name: 'nginx_b' } }, output: ok('Name: nginx_b\nAddress: 10.9.9.9'), pass: false, reason: /resolved to 10\.9\.9\.9, but Docker gave it 10\.201\.1\.2/ },
  { name: 'resolves: nothing resolved', expect: { resolves: { name: 'nginx_b' } }, output: { exitCode: 1, stdout: '', stderr: '** server can\'t find nginx_b: NXDOMAIN', timedOut: false }, pass: false, reason: /did not resolve from nginx_a/ },
  { name: 'resolves: target stopped', expect: { resolves: { name: 'nginx_b' } }, facts: bStopped, output: ok(''), pass: false, reason: /nginx_b is exited, not running/ },
  { name: 'resolves: no shared network', expect: { resolves: { name: 'nginx_b' } }, facts: bElsewhere, output: ok('10.201.2.2'), pass: false, reason: /share no network \(nginx_a: linuxnetworks_default; nginx_b: other\)/ },
  { name: 'resolves: network_mode service has no IP', expect: { resolves: { name: 'nginx_b' } }, facts: shared, output: ok(''), pass: false, reason: /network_mode service:nginx_a: it has no IP address of its own/ },
  { name: 'resolves: probe used when there is no run', expect: { resolves: { name: 'nginx_b', from: 'nginx_a' } }, probe: ok('10.201.1.2      nginx_b\n'), pass: true },
  { name: 'running', expect: { running: { service: 'nginx_b' } }, pass: true },
  { name: 'running: stopped', expect: { running: { service: 'nginx_b' } }, facts: bStopped, pass: false, reason: /nginx_b is exited, not running/ },
  { name: 'running: no such service container', expect: { running: { service: 'nginx_c' } }, pass: false, reason: /no container for service nginx_c/ },
  { name: 'running: plain container', expect: { running: { container: 'dummynginx' } }, pass: true },
  { name: 'absent: still there', expect: { absent: { container: 'dummynginx' } }, pass: false, reason: /docker rm -f dummynginx/ },
  { name: 'absent: gone', expect: { absent: { container: 'dummynginx' } }, facts: shared, pass: true },
  { name: 'sharesNetns: separate', expect: { sharesNetns: { a: 'nginx_a', b: 'nginx_b' } }, pass: false, reason: /different network namespaces \(\/var\/run\/docker\/netns\/a1 vs \/var\/run\/docker\/netns\/b1\)/ },
  { name: 'sharesNetns: shared', expect: { sharesNetns: { a: 'nginx_a', b: 'nginx_b' } }, facts: shared, pass: true },
  { name: 'ownNetns: own', expect: { ownNetns: { container: 'dummynginx' } }, pass: true },
  { name: 'ownNetns: joined another', expect: { ownNetns: { service: 'nginx_b' } }, facts: shared, pass: false, reason: /joined linuxnetworks-nginx_a-1's network namespace/ },
  { name: 'netnsCount 2 (dummynginx is not in the project)', expect: { netnsCount: { equals: 2 } }, pass: true },
  { name: 'netnsCount with network_mode service', expect: { netnsCount: { equals: 1 } }, facts: shared, pass: true },
  { name: 'netnsCount mismatch', expect: { netnsCount: { equals: 1 } }, pass: false, reason: /found 2 distinct network namespaces/ },
  { name: 'publishes (dual-stack binding counted once)', expect: { publishes: { service: 'nginx_a', hostPort: 8080, containerPort: 80 } }, pass: true },
  { name: 'publishes: missing port lists what is published', expect: { publishes: { service: 'nginx_a', hostPort: 9080, containerPort: 9080 } }, pass: false, reason: /nginx_a publishes 8080->80\/tcp/ },
  { name: 'publishes: via the namespace owner', expect: { publishes: { service: 'nginx_b', hostPort: 9080, containerPort: 9080 } }, facts: shared, pass: true },
  { name: 'mentions IP', expect: { mentions: { ipOf: 'nginx_a' } }, output: ok('inet 10.201.1.3/24 brd 10.201.1.255 scope global eth0'), pass: true },
  { name: 'mentions gateway: absent', expect: { mentions: { gatewayOf: NET } }, output: ok('default via 10.200.0.1 dev eth0'), pass: false, reason: /does not contain 10\.201\.1\.1, the gateway of linuxnetworks_default/ },
  { name: 'mentions subnet', expect: { mentions: { subnetOf: NET } }, output: ok('-A POSTROUTING -s 10.201.1.0/24 ! -o br-x -j MASQUERADE'), pass: true },
  { name: 'answer: right', expect: { answer: { question: 'ip', equals: { ipOf: 'nginx_b' } } }, answers: { ip: ' 10.201.1.2 ' }, pass: true },
  { name: 'answer: wrong does not reveal the value', expect: { answer: { question: 'ip', equals: { ipOf: 'nginx_b' } } }, answers: { ip: '10.201.1.3' }, pass: false, reason: /^10\.201\.1\.3 is not the IP of nginx_b on linuxnetworks_default$/ },
  { name: 'answer: missing', expect: { answer: { question: 'ip', equals: { ipOf: 'nginx_b' } } }, pass: false, reason: /answer question 'ip' first/ },
  { name: 'answer: /run and /var/run name the same key', expect: { answer: { question: 'k', equals: { sandboxKeyOf: 'nginx_a' } } }, answers: { k: '/run/docker/netns/a1' }, pass: true },
  { name: 'answer: IP of a service without one', expect: { answer: { question: 'ip', equals: { ipOf: 'nginx_b' } } }, facts: shared, answers: { ip: '10.201.1.3' }, pass: false, reason: /no IP address of its own/ },
  { name: 'answer: an address copied with its prefix length (ip addr) is the address', expect: { answer: { question: 'ip', equals: { ipOf: 'nginx_b' } } }, answers: { ip: '10.201.1.2/24' }, pass: true },
  { name: 'answer: a subnet wants its prefix length', expect: { answer: { question: 's', equals: { subnetOf: NET } } }, answers: { s: '10.201.1.0' }, pass: false, reason: /^10\.201\.1\.0 is not the subnet of linuxnetworks_default$/ },
  { name: 'answer: bridge of a user-defined network is br-<12 hex of its id>', expect: { answer: { question: 'br', equals: { bridgeOf: NET } } }, answers: { br: 'BR-960f692df19d ' }, pass: true },
  { name: 'answer: bridge of the built-in network is docker0', expect: { answer: { question: 'br', equals: { bridgeOf: 'bridge' } } }, answers: { br: 'docker0' }, pass: true },
  { name: 'answer: a network without a bridge says so', expect: { answer: { question: 'br', equals: { bridgeOf: 'host' } } }, answers: { br: 'docker0' }, pass: false, reason: /host is not a bridge network/ },
  { name: 'mentions bridge', expect: { mentions: { bridgeOf: NET } }, output: ok('-A POSTROUTING -s 10.201.1.0/24 ! -o br-960f692df19d -j MASQUERADE'), pass: true },
  { name: 'answer: outputOf, the bare port', expect: { answer: { question: 'port', equals: { outputOf: DNS_PORT } } }, probe: ok(NETSTAT), answers: { port: ' 39503 ' }, pass: true },
  { name: 'answer: outputOf, copied as netstat prints it', expect: { answer: { question: 'port', equals: { outputOf: DNS_PORT } } }, probe: ok(NETSTAT), answers: { port: '127.0.0.11:39503' }, pass: true },
  { name: 'answer: outputOf, the UDP port is not the TCP one (and the right one is not revealed)', expect: { answer: { question: 'port', equals: { outputOf: DNS_PORT } } }, probe: ok(NETSTAT), answers: { port: '57620' }, pass: false, reason: /^57620 is not the TCP port of Docker's DNS$/ },
  { name: 'answer: outputOf, no answer', expect: { answer: { question: 'port', equals: { outputOf: DNS_PORT } } }, probe: ok(NETSTAT), pass: false, reason: /answer question 'port' first/ },
  { name: 'answer: outputOf, the command failed: named, its output not shown', expect: { answer: { question: 'port', equals: { outputOf: DNS_PORT } } }, probe: { exitCode: 1, stdout: 'secret 39503', stderr: '', timedOut: false }, answers: { port: '1' }, pass: false, reason: /^'netstat -tln' exited with 1 in nginx_a$/ },
  { name: 'answer: outputOf, nothing matches', expect: { answer: { question: 'port', equals: { outputOf: DNS_PORT } } }, probe: ok('tcp 0 0 0.0.0.0:80 0.0.0.0:* LISTEN'), answers: { port: '1' }, pass: false, reason: /printed nothing matching/ },
  { name: 'answer: outputOf without a capture group takes the whole match', expect: { answer: { question: 'ns', equals: { outputOf: { run: 'readlink /proc/self/ns/net', matches: 'net:\\[\\d+\\]' } } } }, probe: ok('net:[4026532261]\n'), answers: { ns: 'net:[4026532261]' }, pass: true },
  { name: 'mentions outputOf', expect: { mentions: { outputOf: { run: 'readlink /proc/self/ns/net', matches: 'net:\\[(\\d+)\\]' } } }, output: ok('inode 4026532261'), probe: ok('net:[4026532261]'), pass: true },
  { name: 'reachable: body matches', expect: { reachable: { from: 'nginx_a', to: 'nginx_b', port: 80, body: { contains: 'Welcome' } } }, probe: ok('Welcome to nginx!'), pass: true },
  { name: 'reachable: curl failure explained', expect: { reachable: { from: 'nginx_a', to: 'nginx_b', port: 80 } }, probe: { exitCode: 7, stdout: '', stderr: 'curl: (7) Failed to connect to nginx_b port 80', timedOut: false }, pass: false, reason: /nginx_a cannot reach http:\/\/nginx_b:80\/: curl: \(7\) Failed to connect/ },
];

for (const row of rows) {
  test(`expectation: ${row.name}`, () => {
    const e = ExpectationSchema.parse(row.expect);
    const input: Parameters<typeof evaluate>[1] = { check, answers: row.answers ?? {}, facts: row.facts ?? up };
    if (row.output) input.output = row.output;
    if (row.probe) input.probe = row.probe;
    const r = evaluate(e, input);
    assert.equal(r.passed, row.pass, `${r.reason} (expected ${r.expected}, got ${r.got})`);
    if (row.reason) assert.match(r.reason, row.reason);
  });
}

test('matchText: regex is multi-line, equals trims', () => {
  assert.equal(matchText({ matches: '^b$' }, 'a\nb\nc').passed, true);
  assert.equal(matchText({ equals: 'x' }, ' x \n').passed, true);
});

test('ipv4s finds each address once', () => {
  assert.deepEqual(ipv4s('a 10.0.0.1 b 10.0.0.1 c 192.168.1.20/24'), ['10.0.0.1', '192.168.1.20']);
});

test('probes: getent for a run-less resolves, curl for reachable, none for output checks', () => {
  const bare: CheckSpec = { name: 'c', expect: [{ exitCode: 0 }] };
  assert.deepEqual(probeFor({ resolves: { name: 'nginx_b', from: 'nginx_a' } }, bare)?.argv, ['getent', 'hosts', 'nginx_b']);
  assert.equal(probeFor({ resolves: { name: 'nginx_b' } }, check), undefined);
  const p = probeFor({ reachable: { to: 'localhost', port: 8080 } }, bare);
  assert.equal(p?.service, undefined);
  assert.equal(p?.argv[0], 'curl');
  assert.ok(p?.argv.includes('http://localhost:8080/'));
  assert.equal(probeFor({ exitCode: 0 }, bare), undefined);
});

test('probes: an outputOf live value runs its command where it says, like a check does', () => {
  const bare: CheckSpec = { name: 'c', expect: [{ exitCode: 0 }] };
  const inService = probeFor({ answer: { question: 'port', equals: { outputOf: DNS_PORT } } }, bare);
  assert.deepEqual({ service: inService?.service, argv: inService?.argv }, { service: 'nginx_a', argv: ['sh', '-c', 'netstat -tln'] });
  const inShell = probeFor({ mentions: { outputOf: { run: 'readlink /proc/self/ns/net', matches: 'x' } } }, bare);
  assert.deepEqual({ service: inShell?.service, argv: inShell?.argv }, { service: undefined, argv: ['bash', '-lc', 'readlink /proc/self/ns/net'] });
  assert.equal(probeFor({ answer: { question: 'ip', equals: { ipOf: 'nginx_b' } } }, bare), undefined);
});

test('valueFromOutput: first capture group, trimmed; errors never quote the output', () => {
  assert.deepEqual(valueFromOutput(DNS_PORT, ok(NETSTAT)), { value: '39503', label: "TCP port of Docker's DNS" });
  const timedOut = valueFromOutput(DNS_PORT, { exitCode: null, stdout: '127.0.0.11:39503', stderr: '', timedOut: true });
  assert.ok('error' in timedOut && !timedOut.error.includes('39503'), JSON.stringify(timedOut));
  assert.ok('error' in valueFromOutput(DNS_PORT, undefined));
});

test('sameAnswer: whitespace, case, /var/run vs /run, CIDR for a bare address, copies of the matched text', () => {
  const key = { sandboxKeyOf: 'nginx_a' };
  assert.equal(sameAnswer(' /run/docker/netns/a1\n', '/var/run/docker/netns/a1', key), true);
  assert.equal(sameAnswer('/run/docker/netns/a2', '/var/run/docker/netns/a1', key), false);
  assert.equal(sameAnswer('10.0.0.2/16', '10.0.0.2', { ipOf: 'x' }), true);
  assert.equal(sameAnswer('10.0.0.20', '10.0.0.2', { ipOf: 'x' }), false);
  assert.equal(sameAnswer('10.0.0.0', '10.0.0.0/24', { subnetOf: 'n' }), false);
  const ns = { outputOf: { run: 'readlink /proc/self/ns/net', matches: 'net:\\[(\\d+)\\]' } };
  assert.equal(sameAnswer('net:[4026532261]', '4026532261', ns), true);
  assert.equal(sameAnswer('4026532261', '4026532261', ns), true);
  assert.equal(sameAnswer('net:[4026532262]', '4026532261', ns), false);
});

test('withholdUntilAnswered: while the answer is missing or wrong, what the other expectations saw is hidden', () => {
  const seen: ExpectationOutcome[] = [
    { kind: 'stdout', passed: true, expected: 'stdout matches /x/', got: 'tcp 127.0.0.11:39503', reason: 'ok' },
    { kind: 'mentions', passed: false, expected: 'output contains the gateway (10.201.1.1)', got: '…', reason: 'the output does not contain 10.201.1.1' },
    { kind: 'answer', passed: false, expected: 'gateway of net', got: '10.0.0.9', reason: '10.0.0.9 is not the gateway of net' },
  ];
  const w = withholdUntilAnswered(seen);
  assert.equal(w.hideOutput, true);
  assert.deepEqual(w.outcomes.map((o) => o.passed), [true, false, false]);
  assert.ok(w.outcomes.slice(0, 2).every((o) => o.expected === WITHHELD && o.got === WITHHELD && !/10\.201|39503/.test(o.reason)));
  assert.deepEqual(w.outcomes[2], seen[2]);
  const answered = [{ ...seen[0]!, kind: 'stdout' as const }, { kind: 'answer' as const, passed: true, expected: 'x', got: 'x', reason: 'correct' }];
  assert.deepEqual(withholdUntilAnswered(answered), { outcomes: answered, hideOutput: false });
});
