// The topology panel's model (`/ws/topology`), shared by server and client: what a learner's inner
// engine has — networks and their Linux bridges, containers and their addresses, the network
// namespaces they live in (several containers share one with `network_mode: service:`), the embedded
// DNS of namespaces on user-defined networks, and the host-side veth ends plugged into each bridge.
// The server builds it (server/topology/) and sends it whole on every change; the client draws it.
import * as z from 'zod';

/** The address Docker's embedded DNS answers on inside every namespace on a user-defined network. */
export const EMBEDDED_DNS = '127.0.0.11';

export const TopologyNetwork = z.object({
  id: z.string(),
  name: z.string(),
  driver: z.string(),
  subnet: z.string().nullable(),
  gateway: z.string().nullable(),
  /** The Linux bridge of a bridge-driver network (`docker0`, `br-…`); null for other drivers. */
  bridge: z.string().nullable(),
  /** Whether Docker made it (`bridge`, `host`, `none`) rather than compose or the learner. */
  builtIn: z.boolean(),
});
export type TopologyNetwork = z.infer<typeof TopologyNetwork>;

export const TopologyAddress = z.object({
  network: z.string(),
  ip: z.string(),
  prefixLen: z.number().nullable(),
  gateway: z.string().nullable(),
  mac: z.string().nullable(),
});
export type TopologyAddress = z.infer<typeof TopologyAddress>;

export const TopologyPort = z.object({ hostIp: z.string().nullable(), hostPort: z.number(), containerPort: z.number(), proto: z.string() });
export type TopologyPort = z.infer<typeof TopologyPort>;

export const TopologyContainer = z.object({
  id: z.string(),
  name: z.string(),
  project: z.string().nullable(),
  service: z.string().nullable(),
  image: z.string(),
  state: z.string(),
  running: z.boolean(),
  /** Inner engine's pid of the container's main process (0 when not running). */
  pid: z.number(),
  /** `bridge`, a network name, `host`, `none`, or `container:<id>`. */
  networkMode: z.string(),
  /** Id of the namespace box it is drawn in (see TopologyNamespace.id). */
  namespace: z.string(),
  /** Its own addresses, one per network; empty for a container living in another's namespace. */
  addresses: z.array(TopologyAddress),
  ports: z.array(TopologyPort),
});
export type TopologyContainer = z.infer<typeof TopologyContainer>;

/** One interface inside a namespace, as the namespace's own `ip link` shows it. */
export const TopologyInterface = z.object({
  name: z.string(),
  ifindex: z.number(),
  /** Ifindex of the veth peer in the sandbox (the `@ifN` of `ip link`); null for loopback and others. */
  peerIfindex: z.number().nullable(),
  /** Which network it is attached to, matched by MAC address; null when unknown. */
  network: z.string().nullable(),
  ip: z.string().nullable(),
});
export type TopologyInterface = z.infer<typeof TopologyInterface>;

export const TopologyNamespace = z.object({
  /** The id of the container that owns it (the one others' `container:` points at). */
  id: z.string(),
  owner: z.string(),
  /** Names of the containers living in it, the owner first. */
  containers: z.array(z.string()),
  /** EMBEDDED_DNS when it is on a user-defined network, else null. */
  dns: z.string().nullable(),
  interfaces: z.array(TopologyInterface),
});
export type TopologyNamespace = z.infer<typeof TopologyNamespace>;

/** A veth end in the sandbox's own namespace, plugged into a bridge (or loose). */
export const TopologyVeth = z.object({
  name: z.string(),
  ifindex: z.number(),
  /** The bridge it is a port of (`master` in `ip link`), or null. */
  bridge: z.string().nullable(),
  /** The namespace its peer lives in, matched by the peer's `@ifN`; null when not found. */
  namespace: z.string().nullable(),
  /** Name of the peer interface inside that namespace (`eth0`). */
  peer: z.string().nullable(),
});
export type TopologyVeth = z.infer<typeof TopologyVeth>;

export const TopologyModel = z.object({
  /** When it was built (server clock, ms). */
  at: z.number(),
  /** The lab's compose project (the workspace name). */
  project: z.string(),
  networks: z.array(TopologyNetwork),
  containers: z.array(TopologyContainer),
  namespaces: z.array(TopologyNamespace),
  veths: z.array(TopologyVeth),
  /** What could not be read (say, the link list) and so is missing from the picture. */
  notes: z.array(z.string()),
});
export type TopologyModel = z.infer<typeof TopologyModel>;

/** A frame on `/ws/topology`: the whole model, or why there is none right now. */
export const TopologyFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('model'), model: TopologyModel }),
  z.object({ type: z.literal('unavailable'), message: z.string() }),
]);
export type TopologyFrame = z.infer<typeof TopologyFrame>;

export function parseTopologyFrame(text: string): TopologyFrame | null {
  try {
    const r = TopologyFrame.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
