// Reading the HTTP status out of dockerode's errors, so "already gone" can be told from real failures.
import { z } from 'zod';

const statusSchema = z.object({ statusCode: z.number() });

export function dockerStatus(err: unknown): number | undefined {
  const parsed = statusSchema.safeParse(err);
  return parsed.success ? parsed.data.statusCode : undefined;
}

/** Runs a removal and treats "not found" (404) as done, which makes every dispose idempotent. */
export async function ignoreMissing(remove: () => Promise<unknown>): Promise<void> {
  try {
    await remove();
  } catch (err) {
    if (dockerStatus(err) !== 404) throw err;
  }
}

export { errorMessage } from '../common.ts';
