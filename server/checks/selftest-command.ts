// `labrun test [LAB_DIR...]`: proves a lab's checks mean something. For each lab, in a fresh sandbox,
// step by step: setup → every check must FAIL (one that already passes is vacuous unless the check
// declares `passesBeforeSolve`; with --strict not even then) → solve → every check must PASS. Prints a
// table and a tally; exit 1 on any failure.
// The sandbox is destroyed at the end, on error, and on Ctrl-C.
import path from 'node:path';
import { commandArgs } from '../cli-args.ts';
import { expandLabDirs, findLabDirs, formatIssue, loadLab, sandboxSpec, type Lab, type Step } from '../labs/catalog.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { recordRun, type RunRecording } from '../recording/record-execs.ts';
import { liveAnswers, runStepChecks, runStepSetup, runStepSolve, type CheckResult } from './run-step.ts';

const USAGE = `usage: labrun test [--strict] [--state-dir DIR] [--record DIR] [LAB_DIR...]

Self-tests labs in a fresh sandbox each: after a step's setup every check must fail, after its solve
every check must pass. With no LAB_DIR, tests every lab under ./labs. Exit status 1 on any failure.

  --strict          a check declaring passesBeforeSolve fails the test too: every check must fail
                    before its solution (observation steps ask the learner a question instead)
  --state-dir DIR   sandbox driver state (sockets, preloaded images); default data/sandboxes
  --record DIR      write the run as DIR/<lab>.cast (asciicast v2: every command and its output,
                    a marker per step); play it with \`asciinema play\``;

/** How the checks of a lab fared, for the closing line. */
interface Tally {
  failBefore: number;
  declared: number;
  vacuous: number;
  passAfter: number;
  failAfter: number;
}

const COL = { step: 22, check: 58, before: 16, after: 6 };

export async function selftestCommand(argv: string[]): Promise<number> {
  const args = commandArgs('test', USAGE, argv, { strict: { type: 'boolean' }, 'state-dir': { type: 'string' }, record: { type: 'string' } }, true);
  if (typeof args === 'number') return args;
  const stateDir = args.values['state-dir'] || 'data/sandboxes';
  const strict = args.values.strict ?? false;
  const recordDir = args.values.record ? path.resolve(args.values.record) : undefined;
  const dirs = await expandLabDirs(args.positionals);
  if (!dirs.length) dirs.push(...(await findLabDirs('labs')));
  if (!dirs.length) return usageError('no labs found (looked for labs/*/lab.yaml)');

  let failed = false;
  for (const dir of dirs) {
    const r = await loadLab(dir);
    if (!r.lab) {
      for (const i of r.issues) console.error(formatIssue(i));
      failed = true;
      continue;
    }
    if (!(await testLab(r.lab, stateDir, strict, recordDir))) failed = true;
  }
  return failed ? 1 : 0;
}

function usageError(message: string): number {
  console.error(`labrun test: ${message}\n\n${USAGE}`);
  return 2;
}

async function testLab(lab: Lab, stateDir: string, strict: boolean, recordDir: string | undefined): Promise<boolean> {
  const t0 = performance.now();
  const secs = () => ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`lab ${lab.id}: ${lab.steps.length} steps, ${lab.steps.reduce((n, s) => n + s.checks.length, 0)} checks`);

  const { ensureImages, SANDBOX_IMAGE } = await import('../images/ensure-images.ts');
  await ensureImages([SANDBOX_IMAGE, ...lab.images], { onProgress: (line) => console.log(`  images: ${line}`) });
  const { DindDriver } = await import('../sandbox/dind.ts');
  const { chooseIsolation } = await import('../sandbox/isolation.ts');
  const { DEFAULT_SANDBOX_ENGINE } = await import('../sandbox/engines.ts');
  const requested = process.env.LABRUN_ISOLATION;
  const engineUrl = process.env.LABRUN_SANDBOX_ENGINE || DEFAULT_SANDBOX_ENGINE;
  // A lab author's own machine: like `labrun serve` on loopback, trusted only as a loud fallback.
  const choice = await chooseIsolation({ requested: requested === 'trusted' || requested === 'isolated' ? requested : undefined, sandboxEngine: engineUrl, loopback: true });
  if (!choice.ok) {
    console.error(`labrun test: ${choice.error}\n${choice.hint}`);
    return false;
  }
  if (choice.warning) console.error(`labrun test: WARNING: ${choice.warning}`);
  const driver = new DindDriver({ stateDir, isolation: choice.isolation, ...(choice.isolation === 'isolated' && { engineUrl }) });

  let sandbox: Sandbox | undefined;
  let recording: RunRecording | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    console.error(`\n${signal}: removing the sandbox…`);
    // Exit only once the sandbox is gone; nothing is left behind on Ctrl-C.
    void (sandbox?.destroy() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const problems: string[] = [];
  const tally: Tally = { failBefore: 0, declared: 0, vacuous: 0, passAfter: 0, failAfter: 0 };
  try {
    sandbox = await driver.create(sandboxSpec(lab, `selftest-${process.pid}`));
    console.log(`  sandbox ${sandbox.id} ready after ${secs()} s\n`);
    if (recordDir) recording = recordRun(sandbox, recordDir, lab.id);
    console.log(row('STEP', 'CHECK', 'BEFORE SOLVE', 'AFTER', 'MS'));
    for (const step of lab.steps) {
      if (interrupted) break;
      recording?.step(step.id, step.title);
      problems.push(...(await testStep(recording?.sandbox ?? sandbox, lab, step, strict, tally)));
    }
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await recording?.close();
    await sandbox?.destroy();
  }
  if (recording) console.log(`recorded the run in ${recording.path}`);

  console.log('');
  console.log(
    `before solve: ${tally.failBefore} fail (good), ${tally.declared} pass (declared), ${tally.vacuous} PASS (vacuous); ` +
      `after solve: ${tally.passAfter} pass, ${tally.failAfter} FAIL`,
  );
  for (const p of problems) console.log(`FAIL ${p}`);
  console.log(`lab ${lab.id}: ${problems.length ? `${problems.length} problem(s)` : 'ok'} in ${secs()} s`);
  return problems.length === 0;
}

async function testStep(sandbox: Sandbox, lab: Lab, step: Step, strict: boolean, tally: Tally): Promise<string[]> {
  const problems: string[] = [];
  const where = `${step.id}`;
  try {
    await runStepSetup(sandbox, lab, step);
  } catch (err) {
    return [`${where}: ${err instanceof Error ? err.message : String(err)}`];
  }
  // Before the solve the learner has answered nothing, so answer checks must fail too.
  const before = await runStepChecks(sandbox, lab, step, {});
  try {
    await runStepSolve(sandbox, lab, step);
  } catch (err) {
    return [`${where}: ${err instanceof Error ? err.message : String(err)}`];
  }
  const after = await runStepChecks(sandbox, lab, step, await liveAnswers(sandbox, lab, step));

  step.checks.forEach((spec, i) => {
    const b = before.checks[i];
    const a = after.checks[i];
    if (!b || !a) return;
    let beforeCell: string;
    if (!b.passed) {
      beforeCell = 'fail (good)';
      tally.failBefore++;
    } else if (spec.passesBeforeSolve !== undefined) {
      beforeCell = 'pass (declared)';
      tally.declared++;
      if (strict) problems.push(`${where} / ${spec.name}: passes before the step's solution (declared: ${spec.passesBeforeSolve}); --strict wants it to depend on the learner, e.g. through a question`);
    } else {
      beforeCell = 'PASS (vacuous)';
      tally.vacuous++;
      problems.push(`${where} / ${spec.name}: passes before the step's solution; make it depend on the step (an observation step asks a question), or declare passesBeforeSolve: "<why>"`);
    }
    if (a.passed) tally.passAfter++;
    else {
      tally.failAfter++;
      problems.push(`${where} / ${spec.name}: fails after the solution: ${explain(a)}`);
    }
    console.log(row(step.id, spec.name, beforeCell, a.passed ? 'pass' : 'FAIL', String(a.durationMs)));
  });
  return problems;
}

function explain(c: CheckResult): string {
  if (c.error) return c.error;
  const bad = c.expectations.filter((o) => !o.passed).map((o) => `${o.kind}: ${o.reason} (expected ${o.expected}; got ${o.got})`);
  return bad.join('; ') || 'failed';
}

function row(step: string, check: string, before: string, after: string, ms: string): string {
  const cut = (s: string, n: number) => (s.length > n - 1 ? `${s.slice(0, n - 2)}…` : s).padEnd(n);
  return `${cut(step, COL.step)}${cut(check, COL.check)}${cut(before, COL.before)}${cut(after, COL.after)}${ms.padStart(6)}`;
}
