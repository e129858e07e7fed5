// What /readyz reports: the reasons new learners could not get a sandbox now — the driver's own
// (engines answer, images present) and every warm pool that stopped after repeated failures.
import type { PoolStatus } from '../../shared/api.ts';
import type { SandboxDriver } from '../sandbox/sandbox.ts';

export function readinessCheck(driver: SandboxDriver, labImages: () => string[], pool: { labs(): string[]; status(labId: string): PoolStatus }): () => Promise<string[]> {
  return async () => {
    const problems = (await driver.readiness?.(labImages())) ?? [];
    for (const labId of pool.labs()) {
      const stopped = pool.status(labId).message;
      if (stopped !== undefined) problems.push(`the warm pool for lab '${labId}' stopped: ${stopped}`);
    }
    return problems;
  };
}
