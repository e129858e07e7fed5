// The link layer of a sandbox, read with one exec in the sandbox itself: its own `ip -j link` (the
// bridges and the host-side veth ends with their `master`) and, for each running container, the
// same list inside the container's network namespace (`nsenter -t <pid> -n`, from the sandbox, so
// it works whatever the container's image has installed). Parsing is pure and unit-tested.
import { z } from 'zod';
import type { Sandbox } from '../sandbox/sandbox.ts';

/** One interface as `ip -j link` reports it, reduced to what the picture needs. */
export interface LinkInfo {
  ifindex: number;
  ifname: string;
  /** `@ifN` of a veth: the peer's ifindex in the other namespace. */
  linkIndex: number | null;
  /** The bridge it is a port of. */
  master: string | null;
  mac: string | null;
  linkType: string | null;
}

export interface SandboxLinks {
  /** The sandbox's own namespace (where the inner engine's bridges live). */
  host: LinkInfo[];
  /** Per container pid (inner engine's pids): the links of its namespace; absent when it could not be read. */
  byPid: Map<number, LinkInfo[]>;
}

/** Reading the links is cheap (ip and nsenter take milliseconds); a hung exec must not stall the panel. */
const LINKS_TIMEOUT_MS = 5_000;
const PID_MARK = '@@pid ';

const IpLinkSchema = z.array(
  z.object({
    ifindex: z.number(),
    ifname: z.string(),
    link_index: z.number().optional(),
    master: z.string().optional(),
    address: z.string().optional(),
    link_type: z.string().optional(),
  }),
);

function parseIpLink(text: string): LinkInfo[] | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = IpLinkSchema.safeParse(raw);
  if (!r.success) return undefined;
  return r.data.map((l) => ({
    ifindex: l.ifindex,
    ifname: l.ifname,
    linkIndex: l.link_index ?? null,
    master: l.master ?? null,
    mac: l.address ?? null,
    linkType: l.link_type ?? null,
  }));
}

/** The shell script's argv: the host list, then a `@@pid N` line and that namespace's list per pid. */
export function linksScript(pids: readonly number[]): string[] {
  const script = `ip -j link show; for p in "$@"; do printf '\\n${PID_MARK}%s\\n' "$p"; nsenter -t "$p" -n ip -j link show 2>/dev/null || echo null; done`;
  return ['bash', '-c', script, 'links', ...pids.map(String)];
}

/** Parses the script's output; throws when the sandbox's own list is unreadable (no iproute2?). */
export function parseLinksOutput(stdout: string): SandboxLinks {
  const [head = '', ...sections] = stdout.split(`\n${PID_MARK}`);
  const host = parseIpLink(head.trim());
  if (!host) throw new Error(`ip -j link in the sandbox printed something that is not its JSON link list: ${head.slice(0, 120)}`);
  const byPid = new Map<number, LinkInfo[]>();
  for (const section of sections) {
    const nl = section.indexOf('\n');
    const pid = Number(section.slice(0, nl === -1 ? undefined : nl));
    const links = nl === -1 ? undefined : parseIpLink(section.slice(nl + 1).trim());
    if (Number.isInteger(pid) && links) byPid.set(pid, links);
  }
  return { host, byPid };
}

export async function readLinks(sandbox: Sandbox, pids: readonly number[]): Promise<SandboxLinks> {
  const r = await sandbox.exec({ argv: linksScript(pids), timeoutMs: LINKS_TIMEOUT_MS, maxOutputBytes: 1024 * 1024 });
  if (r.exitCode !== 0 && r.stdout.trim() === '') throw new Error(`reading the sandbox's links failed (exit ${String(r.exitCode)}): ${r.stderr.trim().slice(0, 200)}`);
  return parseLinksOutput(r.stdout);
}
