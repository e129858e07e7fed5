// Turns a topology model into an ELK graph (elkjs, layered, left to right) and lays it out: each
// network namespace is a compound node holding its containers, its embedded DNS and its interfaces;
// each interface links to its host-side veth end, and each veth to its network's bridge. Node sizes
// come from their text, so the layout never guesses. elkjs is loaded on first use (it is large).
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { TopologyContainer, TopologyModel, TopologyNetwork } from '../../shared/topology.ts';

/** Monospace text metrics of the drawing (12px DejaVu Sans Mono ≈ 7.2 px per character). */
export const CHAR_W = 7.3;
export const LINE_H = 16;
export const PAD = 8;

export type BoxKind = 'container' | 'dns' | 'iface' | 'veth' | 'network';

export interface Box {
  id: string;
  kind: BoxKind;
  /** Lines of text, the first one the title. */
  lines: string[];
  x: number;
  y: number;
  width: number;
  height: number;
  /** What the box stands for: a container's name, a network's name, … (data attributes, click targets). */
  ref: string;
  muted: boolean;
}

export interface NamespaceBox {
  id: string;
  title: string;
  containers: string[];
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Line {
  id: string;
  points: { x: number; y: number }[];
  label: string;
}

export interface Layout {
  width: number;
  height: number;
  namespaces: NamespaceBox[];
  boxes: Box[];
  lines: Line[];
}

function sized(lines: string[], minWidth = 0): { width: number; height: number } {
  const longest = Math.max(...lines.map((l) => l.length));
  return { width: Math.max(minWidth, Math.ceil(longest * CHAR_W) + 2 * PAD), height: lines.length * LINE_H + 2 * PAD - 4 };
}

export function containerLines(c: TopologyContainer, owner: string | undefined): string[] {
  const lines = [c.name, `${c.service ? `${c.service} · ` : ''}${c.image}`];
  if (!c.running) lines.push(c.state);
  for (const a of c.addresses) lines.push(`${a.ip}${a.prefixLen ? `/${a.prefixLen}` : ''} on ${a.network}`);
  if (c.addresses.length === 0 && owner) lines.push(`no address: uses ${owner}'s namespace`);
  else if (c.addresses.length === 0 && c.running) lines.push(`no address (network: ${c.networkMode || 'none'})`);
  for (const p of c.ports) lines.push(`published ${p.hostPort} → ${p.containerPort}/${p.proto}`);
  return lines;
}

export function networkLines(n: TopologyNetwork): string[] {
  const lines = [n.name, `${n.driver}${n.bridge ? ` · bridge ${n.bridge}` : ''}`];
  if (n.subnet) lines.push(`subnet ${n.subnet}`);
  if (n.gateway) lines.push(`gateway ${n.gateway}${n.bridge ? ' (the bridge)' : ''}`);
  return lines;
}

interface Meta {
  kind: BoxKind;
  lines: string[];
  ref: string;
  muted: boolean;
}

/** The ELK graph of a model, plus what each node means (for drawing). */
export function toElk(model: TopologyModel): { graph: ElkNode; meta: Map<string, Meta>; namespaces: Map<string, { title: string; containers: string[] }> } {
  const meta = new Map<string, Meta>();
  const nsMeta = new Map<string, { title: string; containers: string[] }>();
  const edges: ElkExtendedEdge[] = [];
  const byName = new Map(model.containers.map((c) => [c.name, c]));
  const node = (id: string, m: Meta, minWidth = 0): ElkNode => {
    meta.set(id, m);
    return { id, ...sized(m.lines, minWidth) };
  };
  // Networks drawn: the lab's own, and built-in ones something is attached to.
  const used = new Set(model.containers.flatMap((c) => c.addresses.map((a) => a.network)));
  for (const v of model.veths) for (const n of model.networks) if (v.bridge && n.bridge === v.bridge && v.namespace) used.add(n.name);
  const networks = model.networks.filter((n) => !n.builtIn || used.has(n.name));
  const netByBridge = new Map(networks.filter((n) => n.bridge).map((n) => [n.bridge, n]));

  const children: ElkNode[] = [];
  for (const ns of model.namespaces) {
    const inner: ElkNode[] = [];
    for (const name of ns.containers) {
      const c = byName.get(name);
      if (!c) continue;
      inner.push(node(`c:${c.id}`, { kind: 'container', lines: containerLines(c, name === ns.owner ? undefined : ns.owner), ref: c.name, muted: !c.running }, 180));
    }
    if (ns.dns) inner.push(node(`dns:${ns.id}`, { kind: 'dns', lines: ['embedded DNS', ns.dns], ref: ns.id, muted: false }));
    for (const i of ns.interfaces) {
      const id = `if:${ns.id}:${i.name}`;
      inner.push(node(id, { kind: 'iface', lines: [i.name, ...(i.ip ? [i.ip] : [])], ref: i.name, muted: false }));
    }
    const title = `network namespace of ${ns.owner}`;
    nsMeta.set(`ns:${ns.id}`, { title, containers: ns.containers });
    children.push({
      id: `ns:${ns.id}`,
      children: inner,
      layoutOptions: {
        'elk.padding': '[top=28,left=12,bottom=12,right=12]',
        'elk.direction': 'DOWN',
        'elk.spacing.nodeNode': '10',
        // Wide enough for its title, which ELK does not measure.
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${Math.ceil(title.length * CHAR_W) + 28}, 40)`,
      },
    });
    const owner = model.containers.find((c) => c.id === ns.id);
    // Without link data (or for an interface with no veth), connect straight to the network.
    if (ns.interfaces.length === 0 && owner) {
      for (const a of owner.addresses) {
        const net = networks.find((n) => n.name === a.network);
        if (net) edges.push({ id: `e:${ns.id}:${net.id}`, sources: [`c:${owner.id}`], targets: [`net:${net.id}`], labels: [{ text: a.ip }] });
      }
    }
  }
  for (const v of model.veths) {
    const id = `veth:${v.name}`;
    children.push(node(id, { kind: 'veth', lines: [v.name, 'veth (sandbox side)'], ref: v.name, muted: v.namespace === null }));
    if (v.namespace && v.peer) edges.push({ id: `e:${id}:in`, sources: [`if:${v.namespace}:${v.peer}`], targets: [id], labels: [{ text: 'veth pair' }] });
    const net = v.bridge ? netByBridge.get(v.bridge) : undefined;
    if (net) edges.push({ id: `e:${id}:br`, sources: [id], targets: [`net:${net.id}`], labels: [{ text: `port of ${v.bridge ?? ''}` }] });
  }
  for (const ns of model.namespaces) {
    for (const i of ns.interfaces) {
      if (model.veths.some((v) => v.namespace === ns.id && v.peer === i.name)) continue;
      const net = networks.find((n) => n.name === i.network);
      if (net) edges.push({ id: `e:if:${ns.id}:${i.name}`, sources: [`if:${ns.id}:${i.name}`], targets: [`net:${net.id}`], labels: [{ text: '' }] });
    }
  }
  for (const n of networks) children.push(node(`net:${n.id}`, { kind: 'network', lines: networkLines(n), ref: n.name, muted: false }, 200));

  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '48',
      'elk.spacing.nodeNode': '22',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.padding': '[top=16,left=16,bottom=16,right=16]',
      // Edge points in the root's coordinates, whatever node ELK files an edge under.
      'elk.json.edgeCoords': 'ROOT',
    },
    children,
    edges,
  };
  return { graph, meta, namespaces: nsMeta };
}

interface Elk {
  layout(g: ElkNode): Promise<ElkNode>;
}
let elk: Promise<Elk> | undefined;

function loadElk(): Promise<Elk> {
  // elk.bundled.js is CommonJS: its constructor is the module's default export (or, depending on the
  // interop, that default's own default).
  elk ??= import('elkjs/lib/elk.bundled.js').then((m) => {
    const mod: unknown = m.default;
    const Ctor = (typeof mod === 'function' ? mod : (mod as { default: unknown }).default) as new () => Elk;
    return new Ctor();
  });
  return elk;
}

export async function layoutTopology(model: TopologyModel): Promise<Layout> {
  const { graph, meta, namespaces } = toElk(model);
  const laid = await (await loadElk()).layout(graph);
  const boxes: Box[] = [];
  const nsBoxes: NamespaceBox[] = [];
  const walk = (n: ElkNode, ox: number, oy: number): void => {
    for (const c of n.children ?? []) {
      const x = ox + (c.x ?? 0);
      const y = oy + (c.y ?? 0);
      const ns = namespaces.get(c.id);
      if (ns) nsBoxes.push({ id: c.id.slice(3), title: ns.title, containers: ns.containers, x, y, width: c.width ?? 0, height: c.height ?? 0 });
      const m = meta.get(c.id);
      if (m) boxes.push({ id: c.id, ...m, x, y, width: c.width ?? 0, height: c.height ?? 0 });
      walk(c, x, y);
    }
  };
  walk(laid, 0, 0);
  const lines: Line[] = (laid.edges ?? []).map((e: ElkExtendedEdge) => {
    const points = (e.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
    return { id: e.id, points, label: e.labels?.[0]?.text ?? '' };
  });
  return { width: laid.width ?? 0, height: laid.height ?? 0, namespaces: nsBoxes, boxes, lines };
}
