// Networks that span hosts: pool slices (disjoint, covering), the MTU over VXLAN, and the
// validation of node settings and VXLAN destinations.
import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../../dataplane/ip.js';
import type { Address, Link } from '../../../dataplane/types.js';
import { DesiredState, type Network } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { networkMtu } from '../../../agent/desired/mtu.js';
import { subnetOf } from '../../../agent/desired/subnets.js';
import { validateDesiredState } from '../../../agent/desired/validate.js';
import { poolRanges, servedPools, sliceRanges } from '../../../agent/ipam/pools.js';
import { dhcpConfigOf } from '../../../agent/dhcp/config.js';
import { assignAddresses } from '../../../agent/ipam/assignments.js';

const vxlanNet = (vx: Record<string, unknown>, extra: Record<string, unknown> = {}): DesiredState => DesiredState.fromJSON({
  networks: [{ name: 'span', ipFamily: 'IPV4', cidr: '10.60.0.0/24', gateway: '10.60.0.1', gatewayOnBridge: true,
    uplink: { vxlan: { vni: 60, local: '10.0.0.1', ...vx } }, ...extra }],
});
const rules = (s: DesiredState): string[] => validateDesiredState(s).map((v) => `${v.path} ${v.rule}`);

describe('pool slices', () => {
  it('cut the pools into disjoint slices that together cover them, across range boundaries', () => {
    const ranges = [{ start: 10n, end: 19n }, { start: 30n, end: 34n }]; // 15 addresses
    const parts = [0, 1, 2].map((index) => sliceRanges(ranges, { index, count: 3 }));
    expect(parts).toEqual([[{ start: 10n, end: 14n }], [{ start: 15n, end: 19n }], [{ start: 30n, end: 34n }]]);
    const two = [0, 1].map((index) => sliceRanges(ranges, { index, count: 2 }));
    expect(two).toEqual([[{ start: 10n, end: 16n }], [{ start: 17n, end: 19n }, { start: 30n, end: 34n }]]);
    expect(sliceRanges([{ start: 1n, end: 2n }], { index: 0, count: 3 })).toEqual([]);
  });

  it('give each host its own DHCP pool and auto addresses from the same network definition', () => {
    const base = DesiredState.fromJSON({
      networks: [{ name: 'span', ipFamily: 'IPV4', cidr: '10.60.0.0/24', gateway: '10.60.0.1', gatewayOnBridge: true,
        uplink: { vxlan: { vni: 60, local: '10.0.0.1', remotes: ['10.0.0.2'] } },
        dhcp: { enabled: true, pools: [{ start: '10.60.0.10', end: '10.60.0.39' }] } }],
      attachments: [{ name: 'w', network: 'span', veth: { ifName: 'hv-w', peerNetns: '/run/netns/w', peerIfName: 'eth0' }, ip: { auto: {} } }],
    });
    const pools = [0, 1, 2].map((index) => {
      const s = DesiredState.fromJSON({ ...DesiredState.toJSON(base) as object, node: { poolSlice: { index, count: 3 } } });
      expect(rules(s)).toEqual([]);
      const got = assignAddresses(s, {}, () => []);
      const cfg = dhcpConfigOf(s.networks[0]!, { assignments: got, node: s.node, mtu: 1450 })!;
      const [lo, hi] = [cfg.pools![0]!.start, cfg.pools![0]!.end];
      const auto = got.of('w')!.addresses[0]!.ip;
      const n = (ip: string): number => Number(ip.split('.')[3]);
      expect(n(auto)).toBeGreaterThanOrEqual(n(lo));
      expect(n(auto)).toBeLessThanOrEqual(n(hi));
      return `${lo}-${hi}`;
    });
    expect(pools).toEqual(['10.60.0.10-10.60.0.19', '10.60.0.20-10.60.0.29', '10.60.0.30-10.60.0.39']);
  });

  it('without pools, slice every host address of the CIDR', () => {
    const n = vxlanNet({ remotes: ['10.0.0.2'] }).networks[0]!;
    const subnet = subnetOf(n, 4)!;
    const cidr = parseCidr(n.cidr)!;
    expect(poolRanges(subnet, cidr)).toHaveLength(1);
    expect(servedPools(subnet, cidr, { index: 1, count: 2 })).toEqual([{ start: '10.60.0.128', end: '10.60.0.254' }]);
  });
});

describe('MTU over VXLAN', () => {
  const link = (name: string, index: number, mtu: number): Link => ({
    index, name, kind: 'veth', mtu, mac: null, alias: null, group: 0, up: true, lowerUp: true, operState: 'up', masterIndex: null, linkIndex: null,
  });
  const addr = (index: number, cidr: string): Address => ({ index, dev: '', family: cidr.includes(':') ? 6 : 4, cidr, scope: 0, flags: 0, protocol: 0 });
  const net = (vx: Record<string, unknown>, mtu?: number): Network => vxlanNet(vx, mtu ? { mtu } : {}).networks[0]!;

  it('is the underlay MTU minus 50 over IPv4, 70 over IPv6, found by the local address or the device', () => {
    const view = { links: [link('eth0', 2, 9000), link('eth1', 3, 1600)], addresses: [addr(2, '10.0.0.1/24'), addr(3, 'fd00::1/64')] };
    expect(networkMtu(net({ remotes: ['10.0.0.2'] }), view)).toBe(8950);
    expect(networkMtu(net({ local: 'fd00::1', remotes: ['fd00::2'] }), view)).toBe(1530);
    expect(networkMtu(net({ local: '', device: 'eth1', group: '239.1.1.1' }), view)).toBe(1550);
    expect(networkMtu(net({ remotes: ['10.0.0.2'] }), { links: [], addresses: [] })).toBe(1450);
    expect(networkMtu(net({ remotes: ['10.0.0.2'] }, 1400), view)).toBe(1400);
  });

  it('is told to DHCP clients (option 26) when it is not 1500', () => {
    const s = vxlanNet({ remotes: ['10.0.0.2'] }, { dhcp: { enabled: true } });
    s.node = { poolSlice: { index: 0, count: 1 }, bgp: undefined };
    expect(dhcpConfigOf(s.networks[0]!, { assignments: assignAddresses(s, {}, () => []), node: s.node, mtu: 8950 })!.mtu).toBe(8950);
  });
});

describe('validation of networks across hosts', () => {
  it('refuses a VXLAN network that hands out addresses without a pool slice, naming the fix', () => {
    const s = vxlanNet({ remotes: ['10.0.0.2'] }, { dhcp: { enabled: true } });
    const v = validateDesiredState(s);
    expect(v.map((x) => x.rule)).toEqual(['pool-slice-required']);
    expect(v[0]!.message).toMatch(/node\.poolSlice/);
  });

  it('checks flood lists, EVPN, BGP and the slice', () => {
    expect(rules(vxlanNet({ remotes: ['10.0.0.2', '10.0.0.2', '239.1.1.1', '10.0.0.1', 'x'] }))).toEqual([
      'networks[0].uplink.vxlan.remotes[1] vxlan-remote-unique',
      'networks[0].uplink.vxlan.remotes[2] vxlan-remote-unicast',
      'networks[0].uplink.vxlan.remotes[3] vxlan-remote-local',
      'networks[0].uplink.vxlan.remotes[4] ip-format',
    ]);
    expect(rules(vxlanNet({ remote: '10.0.0.2', remotes: ['10.0.0.3'] }))).toEqual(['networks[0].uplink.vxlan vxlan-destination']);
    expect(rules(vxlanNet({ evpn: true }))).toEqual(['networks[0].uplink.vxlan.evpn vxlan-evpn-bgp']);
    const s = vxlanNet({ evpn: true });
    s.node = { bgp: { asn: 0, routerId: 'fd00::1', peers: [{ address: '10.0.0.2', asn: 65000, description: '' }, { address: '10.0.0.2', asn: 65000, description: 'a!b' }] }, poolSlice: { index: 3, count: 3 } };
    expect(rules(s)).toEqual([
      'node.bgp.asn bgp-asn-range', 'node.bgp.routerId bgp-router-id',
      'node.bgp.peers[1].address bgp-peer-unique', 'node.bgp.peers[1].description bgp-description', 'node.poolSlice pool-slice-range',
    ]);
  });
});
