// Server configuration: CLI flags and LABRUN_* environment variables, validated once at start so a
// typo fails loudly before anything listens. Flags win over environment; defaults suit one local user.
import { ArgsError, readArgs } from './cli-args.ts';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_SANDBOX_ENGINE, type Isolation } from './sandbox/engines.ts';

/** Bytes of randomness in a generated token: 256 bits, the same as Jupyter's default. */
const TOKEN_BYTES = 32;
/** Shortest accepted --token: anything shorter is guessable over a LAN. */
const MIN_TOKEN_LENGTH = 16;

export interface ServerConfig {
  host: string;
  port: number;
  labsDir: string;
  dataDir: string;
  trustedOrigins: string[];
  token: string;
  limits: { memoryBytes?: number; nanoCpus?: number; pidsLimit?: number };
  /** Disk per isolated sandbox (its images, containers, workspace and /tmp). */
  diskBytes?: number;
  /**
   * How sandboxes are isolated: asked for with --isolation, or undefined = isolated when labrun's
   * sandbox engine answers, else (loopback only, with a warning) trusted. See server/sandbox/isolation.ts.
   */
  isolation?: Isolation;
  /** URL of labrun's user-namespace-remapping sandbox engine. */
  sandboxEngine: string;
  /** Idle time after which a learner's sandbox is removed (progress stays); 0 = never. */
  idleTtlMs: number;
  /** How long before that the learner is warned. */
  idleWarningMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const FLAGS = {
  host: { env: 'LABRUN_HOST', repeat: false },
  port: { env: 'LABRUN_PORT', repeat: false },
  labs: { env: 'LABRUN_LABS', repeat: false },
  data: { env: 'LABRUN_DATA', repeat: false },
  'trusted-origin': { env: 'LABRUN_TRUSTED_ORIGINS', repeat: true },
  token: { env: 'LABRUN_TOKEN', repeat: false },
  memory: { env: 'LABRUN_SANDBOX_MEMORY', repeat: false },
  cpus: { env: 'LABRUN_SANDBOX_CPUS', repeat: false },
  pids: { env: 'LABRUN_SANDBOX_PIDS', repeat: false },
  'idle-ttl': { env: 'LABRUN_IDLE_TTL', repeat: false },
  'idle-warning': { env: 'LABRUN_IDLE_WARNING', repeat: false },
  isolation: { env: 'LABRUN_ISOLATION', repeat: false },
  'sandbox-engine': { env: 'LABRUN_SANDBOX_ENGINE', repeat: false },
  disk: { env: 'LABRUN_SANDBOX_DISK', repeat: false },
} as const;
type FlagName = keyof typeof FLAGS;

export const SERVE_USAGE = `usage: labrun serve [options]

  --host H              address to bind (default 127.0.0.1; env LABRUN_HOST). For a classroom bind a LAN
                        address or 0.0.0.0: the token is then the instructor's (open /instructor?token=…),
                        and learners join by a class's code or link, each with a sandbox of their own
  --port P              port, 0 = any free port (default 3000; env LABRUN_PORT)
  --labs DIR            folder of labs (default ./labs; env LABRUN_LABS)
  --data DIR            folder for the progress database and sandbox state (default ./data; env LABRUN_DATA)
  --trusted-origin URL  another origin allowed to open terminals, e.g. a reverse proxy's (repeatable;
                        env LABRUN_TRUSTED_ORIGINS, comma-separated)
  --token T             access token (default: 32 random bytes, hex; env LABRUN_TOKEN)
  --memory SIZE         memory limit per sandbox, e.g. 2g or 1536m (env LABRUN_SANDBOX_MEMORY)
  --cpus N              CPUs per sandbox, e.g. 1.5 (env LABRUN_SANDBOX_CPUS)
  --pids N              process limit per sandbox (env LABRUN_SANDBOX_PIDS)
  --idle-ttl TIME       remove a learner's sandbox after this long without activity (typing, checks, opening
                        a step), e.g. 45m, 2h, 90s; 0 = never (default 45m; env LABRUN_IDLE_TTL). Progress
                        is kept and the next visit starts a fresh sandbox
  --idle-warning TIME   warn the learner this long before (default 5m, at most a third of the TTL;
                        env LABRUN_IDLE_WARNING)
  --isolation LEVEL     isolated: sandboxes run on labrun's own engine, where root in a sandbox is an
                        unprivileged user on this host, with no network and a disk limit of their own;
                        trusted: on the host's engine with broad privileges (a learner can take over
                        this machine; only for people you would give root). Default: isolated when its
                        engine answers, else trusted on a loopback address with a warning, and a refusal
                        to serve a classroom (env LABRUN_ISOLATION)
  --sandbox-engine URL  labrun's sandbox engine (default ${DEFAULT_SANDBOX_ENGINE}, started by
                        scripts/ensure-docker.sh; env LABRUN_SANDBOX_ENGINE)
  --disk SIZE           disk per isolated sandbox, e.g. 10g (default 10g; env LABRUN_SANDBOX_DISK)`;

function isFlag(name: string): name is FlagName {
  return Object.hasOwn(FLAGS, name);
}

/** Splits argv into flag values with the one CLI parser; `--name value` and `--name=value` both work. */
function readFlags(argv: string[]): Map<FlagName, string[]> {
  const options = Object.fromEntries(Object.entries(FLAGS).map(([name, f]) => [name, { type: 'string' as const, multiple: f.repeat }]));
  let values: Record<string, unknown>;
  try {
    values = readArgs(argv, options).values;
  } catch (err) {
    if (err instanceof ArgsError) throw new ConfigError(err.message);
    throw err;
  }
  const out = new Map<FlagName, string[]>();
  for (const [name, value] of Object.entries(values)) {
    if (!isFlag(name)) continue;
    const list = Array.isArray(value) ? value.filter((v) => typeof v === 'string') : typeof value === 'string' ? [value] : [];
    out.set(name, list);
  }
  return out;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Default idle TTL: a long lunch break, not a forgotten laptop overnight. */
const DEFAULT_IDLE_TTL = '45m';
/** Default warning: enough time to come back to the keyboard. */
const DEFAULT_IDLE_WARNING = '5m';
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const duration = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m|h)?$/, 'must be a duration like 45m, 2h, 90s or 0')
  .transform((s) => {
    const m = /^([\d.]+)(ms|s|m|h)?$/.exec(s);
    // A bare number is minutes, the unit people think of for an idle timeout.
    return Math.round(Number(m?.[1]) * (DURATION_UNITS[m?.[2] ?? 'm'] ?? 60_000));
  });

const origin = z.string().transform((s, ctx) => {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: `'${s}' is not a URL; write it like https://labs.example.org` });
    return z.NEVER;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== s.replace(/\/$/, '')) {
    ctx.addIssue({ code: 'custom', message: `'${s}' is not an origin; write scheme://host[:port] with no path` });
    return z.NEVER;
  }
  return url.origin;
});

const size = (example: string) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?[kmg]?$/i, `must be a size like ${example} or 1073741824`)
    .transform((s) => {
      const m = /^([\d.]+)([kmg]?)$/i.exec(s);
      return Math.round(Number(m?.[1]) * (SIZE_UNITS[(m?.[2] ?? '').toLowerCase()] ?? 1));
    });

const schema = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  labs: z.string().min(1),
  data: z.string().min(1),
  'trusted-origin': z.array(origin),
  token: z
    .string()
    .min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`)
    .regex(/^[A-Za-z0-9._~-]+$/, 'may only contain letters, digits and . _ ~ - (it goes into a URL)'),
  memory: size('2g, 1536m').optional(),
  disk: size('10g, 4096m')
    .refine((n) => n >= 512 * 1024 ** 2, 'must be at least 512m (an inner Docker engine and a small image need that)')
    .optional(),
  isolation: z.enum(['isolated', 'trusted'], { message: "must be 'isolated' or 'trusted'" }).optional(),
  'sandbox-engine': z.string().regex(/^unix:\/\/\/.+/, 'must be a unix socket URL like unix:///run/labrun-engine.sock'),
  cpus: z.coerce.number().positive('must be a positive number of CPUs').optional(),
  pids: z.coerce.number().int().positive('must be a positive whole number').optional(),
  'idle-ttl': duration,
  'idle-warning': duration,
});

/**
 * Builds the configuration from argv (without the command name) and an environment.
 * Throws ConfigError naming the option and what is wrong with it.
 */
export function parseConfig(argv: string[], env: Record<string, string | undefined> = process.env): ServerConfig {
  const flags = readFlags(argv);
  const pick = (name: FlagName): string | undefined => flags.get(name)?.[0] ?? env[FLAGS[name].env];
  const envOrigins = env[FLAGS['trusted-origin'].env];
  const raw = {
    host: pick('host') ?? '127.0.0.1',
    port: pick('port') ?? '3000',
    labs: pick('labs') ?? './labs',
    data: pick('data') ?? './data',
    'trusted-origin':
      flags.get('trusted-origin') ??
      (envOrigins ? envOrigins.split(',').map((s) => s.trim()).filter(Boolean) : []),
    token: pick('token') ?? randomBytes(TOKEN_BYTES).toString('hex'),
    memory: pick('memory'),
    cpus: pick('cpus'),
    pids: pick('pids'),
    'idle-ttl': pick('idle-ttl') ?? DEFAULT_IDLE_TTL,
    'idle-warning': pick('idle-warning') ?? DEFAULT_IDLE_WARNING,
    disk: pick('disk'),
    isolation: pick('isolation'),
    'sandbox-engine': pick('sandbox-engine') ?? DEFAULT_SANDBOX_ENGINE,
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? 'option');
    throw new ConfigError(`--${field}: ${issue?.message ?? 'invalid value'}`);
  }
  const c = parsed.data;
  return {
    host: c.host,
    port: c.port,
    labsDir: path.resolve(c.labs),
    dataDir: path.resolve(c.data),
    trustedOrigins: c['trusted-origin'],
    token: c.token,
    limits: {
      ...(c.memory !== undefined && { memoryBytes: c.memory }),
      ...(c.cpus !== undefined && { nanoCpus: Math.round(c.cpus * 1e9) }),
      ...(c.pids !== undefined && { pidsLimit: c.pids }),
    },
    ...(c.disk !== undefined && { diskBytes: c.disk }),
    ...(c.isolation !== undefined && { isolation: c.isolation }),
    sandboxEngine: c['sandbox-engine'],
    idleTtlMs: c['idle-ttl'],
    // A warning longer than the TTL would greet every new sandbox; a third keeps short TTLs sensible.
    idleWarningMs: Math.min(c['idle-warning'], Math.floor(c['idle-ttl'] / 3)),
  };
}
