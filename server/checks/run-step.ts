// Runs a step's checks in a learner's sandbox: the check's command (in a compose service or the sandbox
// shell), any probes its expectations need, and a snapshot of the inner engine's ground truth; then hands
// all of it to the pure matcher (expect.ts). Also runs a step's setup and solve scripts.
import type { CheckSpec, Lab, Step } from '../labs/catalog.ts';
import { DEFAULT_CHECK_TIMEOUT_S } from '../labs/schema.ts';
import type { ExecRequest, ExecResult, Sandbox } from '../sandbox/sandbox.ts';
import { evaluate, needsFacts, outputProbe, probeFor, resolveLive, withholdUntilAnswered, type CommandOutput, type ExpectationOutcome, type Probe } from './expect.ts';
import { parseFacts, type Facts } from './facts.ts';
import { errorMessage } from '../common.ts';

/** Cap on each of stdout/stderr read from a check: enough for `docker network inspect`, bounded against `yes`. */
const MAX_OUTPUT_BYTES = 64 * 1024;
/** How much of each stream a result carries back to the browser. */
const EXCERPT_CHARS = 4000;
/** Bound on reading the inner engine's state; it answers in tens of ms when healthy. */
const FACTS_TIMEOUT_MS = 10_000;
/** Setup/solve scripts may start a stack or pull nothing; two minutes covers `compose up` on a busy machine. */
const SCRIPT_TIMEOUT_MS = 120_000;

export interface CheckResult {
  name: string;
  passed: boolean;
  /** Where the command ran: `service nginx_a` or `sandbox shell`. */
  where: string;
  /** The check's command, if it has one. */
  command?: string;
  exitCode: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  truncated: boolean;
  /** Extra commands expectations ran (e.g. `getent hosts nginx_b in nginx_a`). */
  probes: string[];
  expectations: ExpectationOutcome[];
  hint?: string;
  /** Set when the check could not run at all (sandbox gone, service missing…). */
  error?: string;
  durationMs: number;
}

export interface StepResult {
  passed: boolean;
  durationMs: number;
  checks: CheckResult[];
}

/**
 * Checks of one step in flight at once: each is a few execs against the inner engine, which serves a
 * handful in parallel as fast as one; more would only queue behind each other on two cores.
 */
const CHECK_CONCURRENCY = 4;

/**
 * Runs a step's checks, several at a time (a `serial` check waits for every check before it), and
 * returns the results in the order the step declares them.
 */
export async function runStepChecks(sandbox: Sandbox, lab: Lab, step: Step, answers: Record<string, string> = {}): Promise<StepResult> {
  const t0 = performance.now();
  const checks = await runBounded(step.checks, CHECK_CONCURRENCY, (check) => runCheck(sandbox, lab, check, answers));
  return { passed: checks.every((c) => c.passed), durationMs: Math.round(performance.now() - t0), checks };
}

/** Maps items to results with at most `limit` running; an item marked `serial` starts after all before it settled. */
export async function runBounded<T extends { serial?: boolean | undefined }, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  const running = new Set<Promise<void>>();
  for (const [i, item] of items.entries()) {
    if (item.serial) await Promise.all(running);
    while (running.size >= limit) await Promise.race(running);
    const job: Promise<void> = run(item)
      .then((r) => {
        results[i] = r;
      })
      .finally(() => running.delete(job));
    running.add(job);
  }
  await Promise.all(running);
  return results;
}

export async function runStepSetup(sandbox: Sandbox, lab: Lab, step: Step): Promise<void> {
  if (step.setup) await runScript(sandbox, lab, step, 'setup', step.setup);
}

export async function runStepSolve(sandbox: Sandbox, lab: Lab, step: Step): Promise<void> {
  if (step.solve) await runScript(sandbox, lab, step, 'solve', step.solve);
}

async function runScript(sandbox: Sandbox, lab: Lab, step: Step, what: 'setup' | 'solve', script: string): Promise<void> {
  const r = await sandbox.exec({ argv: ['bash', '-lc', `set -e\n${script}`], timeoutMs: SCRIPT_TIMEOUT_MS, maxOutputBytes: MAX_OUTPUT_BYTES });
  if (r.exitCode !== 0) {
    const why = r.timedOut ? `timed out after ${SCRIPT_TIMEOUT_MS / 1000}s` : `exited with ${r.exitCode ?? 'no code'}`;
    const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-8).join('\n');
    throw new Error(`lab ${lab.id}, step ${step.id}: ${what} ${why}${tail ? `:\n${tail}` : ''}`);
  }
}

/** Runs one check; never throws (a sandbox problem becomes a failed check with `error`). */
export async function runCheck(sandbox: Sandbox, lab: Lab, check: CheckSpec, answers: Record<string, string>): Promise<CheckResult> {
  const t0 = performance.now();
  const timeoutMs = (check.timeout ?? DEFAULT_CHECK_TIMEOUT_S) * 1000;
  const result: CheckResult = {
    name: check.name,
    passed: false,
    where: check.service !== undefined ? `service ${check.service}` : 'sandbox shell',
    exitCode: null,
    timedOut: false,
    stdout: '',
    stderr: '',
    truncated: false,
    probes: [],
    expectations: [],
    durationMs: 0,
  };
  if (check.hint !== undefined) result.hint = check.hint;
  try {
    let output: CommandOutput | undefined;
    if (check.run !== undefined) {
      result.command = check.run;
      const argv = check.service !== undefined ? ['sh', '-c', check.run] : ['bash', '-lc', check.run];
      const r = await execCapped(sandbox, { argv, service: check.service, timeoutMs });
      output = r;
      result.exitCode = r.exitCode;
      result.timedOut = r.timedOut;
      result.stdout = r.stdout.slice(0, EXCERPT_CHARS);
      result.stderr = r.stderr.slice(0, EXCERPT_CHARS);
      result.truncated = r.truncated || r.stdout.length > EXCERPT_CHARS || r.stderr.length > EXCERPT_CHARS;
    }
    const probes = await Promise.all(
      check.expect.map(async (e) => {
        const p = probeFor(e, check);
        if (!p) return undefined;
        result.probes.push(p.label);
        return runProbe(sandbox, p, timeoutMs);
      }),
    );
    const facts = check.expect.some(needsFacts) ? await gatherFacts(sandbox, lab.workspace) : undefined;
    const outcomes = check.expect.map((e, i) => {
      const input: Parameters<typeof evaluate>[1] = { check, answers };
      if (output) input.output = output;
      const probe = probes[i];
      if (probe) input.probe = probe;
      if (facts) input.facts = facts;
      return evaluate(e, input);
    });
    result.passed = outcomes.every((o) => o.passed);
    const shown = withholdUntilAnswered(outcomes);
    result.expectations = shown.outcomes;
    if (shown.hideOutput) {
      result.stdout = '';
      result.stderr = '';
    }
  } catch (err) {
    result.error = errorMessage(err);
    result.passed = false;
  }
  result.durationMs = Math.round(performance.now() - t0);
  return result;
}

function runProbe(sandbox: Sandbox, p: Probe, timeoutMs: number): Promise<CommandOutput> {
  return execCapped(sandbox, { argv: p.argv, service: p.service, timeoutMs }).catch(
    (err: unknown): CommandOutput => ({ exitCode: null, stdout: '', stderr: errorMessage(err), timedOut: false }),
  );
}

function execCapped(sandbox: Sandbox, req: { argv: string[]; service: string | undefined; timeoutMs: number }): Promise<ExecResult> {
  const r: ExecRequest = { argv: req.argv, timeoutMs: req.timeoutMs, maxOutputBytes: MAX_OUTPUT_BYTES };
  if (req.service !== undefined) r.service = req.service;
  return sandbox.exec(r);
}

/** Snapshot of the inner engine: every container (inspected) and network. Bounded in time. */
/** The inner engine's ground truth for the lab's compose project, bounded in time. */
export async function gatherFacts(sandbox: Sandbox, project: string): Promise<Facts> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the sandbox's Docker engine did not answer within ${FACTS_TIMEOUT_MS / 1000}s`)), FACTS_TIMEOUT_MS);
  });
  try {
    const snapshot = await Promise.race([sandbox.engineSnapshot(), timeout]);
    return parseFacts(project, snapshot.containers, snapshot.networks);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The answers a learner who did the step would give: each question's live value, read from the engine
 * now. For self-tests (`labrun test`) and lesson tests, never for grading a learner.
 */
export async function liveAnswers(sandbox: Sandbox, lab: Lab, step: Step): Promise<Record<string, string>> {
  const wanted = step.checks.flatMap((c) => c.expect.flatMap((e) => (e.answer ? [e.answer] : [])));
  if (!wanted.length) return {};
  const facts = await gatherFacts(sandbox, lab.workspace);
  const answers: Record<string, string> = {};
  for (const a of wanted) {
    const o = a.equals.outputOf;
    const probe = o ? await runProbe(sandbox, outputProbe(o), DEFAULT_CHECK_TIMEOUT_S * 1000) : undefined;
    const v = resolveLive(a.equals, facts, probe);
    if ('value' in v) answers[a.question] = v.value;
  }
  return answers;
}


