// Expectation matching, pure: given a check's command output, the ground-truth Facts, the output of any
// probe an expectation needed (e.g. `getent hosts nginx_b` in nginx_a) and the learner's answers, decide
// each expectation and say why, as "expected … / got …". No I/O here; run-step.ts gathers the inputs.
import type { CheckSpec, Expectation, LiveValue, OutputOf, TextMatch } from '../labs/catalog.ts';
import type { ExpectationKind } from '../labs/schema.ts';
import { EXPECTATION_KINDS } from '../labs/schema.ts';
import {
  describeTarget,
  findTarget,
  liveValue,
  netnsId,
  netnsOwner,
  serviceContainers,
  sharesNetnsWith,
  type ContainerFact,
  type Facts,
  type LiveResult,
} from './facts.ts';

export interface CommandOutput {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExpectationOutcome {
  kind: ExpectationKind;
  passed: boolean;
  expected: string;
  got: string;
  /** One sentence a learner can act on. */
  reason: string;
}

export interface EvalInput {
  check: CheckSpec;
  /** Result of the check's `run`, when it has one. */
  output?: CommandOutput;
  /** Result of this expectation's own probe (see probeFor), when it needs one. */
  probe?: CommandOutput;
  facts?: Facts;
  answers: Record<string, string>;
}

/** A command an expectation needs run on its own, and where (service omitted = the sandbox shell). */
export interface Probe {
  service?: string;
  argv: string[];
  /** What it does, for results ("getent hosts nginx_b in nginx_a"). */
  label: string;
}

/** Seconds a reachability probe may take: a connect that hangs this long is a failure, not a slow success. */
export const PROBE_CONNECT_TIMEOUT_S = 5;

/**
 * curl once; but a reset or empty reply (exit 56/52) right after a container starts is its port proxy
 * answering before the server inside listens, so retry that for about a second. Nothing listening at
 * all (exit 7) fails at once: a learner who has not started anything should not wait.
 */
const HTTP_PROBE = 'for i in 1 2 3 4 5 6; do curl -sS --max-time "$1" "$2" && exit 0; rc=$?; case $rc in 52|56) sleep 0.2 ;; *) exit $rc ;; esac; done; exit $rc';

export function kindOf(e: Expectation): ExpectationKind {
  const k = EXPECTATION_KINDS.find((kind) => e[kind] !== undefined);
  if (!k) throw new Error('expectation has no kind (the schema should have rejected it)');
  return k;
}

/** Whether the expectation needs the inner engine's ground truth. */
export function needsFacts(e: Expectation): boolean {
  return !(e.exitCode !== undefined || e.stdout || e.stderr);
}

export function probeFor(e: Expectation, check: CheckSpec): Probe | undefined {
  const live = e.answer?.equals ?? e.mentions;
  if (live) return live.outputOf ? outputProbe(live.outputOf) : undefined;
  if (e.resolves && check.run === undefined) {
    const from = e.resolves.from ?? check.service ?? '';
    return { service: from, argv: ['getent', 'hosts', e.resolves.name], label: `getent hosts ${e.resolves.name} in ${from}` };
  }
  if (e.reachable) {
    const { to, port, from } = e.reachable;
    const where = from ?? 'the sandbox shell';
    const p: Probe =
      e.reachable.protocol === 'tcp'
        ? {
            argv: ['timeout', String(PROBE_CONNECT_TIMEOUT_S), 'bash', '-c', `exec 3<>/dev/tcp/${to}/${port}`],
            label: `TCP connect to ${to}:${port} from ${where}`,
          }
        : {
            argv: ['sh', '-c', HTTP_PROBE, 'probe', String(PROBE_CONNECT_TIMEOUT_S), `http://${to}:${port}${e.reachable.path ?? '/'}`],
            label: `curl http://${to}:${port}${e.reachable.path ?? '/'} from ${where}`,
          };
    if (from !== undefined) p.service = from;
    return p;
  }
  return undefined;
}

/** The command an `outputOf` live value reads; in a service as `sh -c`, in the sandbox shell as `bash -lc` (like checks). */
export function outputProbe(o: OutputOf): Probe {
  const p: Probe = { argv: o.service !== undefined ? ['sh', '-c', o.run] : ['bash', '-lc', o.run], label: `${o.run} in ${o.service ?? 'the sandbox shell'}` };
  if (o.service !== undefined) p.service = o.service;
  return p;
}

/** An `outputOf` value from its command's output: the first capture group of `matches`, else the whole match. */
export function valueFromOutput(o: OutputOf, out: CommandOutput | undefined): LiveResult {
  const where = o.service ?? 'the sandbox shell';
  const label = o.label ?? `value read from '${o.run}' in ${where}`;
  // Errors name the command, never its output: the output holds the value a learner is asked for.
  if (!out) return { error: `'${o.run}' did not run in ${where}` };
  if (out.timedOut) return { error: `'${o.run}' timed out in ${where}` };
  if (out.exitCode !== 0) return { error: `'${o.run}' exited with ${out.exitCode ?? 'no code'} in ${where}` };
  const value = captured(o.matches, out.stdout);
  return value ? { value, label } : { error: `'${o.run}' in ${where} printed nothing matching /${o.matches}/` };
}

function captured(pattern: string, text: string): string | undefined {
  const m = new RegExp(pattern, 'm').exec(text);
  return (m?.[1] ?? m?.[0])?.trim() || undefined;
}

/** A live value: from the engine's facts, or (outputOf) from the output of its probe. */
export function resolveLive(v: LiveValue, facts: Facts, probe: CommandOutput | undefined): LiveResult {
  return v.outputOf ? valueFromOutput(v.outputOf, probe) : liveValue(facts, v);
}

/** Excerpt for "got": first line-ish, bounded, so a result stays readable. */
export function excerpt(text: string, max = 160): string {
  const t = text.trim().replace(/\s*\n\s*/g, ' ⏎ ');
  return t.length > max ? `${t.slice(0, max)}…` : t || '(empty)';
}

export function matchText(m: TextMatch, text: string): { passed: boolean; expected: string } {
  let hit: boolean;
  let expected: string;
  if (m.contains !== undefined) {
    hit = text.includes(m.contains);
    expected = `contains ${JSON.stringify(m.contains)}`;
  } else if (m.matches !== undefined) {
    hit = new RegExp(m.matches, 'm').test(text);
    expected = `matches /${m.matches}/`;
  } else {
    hit = text.trim() === (m.equals ?? '').trim();
    expected = `equals ${JSON.stringify(m.equals)}`;
  }
  return m.not ? { passed: !hit, expected: `does not ${expected.replace(/^(contains|matches|equals)/, (w) => ({ contains: 'contain', matches: 'match', equals: 'equal' })[w] ?? w)}` } : { passed: hit, expected };
}

export function ipv4s(text: string): string[] {
  return [...new Set(text.match(/\b(?:\d{1,3}\.){3}\d{1,3}\b/g) ?? [])];
}

function outcome(kind: ExpectationKind, passed: boolean, expected: string, got: string, reason: string): ExpectationOutcome {
  return { kind, passed, expected, got, reason };
}

export function evaluate(e: Expectation, input: EvalInput): ExpectationOutcome {
  const kind = kindOf(e);
  const out = input.output;
  if (e.exitCode !== undefined || e.stdout || e.stderr) {
    if (!out) return outcome(kind, false, describeOutputExpectation(e), 'nothing ran', 'the check has no command to run');
    if (out.timedOut) return outcome(kind, false, describeOutputExpectation(e), 'timed out', 'the command did not finish within the check timeout');
    if (e.exitCode !== undefined) {
      const ok = out.exitCode === e.exitCode;
      return outcome(kind, ok, `exit code ${e.exitCode}`, `exit code ${out.exitCode ?? 'unknown'}`, ok ? 'exit code as expected' : `the command exited with ${out.exitCode ?? 'no code'}${out.stderr.trim() ? `: ${excerpt(out.stderr, 120)}` : ''}`);
    }
    const stream = e.stdout ? 'stdout' : 'stderr';
    const m: TextMatch | undefined = e.stdout ?? e.stderr;
    if (!m) return outcome(kind, false, kind, 'unsupported', 'empty output expectation');
    const r = matchText(m, out[stream]);
    return outcome(kind, r.passed, `${stream} ${r.expected}`, excerpt(out[stream]), r.passed ? `${stream} ${r.expected}` : `${stream} does not satisfy: ${r.expected}`);
  }

  const facts = input.facts;
  if (!facts) return outcome(kind, false, kind, 'no ground truth', 'could not read the sandbox engine');

  if (e.resolves) return judgeResolves(e.resolves.name, e.resolves.from ?? input.check.service ?? '', facts, input.probe ?? out);
  if (e.reachable) {
    const { to, port } = e.reachable;
    const from = e.reachable.from ?? 'the sandbox shell';
    const url = e.reachable.protocol === 'tcp' ? `${to}:${port} (TCP)` : `http://${to}:${port}${e.reachable.path ?? '/'}`;
    const p = input.probe;
    if (!p) return outcome(kind, false, `${url} reachable from ${from}`, 'no probe result', 'the probe did not run');
    if (p.exitCode !== 0) {
      const why = p.timedOut || p.exitCode === 124 || p.exitCode === 28 ? 'timed out' : excerpt(p.stderr || p.stdout, 160);
      return outcome(kind, false, `${url} reachable from ${from}`, `failed (exit ${p.exitCode ?? '?'}): ${why}`, `${from} cannot reach ${url}: ${why}`);
    }
    if (e.reachable.body) {
      const r = matchText(e.reachable.body, p.stdout);
      return outcome(kind, r.passed, `body ${r.expected}`, excerpt(p.stdout), r.passed ? `${from} reached ${url} and the body ${r.expected}` : `${from} reached ${url} but the body does not satisfy: ${r.expected}`);
    }
    return outcome(kind, true, `${url} reachable from ${from}`, 'connected', `${from} reached ${url}`);
  }
  if (e.running) {
    const what = describeTarget(e.running);
    const t = findTarget(facts, e.running);
    if ('missing' in t) return outcome(kind, false, `${what} running`, 'no container', t.missing);
    return outcome(kind, t.c.running, `${what} running`, t.c.state, t.c.running ? `${what} is running (${t.c.name})` : `${what} is ${t.c.state}, not running (container ${t.c.name})`);
  }
  if (e.absent) {
    const c = facts.containers.find((x) => x.name === e.absent?.container);
    return outcome(kind, !c, `no container named ${e.absent.container}`, c ? `${c.name} is ${c.state}` : 'none', c ? `container ${c.name} still exists (${c.state}); remove it with docker rm -f ${c.name}` : `no container named ${e.absent.container}`);
  }
  if (e.sharesNetns) {
    const { a, b } = e.sharesNetns;
    const ca = serviceContainers(facts, a)[0];
    const cb = serviceContainers(facts, b)[0];
    const expected = `${a} and ${b} in one network namespace`;
    if (!ca || !cb) return outcome(kind, false, expected, 'missing container', `no container for service ${!ca ? a : b} (is the stack up?)`);
    const notRunning = [ca, cb].find((c) => !c.running);
    if (notRunning) return outcome(kind, false, expected, `${notRunning.service} ${notRunning.state}`, `${notRunning.service} is ${notRunning.state}, not running`);
    const na = netnsId(facts, ca);
    const nb = netnsId(facts, cb);
    return outcome(kind, na === nb, expected, `${a}: ${na}, ${b}: ${nb}`, na === nb ? `${a} and ${b} share ${na}` : `${a} and ${b} are in different network namespaces (${na} vs ${nb}); network_mode: "service:${a}" on ${b} would join them`);
  }
  if (e.ownNetns) {
    const what = describeTarget(e.ownNetns);
    const t = findTarget(facts, e.ownNetns);
    const expected = `${what} has its own network namespace`;
    if ('missing' in t) return outcome(kind, false, expected, 'no container', t.missing);
    if (!t.c.running) return outcome(kind, false, expected, t.c.state, `${what} is ${t.c.state}, not running`);
    if (t.c.networkMode === 'host') return outcome(kind, false, expected, 'network_mode host', `${what} uses the host's network namespace (--network=host)`);
    const owner = sharesNetnsWith(facts, t.c);
    if (owner) return outcome(kind, false, expected, `shares ${owner.name}'s`, `${what} joined ${owner.name}'s network namespace (network_mode container/service)`);
    return outcome(kind, t.c.sandboxKey !== '', expected, t.c.sandboxKey || 'no SandboxKey', t.c.sandboxKey ? `${what} has its own namespace at ${t.c.sandboxKey}` : `${what} reports no SandboxKey`);
  }
  if (e.netnsCount) {
    const running = facts.containers.filter((c) => c.project === facts.project && c.running);
    const ids = new Set(running.map((c) => netnsId(facts, c)));
    const n = ids.size;
    const want = e.netnsCount.equals;
    return outcome(kind, n === want, `${want} network namespace(s) in project ${facts.project}`, `${n} among ${running.length} running container(s)`, n === want ? `${n} distinct network namespaces, as expected` : `found ${n} distinct network namespaces among the running containers of ${facts.project} (${running.map((c) => c.service ?? c.name).join(', ') || 'none'}), expected ${want}`);
  }
  if (e.publishes) {
    const p = e.publishes;
    const what = describeTarget(p);
    const expected = `${what} publishes host port ${p.hostPort} → ${p.containerPort}`;
    const t = findTarget(facts, p);
    if ('missing' in t) return outcome(kind, false, expected, 'no container', t.missing);
    const owner = netnsOwner(facts, t.c);
    const ports = owner.ports;
    const got = ports.map((x) => `${x.hostPort}->${x.containerPort}/${x.proto}`).join(', ') || 'no published ports';
    const ok = ports.some((x) => x.hostPort === p.hostPort && x.containerPort === p.containerPort);
    return outcome(kind, ok, expected, got, ok ? expected : `${what} publishes ${got}${t.c.running ? '' : ` (it is ${t.c.state})`}`);
  }
  if (e.mentions) {
    const v = resolveLive(e.mentions, facts, input.probe);
    if ('error' in v) return outcome(kind, false, 'a live value', 'unavailable', v.error);
    if (!out) return outcome(kind, false, `output mentions ${v.value}`, 'nothing ran', 'the check has no command to run');
    const ok = out.stdout.includes(v.value);
    return outcome(kind, ok, `output contains ${v.label} (${v.value})`, excerpt(out.stdout), ok ? `the output shows ${v.label}` : `the output does not contain ${v.value}, the ${v.label}`);
  }
  if (e.answer) {
    const v = resolveLive(e.answer.equals, facts, input.probe);
    const given = input.answers[e.answer.question]?.trim();
    if ('error' in v) return outcome(kind, false, 'a live value', 'unavailable', v.error);
    if (!given) return outcome(kind, false, v.label, 'no answer', `answer question '${e.answer.question}' first`);
    const ok = sameAnswer(given, v.value, e.answer.equals);
    // The live value is the answer: show it only once the learner got it, so the check does not give it away.
    return outcome(kind, ok, ok ? `${v.label} (${v.value})` : v.label, given, ok ? `correct: ${given} is the ${v.label}` : `${given} is not the ${v.label}`);
  }
  return outcome(kind, false, kind, 'unsupported', `expectation kind ${kind} is not implemented`);
}

function judgeResolves(name: string, from: string, facts: Facts, probe: CommandOutput | undefined): ExpectationOutcome {
  const kind = 'resolves';
  const expected0 = `${name} resolves from ${from} to its Docker-assigned IP`;
  const target = serviceContainers(facts, name)[0];
  const source = serviceContainers(facts, from)[0];
  if (!target) return outcome(kind, false, expected0, 'no container', `no container for service ${name} (is the stack up? try: docker compose up -d)`);
  if (!source) return outcome(kind, false, expected0, 'no container', `no container for service ${from} (is the stack up? try: docker compose up -d)`);
  if (!target.running) return outcome(kind, false, expected0, `${name} ${target.state}`, `${name} is ${target.state}, not running: Docker's DNS only answers for running containers`);
  if (!source.running) return outcome(kind, false, expected0, `${from} ${source.state}`, `${from} is ${source.state}, not running`);
  const owner = sharesNetnsWith(facts, target);
  if (owner)
    return outcome(kind, false, expected0, 'no IP of its own', `${name} uses network_mode service:${owner.service ?? owner.name}: it has no IP address of its own, so Docker's DNS has no record for it; reach it through ${owner.service ?? owner.name} instead`);
  const sourceNets = netsOf(facts, source);
  const shared = Object.keys(target.networks).filter((n) => sourceNets.includes(n));
  if (!shared.length)
    return outcome(kind, false, expected0, 'no shared network', `${from} and ${name} share no network (${from}: ${sourceNets.join(', ') || 'none'}; ${name}: ${Object.keys(target.networks).join(', ') || 'none'}), so ${from} cannot resolve ${name}`);
  const want = shared.map((n) => target.networks[n]?.ip ?? '').filter(Boolean);
  const expected = `${name} → ${want.join(' or ')} (Docker's address on ${shared.join(', ')})`;
  if (!probe) return outcome(kind, false, expected, 'nothing ran', 'no lookup ran');
  if (probe.timedOut) return outcome(kind, false, expected, 'timed out', `the lookup of ${name} timed out`);
  const got = ipv4s(probe.stdout).filter((ip) => ip !== '127.0.0.11');
  if (!got.length) return outcome(kind, false, expected, excerpt(probe.stderr || probe.stdout), `${name} did not resolve from ${from}`);
  const ok = got.some((ip) => want.includes(ip));
  return outcome(kind, ok, expected, got.join(', '), ok ? `${name} resolves to ${want.join(', ')}, the address Docker gave it` : `${name} resolved to ${got.join(', ')}, but Docker gave it ${want.join(' or ')}`);
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/**
 * Whether a learner's answer names the live value, in any form a careful learner would copy: surrounding
 * whitespace and case do not matter; `/var/run/…` and `/run/…` are one file (/var/run links to /run; lsns
 * prints one, docker inspect the other); an address copied with its prefix length (`10.0.0.2/24`, as
 * `ip addr` prints it) is the address; and for an `outputOf` value, a copy of what the command printed
 * around it (`127.0.0.11:41234`, `net:[4026531992]`) counts, read with the same pattern.
 */
export function sameAnswer(given: string, value: string, v: LiveValue): boolean {
  const norm = (x: string) => x.trim().toLowerCase().replace(/^\/var\/run\//, '/run/');
  const g = norm(given);
  const want = norm(value);
  if (g === want) return true;
  if (IPV4.test(want) && g.replace(/\/\d{1,2}$/, '') === want) return true;
  if (v.outputOf) {
    const fromCopy = captured(v.outputOf.matches, given.trim());
    if (fromCopy !== undefined && norm(fromCopy) === want) return true;
  }
  return false;
}

/** Shown instead of what a check saw while its question is unanswered or answered wrong. */
export const WITHHELD = 'shown once your answer is right';

/**
 * A check that asks a question shows nothing else until the answer is right: its command's output and
 * its other expectations' expected/got hold the very value asked for (the address, the port…). Which
 * expectations pass stays visible; what they saw does not. Returns the outcomes to show, and whether to
 * hide the command's output.
 */
export function withholdUntilAnswered(outcomes: ExpectationOutcome[]): { outcomes: ExpectationOutcome[]; hideOutput: boolean } {
  if (!outcomes.some((o) => o.kind === 'answer' && !o.passed)) return { outcomes, hideOutput: false };
  return {
    hideOutput: true,
    outcomes: outcomes.map((o) =>
      o.kind === 'answer' ? o : { ...o, expected: WITHHELD, got: WITHHELD, reason: o.passed ? 'holds' : `does not hold yet (details ${WITHHELD})` },
    ),
  };
}

function netsOf(facts: Facts, c: ContainerFact): string[] {
  return Object.keys(netnsOwner(facts, c).networks);
}

function describeOutputExpectation(e: Expectation): string {
  if (e.exitCode !== undefined) return `exit code ${e.exitCode}`;
  const m = e.stdout ?? e.stderr;
  return m ? `${e.stdout ? 'stdout' : 'stderr'} ${matchText(m, '').expected}` : 'output';
}
