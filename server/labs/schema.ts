// Schemas of a lab's files: `lab.yaml` and each step's YAML frontmatter, including every check and
// expectation kind. Pure (no I/O): the loader feeds parsed YAML in and maps issues to file:line:col.
import { z } from 'zod';

/** A check's timeout when the author gives none: long enough for curl to a slow nginx, short enough to not feel hung. */
export const DEFAULT_CHECK_TIMEOUT_S = 15;

const name = z.string().min(1);

/** A regex source string that must compile, so a bad pattern is a load error, not a failed check. */
const regexSource = z.string().superRefine((src, ctx) => {
  try {
    new RegExp(src, 'm');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid regex: ${err instanceof Error ? err.message : String(err)}` });
  }
});

function exactlyOne<T extends Record<string, unknown>>(keys: readonly (keyof T & string)[], what: string) {
  return (value: T, ctx: z.RefinementCtx) => {
    const present = keys.filter((k) => value[k] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} needs exactly one of ${keys.join(', ')}${present.length ? ` (got ${present.join(', ')})` : ''}`,
      });
    }
  };
}

export const TextMatchSchema = z
  .strictObject({
    contains: z.string().optional(),
    matches: regexSource.optional(),
    equals: z.string().optional(),
    /** Inverts the match: "stdout must NOT contain …". */
    not: z.boolean().optional(),
  })
  .superRefine(exactlyOne(['contains', 'matches', 'equals'], 'a text match'));
export type TextMatch = z.infer<typeof TextMatchSchema>;

/**
 * A value read from a command's output at check time: `run` in `service` (omitted = the sandbox shell),
 * then the first capture group of `matches` (or the whole match). For values the engine does not report,
 * e.g. the port Docker's DNS listens on inside a container's namespace.
 */
export const OutputOfSchema = z.strictObject({
  service: name.optional(),
  run: z.string().min(1),
  matches: regexSource,
  /** What the value is, for messages ("TCP port of Docker's DNS in nginx_a"); never the value itself. */
  label: z.string().min(1).optional(),
});
export type OutputOf = z.infer<typeof OutputOfSchema>;

/** A value read live from the sandbox (its inner engine, or a command's output), never written into the lab. */
export const LiveValueSchema = z
  .strictObject({
    ipOf: name.optional(),
    gatewayOf: name.optional(),
    subnetOf: name.optional(),
    sandboxKeyOf: name.optional(),
    /** The Linux bridge interface behind a bridge-driver network (`docker0`, `br-<12 hex of the network id>`). */
    bridgeOf: name.optional(),
    outputOf: OutputOfSchema.optional(),
    /** For ipOf: which network's address (default: the service's only / first network). */
    network: name.optional(),
  })
  .superRefine(exactlyOne(['ipOf', 'gatewayOf', 'subnetOf', 'sandboxKeyOf', 'bridgeOf', 'outputOf'], 'a live value'));
export type LiveValue = z.infer<typeof LiveValueSchema>;

/** A container, named either by compose service (in the lab's project) or by plain container name. */
const targetShape = { service: name.optional(), container: name.optional() };
const TargetSchema = z.strictObject(targetShape).superRefine(exactlyOne(['service', 'container'], 'a target'));
export type Target = z.infer<typeof TargetSchema>;

export const EXPECTATION_KINDS = [
  'exitCode',
  'stdout',
  'stderr',
  'resolves',
  'reachable',
  'running',
  'absent',
  'sharesNetns',
  'ownNetns',
  'netnsCount',
  'publishes',
  'mentions',
  'answer',
] as const;
export type ExpectationKind = (typeof EXPECTATION_KINDS)[number];

export const ExpectationSchema = z
  .strictObject({
    exitCode: z.number().int().optional(),
    stdout: TextMatchSchema.optional(),
    stderr: TextMatchSchema.optional(),
    /** `name` resolves, from service `from` (default: the check's service), to the IP Docker gave it on a shared network. */
    resolves: z.strictObject({ name, from: name.optional() }).optional(),
    /** `from` (a service; omitted = the sandbox shell) reaches `to:port` over HTTP (default) or TCP. */
    reachable: z
      .strictObject({
        to: name,
        port: z.number().int().min(1).max(65535),
        from: name.optional(),
        protocol: z.enum(['http', 'tcp']).optional(),
        path: z.string().startsWith('/').optional(),
        body: TextMatchSchema.optional(),
      })
      .optional(),
    running: TargetSchema.optional(),
    /** No container with that name exists (running or not). */
    absent: z.strictObject({ container: name }).optional(),
    sharesNetns: z.strictObject({ a: name, b: name }).optional(),
    /** The target has a network namespace of its own (not the host's, not another container's). */
    ownNetns: TargetSchema.optional(),
    /** Number of distinct network namespaces among the running containers of the lab's compose project. */
    netnsCount: z.strictObject({ equals: z.number().int().min(0) }).optional(),
    publishes: z
      .strictObject({ ...targetShape, hostPort: z.number().int().min(1).max(65535), containerPort: z.number().int().min(1).max(65535) })
      .superRefine(exactlyOne(['service', 'container'], 'publishes'))
      .optional(),
    /** The command's stdout contains a live value (e.g. nginx_a's IP). */
    mentions: LiveValueSchema.optional(),
    /** The learner's answer to a step question equals a live value. */
    answer: z.strictObject({ question: name, equals: LiveValueSchema }).optional(),
  })
  .superRefine((value, ctx) => {
    const present = EXPECTATION_KINDS.filter((k) => value[k] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: present.length
          ? `an expectation has exactly one kind (got ${present.join(', ')}); split it into separate list items`
          : 'empty expectation',
      });
    }
  });
export type Expectation = z.infer<typeof ExpectationSchema>;

export const CheckSchema = z.strictObject({
  name,
  /** Compose service to run in; omitted = the sandbox shell (bash, in the workspace). */
  service: name.optional(),
  /** Shell command; optional when every expectation is a ground-truth one. */
  run: z.string().min(1).optional(),
  /** Seconds. */
  timeout: z.number().positive().max(300).optional(),
  expect: z.array(ExpectationSchema).min(1),
  hint: z.string().optional(),
  /**
   * Why this check may already pass before the step's solution (the self-test then does not call it
   * vacuous, except with --strict). Prefer a question: an observation step proves itself by an answer.
   */
  passesBeforeSolve: z.string().min(1).optional(),
  /**
   * Checks of a step run at the same time; a check that needs what earlier ones did (a file one of
   * them writes, a container one of them starts) says `serial: true` and starts once they all finished.
   */
  serial: z.boolean().optional(),
});
export type CheckSpec = z.infer<typeof CheckSchema>;

export const QuestionSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'question ids are lower-case letters, digits, _ and -'),
  prompt: z.string().min(1),
});
export type Question = z.infer<typeof QuestionSchema>;

export const StepFrontmatterSchema = z.strictObject({
  title: z.string().min(1),
  /** Idempotent shell script run in the sandbox when the step opens. */
  setup: z.string().optional(),
  /** Shell script that completes the step (used by `labrun test`). */
  solve: z.string().optional(),
  /**
   * Typed into the learner's terminal when the step opens (once per sandbox), as if the learner had
   * typed it: for a lesson that starts by running something where the learner can see it.
   */
  foreground: z.string().min(1).optional(),
  hints: z.array(z.string()).default([]),
  questions: z.array(QuestionSchema).default([]),
  checks: z.array(CheckSchema).default([]),
});
export type StepFrontmatter = z.infer<typeof StepFrontmatterSchema>;

export const LabFileSchema = z.strictObject({
  title: z.string().min(1),
  summary: z.string().min(1),
  minutes: z.number().int().positive(),
  /** Workspace folder inside the sandbox; compose takes the project name from it, so keep it compose-safe. */
  workspace: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'workspace must be lower-case letters, digits, _ and - (it becomes the compose project name)'),
  images: z.array(name).default([]),
  /**
   * Whether the lab's sandboxes reach outside addresses (to pull or build from the internet). Without
   * it an isolated sandbox has no network at all; with it, still never the host, labrun or other sandboxes.
   */
  egress: z.boolean().default(false),
  /** Compose files in files/, for validating service names in checks. */
  compose: z.array(name).default(['docker-compose.yaml']),
  /** Step files in steps/, in order; default: every steps/*.md sorted by name. */
  steps: z.array(name).optional(),
});
export type LabFile = z.infer<typeof LabFileSchema>;
