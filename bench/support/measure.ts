// One measurement of a bench: when it cannot be made (a missing image, a full address pool, a check
// that fails) the bench says "could not measure X: reason" and goes on with the rest, and exits 3 at
// the end so scripts/bench.sh can tell "some numbers missing" from a crash.
const missed: string[] = [];

/** Exit code of a bench that ran to the end but could not measure everything. */
export const EXIT_UNMEASURED = 3;

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** Runs `fn`; on an error prints why `what` could not be measured and returns undefined. */
export async function measure<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    unmeasured(what, reason(err));
    return undefined;
  }
}

/** Records and prints a measurement that was not made, for a reason found without an error. */
export function unmeasured(what: string, why: string): void {
  missed.push(what);
  console.log(`could not measure ${what}: ${why}`);
}

/** Call last: lists what could not be measured and sets the exit code. */
export function reportUnmeasured(): void {
  if (missed.length === 0) return;
  console.log(`\n${missed.length} measurement(s) not made: ${missed.join('; ')}`);
  process.exitCode = EXIT_UNMEASURED;
}
