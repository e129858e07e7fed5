// Lab schema and reference errors, table-driven: each row is a step's frontmatter (or a lab.yaml) with
// one mistake, and the exact line:col and message the loader must report for it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadLab } from '../../server/labs/catalog.ts';

const root = await mkdtemp(path.join(tmpdir(), 'labrun-schema-'));
after(() => rm(root, { recursive: true, force: true }));

const LAB_YAML = 'title: T\nsummary: S\nminutes: 5\nworkspace: ws\n';
const COMPOSE = "services:\n  web:\n    image: 'nginx:latest'\n  client:\n    image: 'nginx:latest'\n";

let n = 0;
async function lab(opts: { labYaml?: string; step?: string }): Promise<string[]> {
  const dir = path.join(root, `lab-${n++}`);
  await mkdir(path.join(dir, 'steps'), { recursive: true });
  await mkdir(path.join(dir, 'files'));
  await writeFile(path.join(dir, 'lab.yaml'), opts.labYaml ?? LAB_YAML);
  await writeFile(path.join(dir, 'files', 'docker-compose.yaml'), COMPOSE);
  await writeFile(path.join(dir, 'steps', '01-s.md'), opts.step ?? '---\ntitle: S\n---\nbody\n');
  const r = await loadLab(dir);
  return r.issues.map((i) => `${path.basename(i.file)}:${i.line}:${i.col}: ${i.message}`);
}

const step = (yaml: string) => `---\ntitle: S\n${yaml}---\nbody\n`;

const rows: { name: string; labYaml?: string; step?: string; issues: (string | RegExp)[] }[] = [
  { name: 'a valid lab', issues: [] },
  {
    name: 'unknown field in a check',
    step: step('checks:\n  - name: c\n    run: echo\n    expcet: []\n'),
    issues: [/^01-s\.md:4:5: missing required field 'checks\[0\]\.expect'$/, "01-s.md:6:5: unknown field 'expcet' in checks[0]"],
  },
  {
    name: 'unknown expectation kind',
    step: step('checks:\n  - name: c\n    run: echo\n    expect:\n      - exitcode: 0\n'),
    issues: [/^01-s\.md:7:9: unknown expectation 'exitcode' \(known: exitCode, /],
  },
  {
    name: 'two kinds in one expectation',
    step: step('checks:\n  - name: c\n    run: echo\n    expect:\n      - exitCode: 0\n        stdout: { contains: x }\n'),
    issues: ['01-s.md:7:9: checks[0].expect[0]: an expectation has exactly one kind (got exitCode, stdout); split it into separate list items'],
  },
  {
    name: 'regex that does not compile',
    step: step("checks:\n  - name: c\n    run: echo\n    expect:\n      - stdout: { matches: '[a-' }\n"),
    issues: [/^01-s\.md:7:28: checks\[0\]\.expect\[0\]\.stdout\.matches: invalid regex: /],
  },
  {
    name: 'unknown service in a check',
    step: step('checks:\n  - name: c\n    service: db\n    run: echo\n    expect:\n      - exitCode: 0\n'),
    issues: ["01-s.md:5:14: unknown service 'db' (services in the lab's compose files: client, web)"],
  },
  {
    name: 'unknown question id',
    step: step('questions:\n  - id: ip\n    prompt: IP?\nchecks:\n  - name: c\n    expect:\n      - answer: { question: addr, equals: { ipOf: web } }\n'),
    issues: ["01-s.md:9:29: unknown question id 'addr' (this step's questions: ip)"],
  },
  {
    name: 'unknown network in a live value',
    step: step('checks:\n  - name: c\n    run: ip route\n    expect:\n      - mentions: { gatewayOf: wrong_net }\n'),
    issues: [/^01-s\.md:7:32: unknown network 'wrong_net' \(known: bridge, host, none, ws_default\)$/],
  },
  {
    name: 'outputOf: a regex that does not compile',
    step: step("questions:\n  - id: port\n    prompt: Port?\nchecks:\n  - name: c\n    expect:\n      - answer:\n          question: port\n          equals:\n            outputOf: { service: db, run: netstat -tln, matches: '[0-' }\n"),
    issues: [/^01-s\.md:12:66: checks\[0\]\.expect\[0\]\.answer\.equals\.outputOf\.matches: invalid regex: /],
  },
  {
    name: 'outputOf: unknown service',
    step: step("questions:\n  - id: port\n    prompt: Port?\nchecks:\n  - name: c\n    expect:\n      - answer:\n          question: port\n          equals:\n            outputOf: { service: db, run: netstat -tln, matches: ':(\\d+)' }\n"),
    issues: ["01-s.md:12:34: unknown service 'db' (services in the lab's compose files: client, web)"],
  },
  {
    name: 'bridgeOf: unknown network',
    step: step('checks:\n  - name: c\n    run: ip link\n    expect:\n      - mentions: { bridgeOf: lan }\n'),
    issues: [/^01-s\.md:7:31: unknown network 'lan' /],
  },
  {
    name: 'output expectation without a command',
    step: step('checks:\n  - name: c\n    expect:\n      - exitCode: 0\n'),
    issues: ["01-s.md:4:5: check 'c' expects command output (exitCode/stdout/stderr/mentions) but has no 'run'"],
  },
  {
    name: 'resolves with nowhere to resolve from',
    step: step('checks:\n  - name: c\n    expect:\n      - resolves: { name: web }\n'),
    issues: ["01-s.md:6:19: resolves needs 'from' (a service) or a check 'service' to resolve from"],
  },
  {
    name: 'frontmatter missing',
    step: '# just markdown\n',
    issues: ["01-s.md:1:1: step file must start with YAML frontmatter between '---' lines"],
  },
  {
    name: 'YAML syntax error',
    step: step('checks: [\n'),
    issues: [/^01-s\.md:\d+:\d+: YAML: /],
  },
  {
    name: 'lab.yaml: wrong type and bad workspace',
    labYaml: 'title: T\nsummary: S\nminutes: "5"\nworkspace: My WS\n',
    issues: ['lab.yaml:3:10: minutes: Invalid input: expected number, received string', /^lab\.yaml:4:12: workspace: workspace must be lower-case/],
  },
  {
    name: 'lab.yaml: missing step file and compose file',
    labYaml: `${LAB_YAML}compose: [docker-compose.yaml, nope.yaml]\nsteps:\n  - 01-s.md\n  - 02-gone.md\n`,
    issues: ['lab.yaml:5:32: compose file files/nope.yaml not found', 'lab.yaml:8:5: step file steps/02-gone.md not found'],
  },
];

for (const row of rows) {
  test(`lab schema: ${row.name}`, async () => {
    const got = await lab(row);
    assert.equal(got.length, row.issues.length, `issues: ${JSON.stringify(got, null, 1)}`);
    row.issues.forEach((want, i) => {
      if (typeof want === 'string') assert.equal(got[i], want);
      else assert.match(got[i] ?? '', want);
    });
  });
}
