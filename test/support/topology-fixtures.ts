// Engine answers for topology tests without Docker, shaped like what a sandbox's inner engine and
// `ip -j link` print (written for these tests, modelled on a real sandbox's output): the seed stack
// with two nginx on one network, or nginx_b living in nginx_a's namespace.
import type { EngineSnapshot } from '../../server/sandbox/sandbox.ts';

export const NET_ID = 'a55d333643b1a9acdcd83e59426c0f7261e2fd844937f285cd2e900077d2bba6';
export const A_ID = '3185ee8c03a2190dff8c023db718f0b4fb6b4811f338b03923e4cb56b3924d6d';
export const B_ID = '9f3bc0900d2c4b9b257705128f53ec08b9ccd7113e6b213dbde4cda3e9fc7801';

const networks = [
  { Id: 'b0a1', Name: 'bridge', Driver: 'bridge', Options: { 'com.docker.network.bridge.name': 'docker0' }, IPAM: { Config: [{ Subnet: '10.200.0.0/24', Gateway: '10.200.0.1' }] } },
  { Id: 'h0', Name: 'host', Driver: 'host', IPAM: { Config: [] } },
  { Id: 'n0', Name: 'none', Driver: 'null', IPAM: { Config: [] } },
  { Id: NET_ID, Name: 'linuxnetworks_default', Driver: 'bridge', Options: {}, IPAM: { Config: [{ Subnet: '10.201.0.0/24', Gateway: '10.201.0.1' }] } },
];

function inspect(id: string, name: string, service: string, pid: number, mode: string, nets: Record<string, { ip: string; mac: string }>, ports: Record<string, { HostIp: string; HostPort: string }[]> = {}): unknown {
  return {
    Id: id,
    Name: `/${name}`,
    State: { Status: 'running', Running: true, Pid: pid },
    Config: { Image: 'nginx:latest', Labels: { 'com.docker.compose.project': 'linuxnetworks', 'com.docker.compose.service': service } },
    HostConfig: { NetworkMode: mode },
    NetworkSettings: {
      Networks: Object.fromEntries(Object.entries(nets).map(([n, v]) => [n, { IPAddress: v.ip, IPPrefixLen: 24, Gateway: '10.201.0.1', MacAddress: v.mac, NetworkID: NET_ID }])),
      Ports: ports,
    },
  };
}

/** `docker compose up -d` of the seed stack: nginx_a (8080→80) and nginx_b, each in its own namespace. */
export function seedSnapshot(): EngineSnapshot {
  return {
    networks,
    containers: [
      inspect(A_ID, 'linuxnetworks-nginx_a-1', 'nginx_a', 302, 'linuxnetworks_default', { linuxnetworks_default: { ip: '10.201.0.2', mac: '02:42:0a:c9:00:02' } }, {
        '80/tcp': [
          { HostIp: '0.0.0.0', HostPort: '8080' },
          { HostIp: '::', HostPort: '8080' },
        ],
      }),
      inspect(B_ID, 'linuxnetworks-nginx_b-1', 'nginx_b', 293, 'linuxnetworks_default', { linuxnetworks_default: { ip: '10.201.0.3', mac: '02:42:0a:c9:00:03' } }),
    ],
  };
}

/** The network_mode variant: nginx_b joins nginx_a's namespace and has no network of its own. */
export function sharedSnapshot(): EngineSnapshot {
  return {
    networks,
    containers: [
      inspect(A_ID, 'linuxnetworks-nginx_a-1', 'nginx_a', 560, 'linuxnetworks_default', { linuxnetworks_default: { ip: '10.201.0.2', mac: '02:42:0a:c9:00:02' } }),
      inspect(B_ID, 'linuxnetworks-nginx_b-1', 'nginx_b', 624, `container:${A_ID}`, {}),
    ],
  };
}

const lo = { ifindex: 1, ifname: 'lo', link_type: 'loopback', address: '00:00:00:00:00:00' };

/** What links.ts's script prints in a sandbox running seedSnapshot(). */
export function seedLinksOutput(): string {
  const host = [
    lo,
    { ifindex: 2, ifname: 'docker0', link_type: 'ether', address: '02:42:9a:65:39:a4' },
    { ifindex: 3, ifname: 'br-a55d333643b1', link_type: 'ether', address: '02:42:68:84:be:72' },
    { ifindex: 5, link_index: 4, ifname: 'veth3dd09e5', master: 'br-a55d333643b1', link_type: 'ether', address: 'aa:1b:00:00:00:01', link_netnsid: 1 },
    { ifindex: 7, link_index: 6, ifname: 'vethb1e2f30', master: 'br-a55d333643b1', link_type: 'ether', address: 'aa:1b:00:00:00:02', link_netnsid: 2 },
  ];
  const a = [lo, { ifindex: 4, link_index: 5, ifname: 'eth0', link_type: 'ether', address: '02:42:0a:c9:00:02', link_netnsid: 0 }];
  const b = [lo, { ifindex: 6, link_index: 7, ifname: 'eth0', link_type: 'ether', address: '02:42:0a:c9:00:03', link_netnsid: 0 }];
  return `${JSON.stringify(host)}\n\n@@pid 302\n${JSON.stringify(a)}\n\n@@pid 293\n${JSON.stringify(b)}\n`;
}
