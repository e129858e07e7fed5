// Ground truth about a sandbox's inner engine, as plain data: containers (by compose project/service or
// name), their networks, addresses, namespaces and published ports, and the networks' gateways. Pure:
// `parseFacts` turns raw Engine API JSON (container inspect, network list) into Facts; the helpers answer
// questions checks ask ("which namespace is nginx_b in?", "what is nginx_b's IP?").
import { z } from 'zod';
import type { LiveValue, Target } from '../labs/catalog.ts';

export interface ContainerFact {
  id: string;
  name: string;
  project?: string;
  service?: string;
  state: string;
  running: boolean;
  /** `default`, `bridge`, `host`, `none`, a network name, or `container:<id>` (compose `network_mode: service:x`). */
  networkMode: string;
  sandboxKey: string;
  /** Network name → address on it. */
  networks: Record<string, { ip: string; gateway: string }>;
  /** Published ports: host port → container port/proto. */
  ports: { hostPort: number; containerPort: number; proto: string }[];
}

export interface NetworkFact {
  name: string;
  subnet?: string;
  gateway?: string;
  /** The Linux bridge interface of a bridge-driver network (`docker0`, `br-…`). */
  bridge?: string;
}

export interface Facts {
  /** The lab's compose project (the workspace name). */
  project: string;
  containers: ContainerFact[];
  networks: NetworkFact[];
}

const InspectSchema = z.object({
  Id: z.string(),
  Name: z.string(),
  State: z.object({ Status: z.string(), Running: z.boolean() }),
  Config: z.object({ Labels: z.record(z.string(), z.string()).nullish() }),
  HostConfig: z.object({ NetworkMode: z.string().nullish() }),
  NetworkSettings: z.object({
    SandboxKey: z.string().nullish(),
    Networks: z.record(z.string(), z.object({ IPAddress: z.string().nullish(), Gateway: z.string().nullish() }).nullish()).nullish(),
    Ports: z.record(z.string(), z.array(z.object({ HostPort: z.string() })).nullish()).nullish(),
  }),
});

const NetworkListSchema = z.array(
  z.object({
    Id: z.string().optional(),
    Name: z.string(),
    Driver: z.string().optional(),
    Options: z.record(z.string(), z.string()).nullish(),
    IPAM: z.object({ Config: z.array(z.object({ Subnet: z.string().optional(), Gateway: z.string().optional() })).nullish() }).nullish(),
  }),
);

export function parseFacts(project: string, inspects: unknown[], networkList: unknown): Facts {
  const containers = inspects.map((raw): ContainerFact => {
    const c = InspectSchema.parse(raw);
    const labels = c.Config.Labels ?? {};
    const networks: ContainerFact['networks'] = {};
    for (const [name, n] of Object.entries(c.NetworkSettings.Networks ?? {})) {
      if (n?.IPAddress) networks[name] = { ip: n.IPAddress, gateway: n.Gateway ?? '' };
    }
    const ports: ContainerFact['ports'] = [];
    for (const [key, bindings] of Object.entries(c.NetworkSettings.Ports ?? {})) {
      const [port = '', proto = 'tcp'] = key.split('/');
      for (const b of bindings ?? []) ports.push({ hostPort: Number(b.HostPort), containerPort: Number(port), proto });
    }
    const fact: ContainerFact = {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      state: c.State.Status,
      running: c.State.Running,
      networkMode: c.HostConfig.NetworkMode ?? '',
      sandboxKey: c.NetworkSettings.SandboxKey ?? '',
      networks,
      ports: dedupePorts(ports),
    };
    const p = labels['com.docker.compose.project'];
    const s = labels['com.docker.compose.service'];
    if (p !== undefined) fact.project = p;
    if (s !== undefined) fact.service = s;
    return fact;
  });
  const networks = NetworkListSchema.parse(networkList).map((n): NetworkFact => {
    const cfg = n.IPAM?.Config?.find((x) => x.Gateway || x.Subnet);
    const f: NetworkFact = { name: n.Name };
    if (cfg?.Subnet) f.subnet = cfg.Subnet;
    if (cfg?.Gateway) f.gateway = cfg.Gateway;
    // Docker names a bridge br-<first 12 hex of the network id> unless the network sets a name (docker0 does).
    const bridge = n.Options?.['com.docker.network.bridge.name'] ?? (n.Driver === 'bridge' && n.Id ? `br-${n.Id.slice(0, 12)}` : undefined);
    if (bridge) f.bridge = bridge;
    return f;
  });
  return { project, containers, networks };
}

// The engine lists a binding once per address family (0.0.0.0 and ::); one entry per mapping is enough.
function dedupePorts(ports: ContainerFact['ports']): ContainerFact['ports'] {
  const seen = new Set<string>();
  return ports.filter((p) => {
    const k = `${p.hostPort}:${p.containerPort}/${p.proto}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Containers of a compose service in the lab's project, running ones first. */
export function serviceContainers(facts: Facts, service: string): ContainerFact[] {
  return facts.containers
    .filter((c) => c.project === facts.project && c.service === service)
    .sort((a, b) => Number(b.running) - Number(a.running));
}

export function containerByName(facts: Facts, name: string): ContainerFact | undefined {
  return facts.containers.find((c) => c.name === name);
}

/** One container for a target (service or container name), or a reason there is none. */
export function findTarget(facts: Facts, t: Target): { c: ContainerFact } | { missing: string } {
  if (t.service !== undefined) {
    const c = serviceContainers(facts, t.service)[0];
    return c ? { c } : { missing: `no container for service ${t.service} in project ${facts.project} (is the stack up? try: docker compose up -d)` };
  }
  const name = t.container ?? '';
  const c = containerByName(facts, name);
  return c ? { c } : { missing: `no container named ${name}` };
}

export function describeTarget(t: Target): string {
  return t.service !== undefined ? t.service : (t.container ?? '?');
}

/** The container whose namespace `c` lives in: itself, or the one its `network_mode: container:` points at. */
export function netnsOwner(facts: Facts, c: ContainerFact): ContainerFact {
  let cur = c;
  for (let hops = 0; hops < 10 && cur.networkMode.startsWith('container:'); hops++) {
    const ref = cur.networkMode.slice('container:'.length);
    const next = facts.containers.find((x) => x.id === ref || x.id.startsWith(ref) || x.name === ref);
    if (!next) break;
    cur = next;
  }
  return cur;
}

/** A stable identity for the network namespace a running container is in. */
export function netnsId(facts: Facts, c: ContainerFact): string {
  if (c.networkMode === 'host') return 'host';
  const owner = netnsOwner(facts, c);
  return owner.sandboxKey || `container:${owner.id}`;
}

export function sharesNetnsWith(facts: Facts, c: ContainerFact): ContainerFact | undefined {
  return c.networkMode.startsWith('container:') ? netnsOwner(facts, c) : undefined;
}

export type LiveResult = { value: string; label: string } | { error: string };

/**
 * Evaluates a live value the engine reports; `error` says why it has none (e.g. a service without an IP
 * of its own). `outputOf` values come from a command instead: see valueFromOutput in expect.ts.
 */
export function liveValue(facts: Facts, v: LiveValue): LiveResult {
  if (v.outputOf !== undefined) return { error: `the value of '${v.outputOf.run}' needs that command's output, not the engine's state` };
  if (v.ipOf !== undefined) {
    const svc = v.ipOf;
    const c = serviceContainers(facts, svc)[0];
    if (!c) return { error: `no container for service ${svc} (is the stack up?)` };
    const owner = sharesNetnsWith(facts, c);
    if (owner)
      return { error: `${svc} uses network_mode service:${owner.service ?? owner.name}: it has no IP address of its own (it shares ${owner.service ?? owner.name}'s)` };
    const nets = Object.keys(c.networks);
    const net = v.network ?? (nets.length === 1 ? nets[0] : nets.includes(`${facts.project}_default`) ? `${facts.project}_default` : nets[0]);
    const addr = net !== undefined ? c.networks[net] : undefined;
    if (!addr) return { error: `${svc} has no address${v.network ? ` on ${v.network}` : ''} (its networks: ${nets.join(', ') || 'none'})` };
    return { value: addr.ip, label: `IP of ${svc} on ${net}` };
  }
  if (v.sandboxKeyOf !== undefined) {
    const c = serviceContainers(facts, v.sandboxKeyOf)[0];
    if (!c) return { error: `no container for service ${v.sandboxKeyOf} (is the stack up?)` };
    if (!c.sandboxKey) return { error: `${v.sandboxKeyOf} has no SandboxKey of its own${c.running ? '' : ` (it is ${c.state})`}` };
    return { value: c.sandboxKey, label: `SandboxKey of ${v.sandboxKeyOf}` };
  }
  const netName = v.gatewayOf ?? v.subnetOf ?? v.bridgeOf ?? '';
  const n = facts.networks.find((x) => x.name === netName);
  if (!n) return { error: `no network named ${netName} (is the stack up?)` };
  if (v.bridgeOf !== undefined) return n.bridge ? { value: n.bridge, label: `bridge interface of ${netName}` } : { error: `network ${netName} is not a bridge network` };
  const value = v.gatewayOf !== undefined ? n.gateway : n.subnet;
  const what = v.gatewayOf !== undefined ? 'gateway' : 'subnet';
  return value ? { value, label: `${what} of ${netName}` } : { error: `network ${netName} has no ${what}` };
}
