// Check latency and self-test wall time (prints numbers, asserts nothing): p50/p95 of 20 runs each of a
// `resolves` check (getent probe in nginx_a + inner-engine snapshot), the same with nslookup output, and a
// plain run check in a service; then `labrun test --strict labs/linux-networks` end to end, with its verdict.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLab, type Step } from '../server/labs/catalog.ts';
import { CheckSchema } from '../server/labs/schema.ts';
import { runStepChecks } from '../server/checks/run-step.ts';
import { DindDriver } from '../server/sandbox/dind.ts';
import type { Sandbox } from '../server/sandbox/sandbox.ts';
import { measure, reportUnmeasured, unmeasured } from './support/measure.ts';

const RUNS = 20;
/** The terminal-and-check speed issue's goal for the seed lab's self-test. */
const SELFTEST_GOAL_S = 20;
const STATE_DIR = join(tmpdir(), 'labrun-bench-sandboxes');

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const { lab } = await loadLab('labs/linux-networks');
if (!lab) throw new Error('labs/linux-networks does not load; run bin/labrun validate');

const cases: Record<string, unknown> = {
  'resolves (getent probe + ground truth)': { name: 'r', expect: [{ resolves: { name: 'nginx_b', from: 'nginx_a' } }] },
  'resolves (nslookup output + ground truth)': { name: 'r', service: 'nginx_a', run: 'nslookup nginx_b 127.0.0.11', expect: [{ resolves: { name: 'nginx_b' } }] },
  'plain run check in nginx_a': { name: 'p', service: 'nginx_a', run: 'cat /etc/resolv.conf', expect: [{ stdout: { contains: '127.0.0.11' } }] },
  'plain run check in the sandbox shell': { name: 'p', run: 'docker network ls', expect: [{ exitCode: 0 }] },
};

let sandbox: Sandbox | undefined;
try {
  const ready = await measure('check latency (a sandbox with the seed stack up)', async () => {
    const t0 = performance.now();
    const sb = await new DindDriver({ stateDir: STATE_DIR }).create({ labId: lab.id, learnerId: 'bench-checks', workspace: lab.workspace, filesDir: lab.filesDir, images: lab.images });
    sandbox = sb;
    console.log(`sandbox create: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const up = await sb.exec({ argv: ['bash', '-lc', 'docker compose up -d'], timeoutMs: 120_000 });
    if (up.exitCode !== 0) throw new Error(`docker compose up -d failed: ${up.stderr}`);
    return sb;
  });
  for (const [label, spec] of Object.entries(cases)) {
    if (!ready) break;
    await measure(label, async () => {
      const step: Step = { id: 'bench', index: 0, title: 'bench', html: '', hints: [], questions: [], checks: [CheckSchema.parse(spec)], file: 'bench.md' };
      await runStepChecks(ready, lab, step); // warm-up
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        const r = await runStepChecks(ready, lab, step);
        times.push(performance.now() - t);
        if (!r.passed) throw new Error(`check failed: ${JSON.stringify(r.checks[0]?.expectations ?? r.checks[0]?.error)}`);
      }
      times.sort((a, b) => a - b);
      console.log(`${label.padEnd(44)} p50 ${pct(times, 50).toFixed(0).padStart(5)} ms   p95 ${pct(times, 95).toFixed(0).padStart(5)} ms   (n=${RUNS})`);
    });
  }
} finally {
  await sandbox?.destroy();
}

const t1 = performance.now();
const r = spawnSync('bin/labrun', ['test', '--strict', '--state-dir', STATE_DIR, 'labs/linux-networks'], { encoding: 'utf8', timeout: 15 * 60_000 });
const wallS = (performance.now() - t1) / 1000;
console.log(`labrun test --strict labs/linux-networks: exit ${r.status}, wall ${wallS.toFixed(1)} s`);
console.log(`verdict: labrun test --strict of the seed lab < ${SELFTEST_GOAL_S} s: ${r.status === 0 && wallS < SELFTEST_GOAL_S ? 'met' : 'NOT met'} (${wallS.toFixed(1)} s, exit ${r.status})`);
if (r.status !== 0) {
  console.log(r.stdout.split('\n').filter((l) => l.startsWith('FAIL')).join('\n'));
  unmeasured('labrun test labs/linux-networks (it did not pass)', `exit ${r.status ?? r.signal}; ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0] ?? ''}`);
}
reportUnmeasured();
