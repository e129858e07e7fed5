// The topology model from engine answers (no Docker): networks with their bridges, addresses per
// network, one namespace box per namespace (shared with network_mode: service:), the embedded DNS on
// user-defined networks, and veth ends matched to their namespace by the peer's ifindex.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTopology } from '../../server/topology/build-model.ts';
import { linksScript, parseLinksOutput } from '../../server/topology/links.ts';
import { TopologyModel } from '../../shared/topology.ts';
import { A_ID, B_ID, seedLinksOutput, seedSnapshot, sharedSnapshot } from '../support/topology-fixtures.ts';

test('the seed stack: one user network with its bridge, two namespaces, each with DNS, an address and a veth on the bridge', () => {
  const m = TopologyModel.parse(buildTopology('linuxnetworks', seedSnapshot(), parseLinksOutput(seedLinksOutput()), 1));
  const net = m.networks.find((n) => n.name === 'linuxnetworks_default');
  assert.deepEqual(net && { subnet: net.subnet, gateway: net.gateway, bridge: net.bridge, builtIn: net.builtIn }, { subnet: '10.201.0.0/24', gateway: '10.201.0.1', bridge: 'br-a55d333643b1', builtIn: false });
  assert.equal(m.networks.find((n) => n.name === 'bridge')?.bridge, 'docker0');
  assert.equal(m.networks[0]?.name, 'linuxnetworks_default', 'the lab\'s own networks come before the built-in ones');
  const a = m.containers.find((c) => c.service === 'nginx_a');
  assert.deepEqual(a?.addresses.map((x) => `${x.network}=${x.ip}/${x.prefixLen}`), ['linuxnetworks_default=10.201.0.2/24']);
  assert.deepEqual(a?.ports, [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, proto: 'tcp' }], 'one entry per mapping, not one per address family');
  assert.equal(m.namespaces.length, 2);
  for (const ns of m.namespaces) assert.equal(ns.dns, '127.0.0.11', `${ns.owner} is on a user-defined network`);
  const nsA = m.namespaces.find((n) => n.id === A_ID);
  assert.deepEqual(nsA?.interfaces, [{ name: 'eth0', ifindex: 4, peerIfindex: 5, network: 'linuxnetworks_default', ip: '10.201.0.2' }]);
  assert.deepEqual(
    m.veths.map((v) => [v.name, v.bridge, v.namespace, v.peer]),
    [
      ['veth3dd09e5', 'br-a55d333643b1', A_ID, 'eth0'],
      ['vethb1e2f30', 'br-a55d333643b1', B_ID, 'eth0'],
    ],
  );
});

test('network_mode service: both containers in one namespace box, the owner first, the guest without an address', () => {
  const m = buildTopology('linuxnetworks', sharedSnapshot(), undefined, 1, ['veth ends are not shown: test']);
  assert.equal(m.namespaces.length, 1);
  assert.deepEqual(m.namespaces[0]?.containers, ['linuxnetworks-nginx_a-1', 'linuxnetworks-nginx_b-1']);
  const b = m.containers.find((c) => c.service === 'nginx_b');
  assert.equal(b?.namespace, A_ID);
  assert.deepEqual(b?.addresses, []);
  assert.deepEqual(m.veths, [], 'no links read, no veths invented');
  assert.deepEqual(m.notes, ['veth ends are not shown: test']);
});

test('a container only on the default bridge gets no embedded DNS; a stopped one has no pid', () => {
  const snap = seedSnapshot();
  const raw = snap.containers[1] as { NetworkSettings: { Networks: Record<string, unknown> }; State: { Running: boolean; Status: string } };
  raw.NetworkSettings.Networks = { bridge: { IPAddress: '10.200.0.5', IPPrefixLen: 24, Gateway: '10.200.0.1', MacAddress: '02:42:0a:c8:00:05' } };
  raw.State.Running = false;
  raw.State.Status = 'exited';
  const m = buildTopology('linuxnetworks', snap, undefined, 1);
  assert.equal(m.namespaces.find((n) => n.id === B_ID)?.dns, null);
  assert.equal(m.containers.find((c) => c.id === B_ID)?.pid, 0);
});

test('links output: the sandbox list, then one list per pid; an unreadable namespace is skipped, an unreadable sandbox list is an error', () => {
  const links = parseLinksOutput(`${seedLinksOutput()}\n@@pid 999\nnull\n`);
  assert.equal(links.host.length, 5);
  assert.deepEqual([...links.byPid.keys()], [302, 293]);
  assert.throws(() => parseLinksOutput('bash: ip: command not found\n'), /not its JSON link list/);
  assert.deepEqual(linksScript([1, 2]).slice(-2), ['1', '2'], 'pids go as arguments, never into the script text');
});
