// Server configuration: CLI flags and LABRUN_* environment variables, validated once at start so a
// typo fails loudly before anything listens. Flags win over environment; defaults suit one local user.
import { ArgsError, readArgs } from './cli-args.ts';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
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
  /** The sub-path the whole app is served under ('' = the root), e.g. '/labrun'; see server/http/base-path.ts. */
  basePath: string;
  /** Peer addresses (IPs or CIDR ranges) whose X-Forwarded-Proto/Host/For headers are believed. */
  trustedProxies: string[];
  /** The address people reach the app at (scheme://host[:port][/base]); undefined = the listen address. */
  publicUrl?: string;
  /** Bearer token for GET /metrics; undefined = /metrics is not served. */
  metricsToken?: string;
  /** Where each event goes as an xAPI statement, signed with webhookSecret; undefined = no webhook. */
  webhook?: { url: string; secret: string };
  /** The append-only JSON-lines log of xAPI statements (default <data>/events.jsonl). */
  eventLog: string;
  /** Requests allowed per window, per client, for the rate-limited routes; 0 = no limit. */
  rateLimits: RateLimits;
}

export const RateLimitName = z.enum(['sign-in', 'join', 'check']);
export type RateLimitName = z.infer<typeof RateLimitName>;
export type RateLimits = Record<RateLimitName, { max: number; windowMs: number }>;

/**
 * Defaults generous enough for a real class (a room of 100 behind one NAT address joins within a
 * minute; a learner pressing Check every second) and for the test suite; tight enough that a stuck
 * client or a script cannot starve the server of sandboxes or check runs.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  'sign-in': { max: 30, windowMs: 60_000 },
  join: { max: 300, windowMs: 60_000 },
  check: { max: 60, windowMs: 60_000 },
};

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
  'base-path': { env: 'LABRUN_BASE_PATH', repeat: false },
  'trusted-proxy': { env: 'LABRUN_TRUSTED_PROXIES', repeat: true },
  'public-url': { env: 'LABRUN_PUBLIC_URL', repeat: false },
  'metrics-token': { env: 'LABRUN_METRICS_TOKEN', repeat: false },
  webhook: { env: 'LABRUN_WEBHOOK', repeat: false },
  'webhook-secret': { env: 'LABRUN_WEBHOOK_SECRET', repeat: false },
  'event-log': { env: 'LABRUN_EVENT_LOG', repeat: false },
  'rate-limit': { env: 'LABRUN_RATE_LIMITS', repeat: true },
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
  --disk SIZE           disk per isolated sandbox, e.g. 10g (default 10g; env LABRUN_SANDBOX_DISK)

running as a service (see docs/deploying.md):
  --base-path PATH      serve everything under a sub-path, e.g. /labrun (env LABRUN_BASE_PATH)
  --trusted-proxy ADDR  believe X-Forwarded-Proto/Host/For only from this peer address or range, e.g.
                        127.0.0.1 or 10.0.0.0/8 (repeatable; env LABRUN_TRUSTED_PROXIES, comma-separated)
  --public-url URL      the address people open, e.g. https://labs.example.edu/labrun: printed links and
                        the event feed's activity ids use it (default: the listen address and base path)
  --metrics-token T     serve Prometheus metrics at <base>/metrics to 'Authorization: Bearer T' (default:
                        no /metrics; env LABRUN_METRICS_TOKEN)
  --webhook URL         POST every learner event there as an xAPI statement, signed (needs
                        --webhook-secret; env LABRUN_WEBHOOK)
  --webhook-secret S    HMAC-SHA256 key for the X-Labrun-Signature header (env LABRUN_WEBHOOK_SECRET)
  --event-log PATH      the append-only JSON-lines log of those statements (default <data>/events.jsonl;
                        env LABRUN_EVENT_LOG)
  --rate-limit NAME=N/TIME  requests per client per window for sign-in (per address), join (per address)
                        or check (per learner), e.g. check=60/1m; 0 = no limit (repeatable; defaults
                        sign-in=${DEFAULT_RATE_LIMITS['sign-in'].max}/1m, join=${DEFAULT_RATE_LIMITS.join.max}/1m, check=${DEFAULT_RATE_LIMITS.check.max}/1m; env LABRUN_RATE_LIMITS, comma-separated)`;

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

/** `/labrun`, `/tools/labrun`: segments of URL-safe characters, no trailing slash ('' or '/' = the root). */
const basePath = z
  .string()
  .transform((s) => s.replace(/\/+$/, ''))
  .refine((s) => s === '' || /^(\/[A-Za-z0-9._~-]+)+$/.test(s), "must be a path like /labrun: a leading '/' and letters, digits or . _ ~ - between slashes")
  .refine((s) => !s.split('/').some((seg) => seg === '.' || seg === '..'), "may not contain '.' or '..' segments");

/** An IP address or a CIDR range, the forms Node's BlockList (server/http/trusted-proxy.ts) takes. */
const proxyAddress = z.string().refine((s) => {
  const [addr = '', prefix, ...rest] = s.split('/');
  const family = isIP(addr);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}, 'must be an IP address or a range like 10.0.0.0/8 (a name would have to be resolved on every request)');

const httpUrl = (what: string) =>
  z.string().transform((s, ctx) => {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: `'${s}' is not a URL; write it like ${what}` });
      return z.NEVER;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `'${s}' must start with http:// or https://` });
      return z.NEVER;
    }
    return url;
  });

const publicUrl = httpUrl('https://labs.example.edu/labrun').transform((url) => `${url.origin}${url.pathname.replace(/\/+$/, '')}`);
const webhookUrl = httpUrl('https://lms.example.edu/labrun-events').transform((url) => url.href);

/** `check=60/1m`: a route's name, how many requests, and the window (a duration). */
const rateLimit = z.string().transform((s, ctx) => {
  const m = /^(sign-in|join|check)=(\d+)(?:\/(\d+(?:\.\d+)?(?:ms|s|m|h)?))?$/.exec(s.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `'${s}' must look like check=60/1m (names: sign-in, join, check; 0 = no limit)` });
    return z.NEVER;
  }
  const window = duration.safeParse(m[3] ?? '1m');
  if (!window.success || window.data <= 0) {
    ctx.addIssue({ code: 'custom', message: `'${s}': the window must be a duration above 0, like 1m or 30s` });
    return z.NEVER;
  }
  return { name: RateLimitName.parse(m[1]), max: Number(m[2]), windowMs: window.data };
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
  'base-path': basePath,
  'trusted-proxy': z.array(proxyAddress),
  'public-url': publicUrl.optional(),
  'metrics-token': z
    .string()
    .min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`)
    .regex(/^[\x21-\x7e]+$/, 'may only contain printable characters without spaces (it goes into a header)')
    .optional(),
  webhook: webhookUrl.optional(),
  'webhook-secret': z.string().min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`).optional(),
  'event-log': z.string().min(1).optional(),
  'rate-limit': z.array(rateLimit),
});

/**
 * Builds the configuration from argv (without the command name) and an environment.
 * Throws ConfigError naming the option and what is wrong with it.
 */
export function parseConfig(argv: string[], env: Record<string, string | undefined> = process.env): ServerConfig {
  const flags = readFlags(argv);
  const pick = (name: FlagName): string | undefined => flags.get(name)?.[0] ?? env[FLAGS[name].env];
  const envOrigins = env[FLAGS['trusted-origin'].env];
  const list = (name: 'trusted-proxy' | 'rate-limit'): string[] => {
    const fromEnv = env[FLAGS[name].env];
    return flags.get(name) ?? (fromEnv ? fromEnv.split(',').map((s) => s.trim()).filter(Boolean) : []);
  };
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
    'base-path': pick('base-path') ?? '',
    'trusted-proxy': list('trusted-proxy'),
    'public-url': pick('public-url'),
    'metrics-token': pick('metrics-token'),
    webhook: pick('webhook'),
    'webhook-secret': pick('webhook-secret'),
    'event-log': pick('event-log'),
    'rate-limit': list('rate-limit'),
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? 'option');
    throw new ConfigError(`--${field}: ${issue?.message ?? 'invalid value'}`);
  }
  const c = parsed.data;
  if (c.webhook !== undefined && c['webhook-secret'] === undefined) {
    throw new ConfigError('--webhook: needs --webhook-secret too, so the receiver can tell labrun\'s events from forged ones');
  }
  const rateLimits: RateLimits = { ...DEFAULT_RATE_LIMITS };
  for (const r of c['rate-limit']) rateLimits[r.name] = { max: r.max, windowMs: r.windowMs };
  const dataDir = path.resolve(c.data);
  return {
    host: c.host,
    port: c.port,
    labsDir: path.resolve(c.labs),
    dataDir,
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
    basePath: c['base-path'],
    trustedProxies: c['trusted-proxy'],
    ...(c['public-url'] !== undefined && { publicUrl: c['public-url'] }),
    ...(c['metrics-token'] !== undefined && { metricsToken: c['metrics-token'] }),
    ...(c.webhook !== undefined && c['webhook-secret'] !== undefined && { webhook: { url: c.webhook, secret: c['webhook-secret'] } }),
    eventLog: path.resolve(c['event-log'] ?? path.join(dataDir, 'events.jsonl')),
    rateLimits,
  };
}
