// Legibility of the topology panel at the top of its range, in real Chromium over the in-memory driver:
// 20 containers on 5 networks (some sharing a namespace, some on two networks, ports published) are
// all drawn, no two boxes overlap, and every line of text fits inside its box. A screenshot is saved
// in test/artifacts/ for a person to look at.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { EngineSnapshot } from '../../server/sandbox/sandbox.ts';
import { FAKE_LAB, startFakeServer } from '../support/fake-server.ts';
import { collectErrors, launchBrowser } from '../support/browser.ts';
import { requireChromium } from '../support/require.ts';

const ARTIFACTS = path.resolve('test/artifacts');
const NETWORKS = 5;
const CONTAINERS = 20;

const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0');

/** A stack of CONTAINERS containers on NETWORKS networks, and what the sandbox's links script prints for it. */
function bigStack(): { snapshot: EngineSnapshot; links: string } {
  const nets = Array.from({ length: NETWORKS }, (_, i) => ({ Id: `${hex(i + 1, 12)}${'a'.repeat(52)}`, Name: `fixture_net${i + 1}`, Driver: 'bridge', Options: {}, IPAM: { Config: [{ Subnet: `10.201.${i + 1}.0/24`, Gateway: `10.201.${i + 1}.1` }] } }));
  const host: unknown[] = [{ ifindex: 1, ifname: 'lo', link_type: 'loopback' }];
  const inside: string[] = [];
  const containers: unknown[] = [];
  let ifindex = 100;
  for (let i = 0; i < CONTAINERS; i++) {
    const id = `${hex(i + 1, 8)}${'c'.repeat(56)}`;
    const pid = 1000 + i;
    // Every fifth container lives in the namespace of the one before it.
    const guest = i % 5 === 4;
    const onNets = guest ? [] : i % 3 === 0 ? [i % NETWORKS, (i + 1) % NETWORKS] : [i % NETWORKS];
    const networks: Record<string, unknown> = {};
    const links: unknown[] = [{ ifindex: 1, ifname: 'lo', link_type: 'loopback' }];
    onNets.forEach((n, k) => {
      const net = nets[n];
      if (!net) return;
      const mac = `02:42:0a:c9:${hex(n, 2)}:${hex(i + 2, 2)}`;
      networks[net.Name] = { IPAddress: `10.201.${n + 1}.${i + 2}`, IPPrefixLen: 24, Gateway: `10.201.${n + 1}.1`, MacAddress: mac };
      const inner = ifindex++;
      const outer = ifindex++;
      links.push({ ifindex: inner, link_index: outer, ifname: `eth${k}`, link_type: 'ether', address: mac });
      host.push({ ifindex: outer, link_index: inner, ifname: `veth${hex(i, 3)}${k}`, master: `br-${net.Id.slice(0, 12)}`, link_type: 'ether' });
    });
    containers.push({
      Id: id,
      Name: `/fixture-svc${String(i + 1).padStart(2, '0')}-1`,
      State: { Status: 'running', Running: true, Pid: pid },
      Config: { Image: 'nginx:latest', Labels: { 'com.docker.compose.project': 'fixture', 'com.docker.compose.service': `svc${String(i + 1).padStart(2, '0')}` } },
      HostConfig: { NetworkMode: guest ? `container:${hex(i, 8)}${'c'.repeat(56)}` : (nets[onNets[0] ?? 0]?.Name ?? '') },
      NetworkSettings: { Networks: networks, Ports: i % 4 === 0 ? { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(8080 + i) }] } : {} },
    });
    if (!guest) inside.push(`\n@@pid ${pid}\n${JSON.stringify(links)}\n`);
  }
  return { snapshot: { containers, networks: [{ Id: 'b0', Name: 'bridge', Driver: 'bridge', Options: { 'com.docker.network.bridge.name': 'docker0' }, IPAM: { Config: [] } }, ...nets] }, links: `${JSON.stringify(host)}\n${inside.join('')}` };
}

test('20 containers on 5 networks: every one drawn, no boxes overlapping, all text inside its box', async (t) => {
  if (!requireChromium(t)) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  const { server, driver } = await startFakeServer(t);
  const stack = bigStack();
  driver.snapshot = stack.snapshot;
  driver.onExec = (req) => (req.argv[3] === 'links' ? { stdout: stack.links } : {});
  const browser = await launchBrowser(t);
  const page = await (await browser.newContext({ viewport: { width: 1500, height: 1000 } })).newPage();
  const errors: string[] = [];
  collectErrors(page, errors, { console: false });
  await page.goto(`${server.url}/?token=unit-token-0123456789abcdef`);
  await page.goto(`${server.url}/labs/${FAKE_LAB}`);
  await page.locator('.ws-tab-label[data-tab="topology"]').click();
  await page.locator('.topology g[data-container]').nth(CONTAINERS - 1).waitFor({ timeout: 30_000 });

  const drawn = await page.evaluate(() => {
    const boxes = [...document.querySelectorAll<SVGGElement>('.topology g.topo-box')].map((g) => {
      const r = g.querySelector('rect')?.getBBox();
      const texts = [...g.querySelectorAll('text')].map((x) => x.getBBox());
      return { id: g.getAttribute('data-container') ?? g.getAttribute('data-network') ?? g.getAttribute('data-veth') ?? g.className.baseVal, r: r && { x: r.x, y: r.y, w: r.width, h: r.height }, texts: texts.map((b) => ({ x: b.x, y: b.y, w: b.width, h: b.height })) };
    });
    const titles = [...document.querySelectorAll<SVGGElement>('.topology g.topo-ns')].map((g) => {
      const r = g.querySelector('rect')?.getBBox();
      const tb = g.querySelector('text')?.getBBox();
      return { id: g.getAttribute('data-namespace') ?? '', fits: !!r && !!tb && tb.x + tb.width <= r.x + r.width };
    });
    return { boxes, titles, networks: document.querySelectorAll('.topology g[data-network]').length, namespaces: document.querySelectorAll('.topology g.topo-ns').length };
  });
  assert.equal(drawn.boxes.filter((b) => /^fixture-svc/.test(b.id)).length, CONTAINERS);
  assert.equal(drawn.networks, NETWORKS, 'the lab\'s five networks (the unused default bridge is left out)');
  assert.equal(drawn.namespaces, CONTAINERS - CONTAINERS / 5, 'guests share their host\'s box');
  const overlaps: string[] = [];
  const outside: string[] = [];
  for (const [i, a] of drawn.boxes.entries()) {
    if (!a.r) continue;
    for (const b of drawn.boxes.slice(i + 1)) {
      if (!b.r) continue;
      if (a.r.x < b.r.x + b.r.w && b.r.x < a.r.x + a.r.w && a.r.y < b.r.y + b.r.h && b.r.y < a.r.y + a.r.h) overlaps.push(`${a.id} × ${b.id}`);
    }
    for (const tb of a.texts) if (tb.x < a.r.x || tb.x + tb.w > a.r.x + a.r.w + 0.5 || tb.y < a.r.y || tb.y + tb.h > a.r.y + a.r.h + 0.5) outside.push(a.id);
  }
  assert.deepEqual(overlaps, [], 'boxes overlap');
  assert.deepEqual([...new Set(outside)], [], 'text runs out of its box');
  assert.deepEqual(drawn.titles.filter((x) => !x.fits).map((x) => x.id), [], 'a namespace title runs out of its box');
  await page.screenshot({ path: path.join(ARTIFACTS, 'topology-20-containers.png'), fullPage: true });
  await page.locator('.topo-canvas').screenshot({ path: path.join(ARTIFACTS, 'topology-20-containers-canvas.png') });
  assert.deepEqual(errors, []);
});
