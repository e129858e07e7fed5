// Pure naming rules for dind sandboxes: Docker labels, resource names, compose's project name,
// and reading a sandbox's identity back from its labels (for adoption after a server restart).
import { z } from 'zod';

/** Bumped when a sandbox made by an older labrun can no longer be driven by this one. */
export const SANDBOX_LABEL_VERSION = '1';

export const LABEL = {
  sandbox: 'labrun.sandbox',
  lab: 'labrun.lab',
  learner: 'labrun.learner',
  workspace: 'labrun.workspace',
  createdAt: 'labrun.created-at',
  version: 'labrun.version',
} as const;

/** Folder and project names end up in paths and in compose names: keep them to a safe alphabet. */
const WORKSPACE_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function assertWorkspaceName(workspace: string): void {
  if (!WORKSPACE_RE.test(workspace)) {
    throw new Error(
      `workspace name '${workspace}' is not allowed: use 1–63 lowercase letters, digits, '_' or '-', starting with a letter or digit`,
    );
  }
}

/** The project name compose v1 derives from a folder name (compose/cli/command.py normalize_name). */
export function composeProjectName(folderName: string): string {
  return folderName.toLowerCase().replace(/[^-_a-z0-9]/g, '');
}

/** One name shared by the sandbox's container, network and volume, so they are easy to find by eye. */
export function resourceName(sandboxId: string): string {
  return `labrun-sb-${sandboxId}`;
}

export function sandboxLabels(spec: { labId: string; learnerId: string; workspace: string }, createdAt: Date): Record<string, string> {
  return {
    [LABEL.sandbox]: '1',
    [LABEL.lab]: spec.labId,
    [LABEL.learner]: spec.learnerId,
    [LABEL.workspace]: spec.workspace,
    [LABEL.createdAt]: createdAt.toISOString(),
    [LABEL.version]: SANDBOX_LABEL_VERSION,
  };
}

const labelsSchema = z.object({
  [LABEL.sandbox]: z.literal('1'),
  [LABEL.lab]: z.string().min(1),
  [LABEL.learner]: z.string().min(1),
  [LABEL.workspace]: z.string().regex(WORKSPACE_RE),
  [LABEL.createdAt]: z.iso.datetime(),
  [LABEL.version]: z.string(),
});

export interface SandboxIdentity {
  labId: string;
  learnerId: string;
  workspace: string;
  createdAt: Date;
  version: string;
}

/** Reads a sandbox's identity from its container labels; undefined when they are not ours or are damaged. */
export function parseSandboxLabels(labels: unknown): SandboxIdentity | undefined {
  const parsed = labelsSchema.safeParse(labels);
  if (!parsed.success) return undefined;
  const l = parsed.data;
  return {
    labId: l[LABEL.lab],
    learnerId: l[LABEL.learner],
    workspace: l[LABEL.workspace],
    createdAt: new Date(l[LABEL.createdAt]),
    version: l[LABEL.version],
  };
}

/** The sandbox id from a resource name, or undefined for names we did not make. */
export function sandboxIdFromName(name: string): string | undefined {
  const m = /^\/?labrun-sb-([a-z0-9]+)$/.exec(name);
  return m?.[1];
}
