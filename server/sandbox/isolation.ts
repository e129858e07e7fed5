// Which isolation level `labrun serve` runs sandboxes at, decided once at start. Isolated whenever
// labrun's sandbox engine answers; trusted only when asked for, or for a single user on a loopback
// address (Docker Desktop, a laptop without root), never silently for a classroom of strangers.
import { isolatedEngineProblem, type Isolation } from './engines.ts';

export type IsolationChoice =
  | { ok: true; isolation: Isolation; warning?: string }
  | { ok: false; error: string; hint: string };

const TRUSTED_WARNING =
  'Sandboxes are NOT isolated from this server: root in a sandbox can take over this machine. Only let people you would give root here use it.';

/** The decision as a table: what was asked, whether the isolated engine works (and why not), and who can connect. */
export function decideIsolation(input: { requested: Isolation | undefined; engineProblem: string | undefined; loopback: boolean }): IsolationChoice {
  const { requested, engineProblem, loopback } = input;
  if (requested === 'trusted') return { ok: true, isolation: 'trusted', warning: `--isolation=trusted: ${TRUSTED_WARNING}` };
  if (engineProblem === undefined) return { ok: true, isolation: 'isolated' };
  const fix = 'Run `bash scripts/ensure-docker.sh` as root on Linux (npm start does) so labrun can start its isolated sandbox engine';
  if (requested === 'isolated') return { ok: false, error: `--isolation=isolated, but ${engineProblem}`, hint: `${fix}.` };
  if (loopback) {
    return { ok: true, isolation: 'trusted', warning: `${engineProblem}; running trusted sandboxes for this single-user server. ${TRUSTED_WARNING} ${fix}.` };
  }
  return {
    ok: false,
    error: `refusing to serve a classroom with sandboxes that are not isolated: ${engineProblem}`,
    hint: `${fix}, or pass --isolation=trusted if every learner may have root on this machine.`,
  };
}

/** Probes the sandbox engine (unless trusted was asked for) and decides. */
export async function chooseIsolation(opts: { requested: Isolation | undefined; sandboxEngine: string; loopback: boolean }): Promise<IsolationChoice> {
  const engineProblem = opts.requested === 'trusted' ? undefined : await isolatedEngineProblem(opts.sandboxEngine);
  return decideIsolation({ requested: opts.requested, engineProblem, loopback: opts.loopback });
}
