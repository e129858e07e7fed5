// Which of the images a scenario names a sandbox can get: provided by a recipe in images/ (labrun
// builds those offline), or already on the host engine, or pulled from a registry when one answers.
// The rest are reported as missing, so an offline import says what its lessons will lack.
import Docker from 'dockerode';
import { errorMessage } from '../../common.ts';
import { resolveImageNames } from '../../images/recipes.ts';

export interface ImageAvailability {
  available: string[];
  missing: { name: string; why: string }[];
}

/** Seconds a pull may take before the image counts as missing (a registry that does not answer). */
const PULL_TIMEOUT_MS = 60_000;

export async function imageAvailability(names: readonly string[], opts: { engine?: Docker; pull?: boolean } = {}): Promise<ImageAvailability> {
  const out: ImageAvailability = { available: [], missing: [] };
  if (!names.length) return out;
  const engine = opts.engine ?? new Docker();
  const mappings = await resolveImageNames(names);
  for (const m of mappings) {
    if (m.hostImage !== m.name) {
      out.available.push(m.name);
      continue;
    }
    try {
      await engine.getImage(m.name).inspect();
      out.available.push(m.name);
      continue;
    } catch (err) {
      if (!opts.pull) {
        out.missing.push({ name: m.name, why: /no such image|404/i.test(errorMessage(err)) ? 'not on the host engine' : `host engine: ${errorMessage(err)}` });
        continue;
      }
    }
    try {
      await pull(engine, m.name);
      out.available.push(m.name);
    } catch (err) {
      out.missing.push({ name: m.name, why: `not on the host engine, and pulling it failed: ${errorMessage(err).split('\n')[0]}` });
    }
  }
  return out;
}

async function pull(engine: Docker, name: string): Promise<void> {
  const stream = await engine.pull(name);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${PULL_TIMEOUT_MS / 1000}s`)), PULL_TIMEOUT_MS);
    engine.modem.followProgress(stream, (err: Error | null) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    });
  });
}
