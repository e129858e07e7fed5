// Builds the topology panel's model (shared/topology.ts) from what the inner engine reports (container
// inspect documents, the network list) and the sandbox's link lists (links.ts). Pure: a table of
// raw engine JSON in, the picture's data out, so the matching rules are unit-tested without Docker.
// Matching: a container's interfaces map to networks by MAC address (inspect's MacAddress per
// network); a host-side veth belongs to the namespace whose interface has the veth's ifindex as its
// `@ifN` peer (and the other way round), and to the bridge that is its `master`.
import { z } from 'zod';
import { EMBEDDED_DNS, type TopologyContainer, type TopologyInterface, type TopologyModel, type TopologyNamespace, type TopologyNetwork, type TopologyVeth } from '../../shared/topology.ts';
import type { EngineSnapshot } from '../sandbox/sandbox.ts';
import type { SandboxLinks } from './links.ts';

/** Networks every engine has; containers on them get no embedded DNS. */
const BUILT_IN_NETWORKS = new Set(['bridge', 'host', 'none']);
/** A `container:` chain longer than this is a loop (it cannot be, but bad data must not hang the server). */
const MAX_NETNS_HOPS = 10;

const InspectSchema = z.object({
  Id: z.string(),
  Name: z.string(),
  State: z.object({ Status: z.string(), Running: z.boolean(), Pid: z.number().nullish() }),
  Config: z.object({ Image: z.string().nullish(), Labels: z.record(z.string(), z.string()).nullish() }),
  HostConfig: z.object({ NetworkMode: z.string().nullish() }),
  NetworkSettings: z.object({
    Networks: z
      .record(
        z.string(),
        z
          .object({
            IPAddress: z.string().nullish(),
            IPPrefixLen: z.number().nullish(),
            Gateway: z.string().nullish(),
            MacAddress: z.string().nullish(),
          })
          .nullish(),
      )
      .nullish(),
    Ports: z.record(z.string(), z.array(z.object({ HostIp: z.string().nullish(), HostPort: z.string() })).nullish()).nullish(),
  }),
});

const NetworkListSchema = z.array(
  z.object({
    Id: z.string(),
    Name: z.string(),
    Driver: z.string().nullish(),
    Options: z.record(z.string(), z.string()).nullish(),
    IPAM: z.object({ Config: z.array(z.object({ Subnet: z.string().optional(), Gateway: z.string().optional() })).nullish() }).nullish(),
  }),
);

function networksOf(raw: unknown): TopologyNetwork[] {
  return NetworkListSchema.parse(raw)
    .map((n): TopologyNetwork => {
      const cfg = n.IPAM?.Config?.find((x) => x.Gateway || x.Subnet);
      const driver = n.Driver ?? '';
      // Docker names a bridge br-<first 12 hex of the network id> unless the network sets a name (docker0 does).
      const bridge = n.Options?.['com.docker.network.bridge.name'] ?? (driver === 'bridge' ? `br-${n.Id.slice(0, 12)}` : null);
      return { id: n.Id, name: n.Name, driver, subnet: cfg?.Subnet ?? null, gateway: cfg?.Gateway ?? null, bridge, builtIn: BUILT_IN_NETWORKS.has(n.Name) };
    })
    .sort((a, b) => Number(a.builtIn) - Number(b.builtIn) || a.name.localeCompare(b.name));
}

interface Parsed {
  c: TopologyContainer;
  macs: Map<string, string>;
}

function containerOf(raw: unknown): Parsed {
  const c = InspectSchema.parse(raw);
  const labels = c.Config.Labels ?? {};
  const macs = new Map<string, string>();
  const addresses: TopologyContainer['addresses'] = [];
  for (const [network, n] of Object.entries(c.NetworkSettings.Networks ?? {})) {
    if (n?.MacAddress) macs.set(n.MacAddress.toLowerCase(), network);
    if (!n?.IPAddress) continue;
    addresses.push({ network, ip: n.IPAddress, prefixLen: n.IPPrefixLen || null, gateway: n.Gateway || null, mac: n.MacAddress || null });
  }
  addresses.sort((a, b) => a.network.localeCompare(b.network));
  const ports: TopologyContainer['ports'] = [];
  const seen = new Set<string>();
  for (const [key, bindings] of Object.entries(c.NetworkSettings.Ports ?? {})) {
    const [port = '', proto = 'tcp'] = key.split('/');
    for (const b of bindings ?? []) {
      // The engine lists a binding once per address family (0.0.0.0 and ::); one entry per mapping is enough.
      const k = `${b.HostPort}:${port}/${proto}`;
      if (seen.has(k)) continue;
      seen.add(k);
      ports.push({ hostIp: b.HostIp || null, hostPort: Number(b.HostPort), containerPort: Number(port), proto });
    }
  }
  ports.sort((a, b) => a.hostPort - b.hostPort);
  const container: TopologyContainer = {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    project: labels['com.docker.compose.project'] ?? null,
    service: labels['com.docker.compose.service'] ?? null,
    image: c.Config.Image ?? '',
    state: c.State.Status,
    running: c.State.Running,
    pid: c.State.Running ? (c.State.Pid ?? 0) : 0,
    networkMode: c.HostConfig.NetworkMode ?? '',
    namespace: c.Id,
    addresses,
    ports,
  };
  return { c: container, macs };
}

/** The container whose namespace `c` lives in: itself, or the end of its `container:` chain. */
function namespaceOwner(all: TopologyContainer[], c: TopologyContainer): TopologyContainer {
  let cur = c;
  for (let hops = 0; hops < MAX_NETNS_HOPS && cur.networkMode.startsWith('container:'); hops++) {
    const ref = cur.networkMode.slice('container:'.length);
    const next = all.find((x) => x.id === ref || x.id.startsWith(ref) || x.name === ref);
    if (!next) break;
    cur = next;
  }
  return cur;
}

export function buildTopology(project: string, snapshot: EngineSnapshot, links: SandboxLinks | undefined, now: number, notes: string[] = []): TopologyModel {
  const networks = networksOf(snapshot.networks);
  const parsed = snapshot.containers.map(containerOf).sort((a, b) => a.c.name.localeCompare(b.c.name));
  const containers = parsed.map((p) => p.c);
  const macsById = new Map(parsed.map((p) => [p.c.id, p.macs]));
  const namespaces = new Map<string, TopologyNamespace>();
  for (const c of containers) {
    // A container on the host's namespace or on none has no box of its own to share.
    const owner = namespaceOwner(containers, c);
    c.namespace = owner.id;
    let ns = namespaces.get(owner.id);
    if (!ns) {
      const userDefined = owner.addresses.some((a) => !BUILT_IN_NETWORKS.has(a.network));
      ns = { id: owner.id, owner: owner.name, containers: [], dns: userDefined ? EMBEDDED_DNS : null, interfaces: [] };
      namespaces.set(owner.id, ns);
    }
    if (c === owner) ns.containers.unshift(c.name);
    else ns.containers.push(c.name);
  }

  const veths: TopologyVeth[] = [];
  if (links) {
    for (const ns of namespaces.values()) {
      const owner = containers.find((c) => c.id === ns.id);
      const inside = owner && owner.pid > 0 ? links.byPid.get(owner.pid) : undefined;
      const macs = macsById.get(ns.id) ?? new Map<string, string>();
      ns.interfaces = (inside ?? [])
        .filter((l) => l.linkType !== 'loopback')
        .map((l): TopologyInterface => {
          const network = (l.mac && macs.get(l.mac.toLowerCase())) ?? null;
          const ip = network ? (owner?.addresses.find((a) => a.network === network)?.ip ?? null) : null;
          return { name: l.ifname, ifindex: l.ifindex, peerIfindex: l.linkIndex, network, ip };
        });
    }
    const bridges = new Set(networks.map((n) => n.bridge).filter((b) => b !== null));
    for (const l of links.host) {
      // A veth end in the sandbox: it has a peer elsewhere, or it is plugged into one of the engine's bridges.
      const isVeth = l.ifname.startsWith('veth') || (l.master !== null && bridges.has(l.master) && l.linkIndex !== null);
      if (!isVeth) continue;
      let namespace: string | null = null;
      let peer: string | null = null;
      for (const ns of namespaces.values()) {
        const match = ns.interfaces.find((i) => i.peerIfindex === l.ifindex);
        if (match) {
          namespace = ns.id;
          peer = match.name;
          break;
        }
      }
      veths.push({ name: l.ifname, ifindex: l.ifindex, bridge: l.master, namespace, peer });
    }
    veths.sort((a, b) => a.name.localeCompare(b.name));
  }
  return { at: now, project, networks, containers, namespaces: [...namespaces.values()], veths, notes };
}
