// The topology panel: the live picture of a learner's own stack, from `/ws/topology` (pushed by the
// server on every engine change, parsed with the shared schema), laid out by ELK and drawn as SVG.
// Clicking a container shows its facts and the commands to look for yourself. Works for the learner
// and, read-only, for the instructor (`learnerId`). Reconnects by itself.
import { parseTopologyFrame, type TopologyContainer, type TopologyModel } from '../../shared/topology.ts';
import { h } from '../dom.ts';
import { wsUrl } from '../paths.ts';
import { LINE_H, PAD, layoutTopology, type Box, type Layout } from './topology-layout.ts';

/** Reconnect soon after a close (a sandbox being replaced takes seconds), backing off when nothing is there. */
const RETRY_INITIAL_MS = 1_000;
const RETRY_MAX_MS = 10_000;
/** How long "Copied" shows on a copy button. */
const COPIED_MS = 1_200;

const SVG = 'http://www.w3.org/2000/svg';

export interface TopologyHandle {
  dispose(): void;
}

export interface TopologyOptions {
  labId: string;
  /** Another learner's sandbox (the instructor's view); default the caller's own. */
  learnerId?: string;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (Node | null)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

function text(x: number, y: number, content: string, cls: string): SVGTextElement {
  const t = svg('text', { x, y, class: cls });
  t.textContent = content;
  return t;
}

function drawBox(b: Box, selected: string | undefined, onPick: (name: string) => void, model: TopologyModel): SVGGElement {
  const attrs: Record<string, string> = { class: `topo-box topo-${b.kind}${b.muted ? ' is-muted' : ''}${selected === b.ref && b.kind === 'container' ? ' is-selected' : ''}` };
  if (b.kind === 'container') {
    const c = model.containers.find((x) => x.name === b.ref);
    attrs['data-container'] = b.ref;
    attrs['data-service'] = c?.service ?? '';
    attrs['data-namespace'] = c?.namespace ?? '';
    attrs['data-addresses'] = (c?.addresses ?? []).map((a) => `${a.network}=${a.ip}`).join(',');
    attrs.role = 'button';
    attrs.tabindex = '0';
    attrs['aria-label'] = `container ${b.ref}: show its facts`;
  }
  if (b.kind === 'network') attrs['data-network'] = b.ref;
  if (b.kind === 'veth') attrs['data-veth'] = b.ref;
  const g = svg('g', attrs, svg('rect', { x: b.x, y: b.y, width: b.width, height: b.height, rx: b.kind === 'veth' || b.kind === 'iface' ? 12 : 6 }));
  for (const [i, line] of b.lines.entries()) g.append(text(b.x + PAD, b.y + PAD + 11 + i * LINE_H, line, i === 0 ? 'topo-title' : 'topo-line'));
  if (b.kind === 'container') {
    g.addEventListener('click', () => onPick(b.ref));
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') onPick(b.ref);
    });
  }
  return g;
}

function draw(layout: Layout, model: TopologyModel, selected: string | undefined, onPick: (name: string) => void): SVGSVGElement {
  const root = svg('svg', { class: 'topo-svg', width: Math.ceil(layout.width), height: Math.ceil(layout.height), viewBox: `0 0 ${Math.ceil(layout.width)} ${Math.ceil(layout.height)}`, role: 'img', 'aria-label': 'Network topology of your sandbox' });
  root.append(svg('defs', {}, svg('marker', { id: 'topo-arrow', viewBox: '0 0 8 8', refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto' }, svg('path', { d: 'M0,0 L8,4 L0,8 z', class: 'topo-arrowhead' }))));
  for (const ns of layout.namespaces) {
    root.append(
      svg(
        'g',
        { class: 'topo-ns', 'data-namespace': ns.id, 'data-containers': ns.containers.join(',') },
        svg('rect', { x: ns.x, y: ns.y, width: ns.width, height: ns.height, rx: 10 }),
        text(ns.x + 12, ns.y + 18, ns.title, 'topo-ns-title'),
      ),
    );
  }
  for (const l of layout.lines) {
    if (l.points.length < 2) continue;
    root.append(svg('polyline', { class: 'topo-edge', points: l.points.map((p) => `${p.x},${p.y}`).join(' ') }));
  }
  for (const b of layout.boxes) root.append(drawBox(b, selected, onPick, model));
  return root;
}

function copyButton(label: string, command: string): HTMLElement {
  const btn = h('button', { class: 'code-btn', text: 'Copy', attrs: { type: 'button', 'aria-label': `Copy: ${command}` } });
  const code = h('code', { text: command });
  btn.addEventListener('click', () => {
    void navigator.clipboard.writeText(command).then(
      () => {
        btn.textContent = 'Copied';
        setTimeout(() => (btn.textContent = 'Copy'), COPIED_MS);
      },
      () => getSelection()?.selectAllChildren(code),
    );
  });
  return h('div', { class: 'topo-command' }, h('span', { class: 'muted small', text: label }), code, btn);
}

/** The commands that show what the picture shows, for a container. */
export function inspectCommands(name: string): { inspect: string; nsenter: string } {
  return { inspect: `docker inspect ${name}`, nsenter: `nsenter -t $(docker inspect -f '{{.State.Pid}}' ${name}) -n ip addr` };
}

function details(c: TopologyContainer, model: TopologyModel, onClose: () => void): HTMLElement {
  const ns = model.namespaces.find((n) => n.id === c.namespace);
  const rows: [string, string][] = [
    ['name', c.name],
    ['id', c.id.slice(0, 12)],
    ['image', c.image],
    ['compose service', c.service ? `${c.service} (project ${c.project ?? '?'})` : '—'],
    ['state', c.running ? `${c.state}, pid ${c.pid} in the sandbox` : c.state],
    ['network mode', c.networkMode || '—'],
    ['namespace', ns ? `${ns.owner}'s${ns.containers.length > 1 ? `, shared with ${ns.containers.filter((n) => n !== c.name).join(', ')}` : ''}` : '—'],
    ...c.addresses.map((a): [string, string] => [`on ${a.network}`, `${a.ip}${a.prefixLen ? `/${a.prefixLen}` : ''} via ${a.gateway ?? '—'}, MAC ${a.mac ?? '—'}`]),
    ...c.ports.map((p): [string, string] => ['published', `${p.hostIp ?? ''}:${p.hostPort} → ${p.containerPort}/${p.proto}`]),
    ...(ns?.dns ? [['DNS', `${ns.dns} (Docker's embedded DNS)`] as [string, string]] : []),
  ];
  const cmds = inspectCommands(c.name);
  return h(
    'section',
    { class: 'topo-details', attrs: { 'aria-label': `Facts of ${c.name}`, 'data-details': c.name } },
    h('div', { class: 'topo-details-head' }, h('strong', { text: c.name }), h('button', { class: 'code-btn', text: 'Close', attrs: { type: 'button' }, on: { click: onClose } })),
    h('dl', {}, ...rows.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])),
    copyButton('see it yourself', cmds.inspect),
    copyButton('its interfaces, from inside its namespace', cmds.nsenter),
  );
}

export function mountTopology(el: HTMLElement, opts: TopologyOptions): TopologyHandle {
  const status = h('div', { class: 'topo-status', attrs: { role: 'status', 'aria-live': 'polite' }, text: 'Connecting…' });
  const canvas = h('div', { class: 'topo-canvas' });
  const side = h('div', { class: 'topo-side' });
  const root = h('div', { class: 'topology', attrs: { 'data-topology': '' } }, status, canvas, side);
  el.replaceChildren(root);

  let model: TopologyModel | undefined;
  let layout: Layout | undefined;
  let selected: string | undefined;
  let socket: WebSocket | undefined;
  let retryMs = RETRY_INITIAL_MS;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  /** Layouts finish out of order; only the newest model's is drawn. */
  let generation = 0;

  const paint = (): void => {
    if (!model || !layout) return;
    const m = model;
    canvas.replaceChildren(
      draw(layout, m, selected, (name) => {
        selected = selected === name ? undefined : name;
        paint();
      }),
    );
    const c = selected ? m.containers.find((x) => x.name === selected) : undefined;
    const unselect = (): void => {
      selected = undefined;
      paint();
    };
    side.replaceChildren(...(c ? [details(c, m, unselect)] : []));
    const n = m.containers.length;
    const nets = layout.boxes.filter((b) => b.kind === 'network').length;
    status.textContent = n === 0 ? 'No containers yet: start your stack (for example `docker compose up -d`) and it appears here.' : `${n} container${n === 1 ? '' : 's'} · ${m.namespaces.length} namespace${m.namespaces.length === 1 ? '' : 's'} · ${nets} network${nets === 1 ? '' : 's'}`;
    if (m.notes.length) status.textContent += ` — ${m.notes.join('; ')}`;
    root.setAttribute('data-updated', String(m.at));
  };

  const show = async (m: TopologyModel): Promise<void> => {
    const gen = ++generation;
    const laid = await layoutTopology(m);
    if (gen !== generation || disposed) return;
    model = m;
    layout = laid;
    if (selected && !m.containers.some((c) => c.name === selected)) selected = undefined;
    paint();
  };

  const connect = (): void => {
    retry = undefined;
    const q = `lab=${encodeURIComponent(opts.labId)}${opts.learnerId ? `&learner=${encodeURIComponent(opts.learnerId)}` : ''}`;
    const ws = new WebSocket(wsUrl(`/ws/topology?${q}`));
    socket = ws;
    ws.onmessage = (ev: MessageEvent<unknown>) => {
      const f = parseTopologyFrame(typeof ev.data === 'string' ? ev.data : '');
      if (!f) return;
      retryMs = RETRY_INITIAL_MS;
      if (f.type === 'unavailable') status.textContent = f.message;
      else
        show(f.model).catch((err: unknown) => {
          status.textContent = `The picture could not be laid out: ${err instanceof Error ? err.message : String(err)}`;
        });
    };
    ws.onclose = (ev) => {
      if (disposed || socket !== ws) return;
      if (ev.code === 4403 || ev.code === 4401) {
        status.textContent = `Closed: ${ev.reason || 'not allowed'}`;
        return;
      }
      if (ev.reason) status.textContent = `${ev.reason} — reconnecting…`;
      retry = setTimeout(connect, retryMs);
      retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
    };
  };
  connect();

  return {
    dispose: () => {
      disposed = true;
      clearTimeout(retry);
      socket?.close(1000);
      el.replaceChildren();
    },
  };
}
