// IPv6 on routed networks (issue 13, agent/routed/ipv6.ts), pure parts: the /128 host routes
// (static, auto, and the SLAAC address formed from the MAC when the prefix is advertised with the
// A flag), their planning next to the /32s, the devices' IPv6 switches, the router
// advertisements per routed device (prefix not on-link), the workload's /128 and default route
// via the host device's link-local address, validation, and FRR's ipv6 unicast family.
import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import type { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { validateDesiredState } from '../../../agent/desired/validate.js';
import { routedGatewayOf } from '../../../agent/desired/routed.js';
import { renderFrrConfig } from '../../../agent/frr/config.js';
import { advertisementTargets } from '../../../agent/ra/config.js';
import { hostRouteDestination, routedHostRoutes } from '../../../agent/routed/host-routes.js';
import { HOSTNET_ROUTE_PROTO, isHostnetHostRoute, planHostRoutes, routedDevices, routedSysctls } from '../../../agent/routed/plan.js';
import { peerWanted } from '../../../agent/workload/peer-plan.js';
import type { AttachmentAddressing } from '../../../agent/ipam/assignments.js';
import type { Link, Route } from '../../../dataplane/types.js';
import { routedDhcp6Targets } from '../../../agent/dhcp/routed6.js';
import { RoutedParticipant } from '../../../agent/routed/participant.js';
import type { PassContext } from '../../../agent/reconcile/participant.js';
import type { RouteSpec } from '../../../dataplane/types.js';

const yaml = (ipv6: string, extra = ''): string => `
networks:
  - name: pub
    mode: ROUTED
    ipFamily: IPV4
    cidr: 10.95.0.0/24
    ipv6: ${ipv6}
${extra}
attachments:
  - { name: r1, network: pub, mac: "52:54:00:95:00:01", veth: { ifName: hv-r1, peerNetns: /var/run/netns/r1, peerIfName: eth0 }, ip: { static: 10.95.0.11, addresses: [{ static: "fd00:95::11" }] } }
  - { name: r2, network: pub, tap: { ifName: tap-r2 }, mac: "52:54:00:95:00:02", mtu: 9000 }
`;
const SLAAC = parseDesiredState(yaml('{ cidr: "fd00:95::/64" }'));
const STATEFUL = parseDesiredState(yaml('{ cidr: "fd00:95::/64", ipv6Mode: DHCPV6_STATEFUL, dhcp: { enabled: true, pools: [{ start: "fd00:95::100", end: "fd00:95::1ff" }] } }'));
const ADDRS = {
  assigned: (a: { name: string }) => (a.name === 'r1' ? ['10.95.0.11', 'fd00:95::11'] : []),
  leased: (_n: string, mac: string) => (mac === '52:54:00:95:00:02' ? ['10.95.0.20'] : []),
};
const link = (name: string, index: number): Link => ({
  index, name, kind: 'veth', mtu: 1500, mac: null, alias: null, group: 0, up: true, lowerUp: true, operState: 'UP', masterIndex: null, linkIndex: null,
});
const route6 = (dst: string, dev: string, protocol = HOSTNET_ROUTE_PROTO): Route =>
  ({ family: 6, destination: dst, via: null, dev, protocol, table: 254, metric: 1024, scope: 0, type: 1 });

function violations(state: DesiredState): string[] {
  return validateDesiredState(state).map((v) => `${v.path} ${v.rule}`);
}

describe('routed host routes with IPv6', () => {
  it('a /128 per IPv6 address: static, and the EUI-64 address SLAAC forms from each MAC', () => {
    const routes = routedHostRoutes(SLAAC, ADDRS);
    expect(routes.map((r) => `${hostRouteDestination(r)} ${r.dev}`)).toEqual([
      '10.95.0.11/32 hv-r1', 'fd00:95::11/128 hv-r1', 'fd00:95::5054:ff:fe95:1/128 hv-r1',
      '10.95.0.20/32 tap-r2', 'fd00:95::5054:ff:fe95:2/128 tap-r2',
    ]);
  });

  it('no SLAAC address without an IPv6 subnet', () => {
    const v4 = parseDesiredState(yaml('null').replace('    ipv6: null\n', ''));
    expect(routedHostRoutes(v4, ADDRS).map((r) => r.ip)).toEqual(['10.95.0.11', 'fd00:95::11', '10.95.0.20']);
  });

  it('plans /128s like /32s: only protocol 104, only what nobody wants is removed', () => {
    const routes = routedHostRoutes(SLAAC, ADDRS);
    const present = [route6('fd00:95::11/128', 'hv-r1'), route6('fd00:95::99/128', 'hv-r9'), route6('fd00:95::98/128', 'hv-r9', 4)];
    const mine = present.filter(isHostnetHostRoute);
    expect(mine.map((r) => r.destination)).toEqual(['fd00:95::11/128', 'fd00:95::99/128']);
    // Not a host route: a /64, or one with a gateway.
    expect(isHostnetHostRoute(route6('fd00:95::/64', 'hv-r1'))).toBe(false);
    expect(isHostnetHostRoute({ ...route6('fd00:95::1/128', 'hv-r1'), via: 'fe80::1' })).toBe(false);
    const p = planHostRoutes(routes, [link('hv-r1', 10), link('tap-r2', 11)], mine, true);
    expect(p.add.map(hostRouteDestination)).toEqual(['10.95.0.11/32', 'fd00:95::5054:ff:fe95:1/128', '10.95.0.20/32', 'fd00:95::5054:ff:fe95:2/128']);
    expect(p.remove.map((r) => r.destination)).toEqual(['fd00:95::99/128']);
  });

  it('a device of a network with IPv6 gets forwarding, force_forwarding and accept_ra 0', () => {
    expect(routedDevices(SLAAC).map((d) => `${d.dev} ${d.ipv6}`)).toEqual(['hv-r1 true', 'tap-r2 true']);
    expect(routedSysctls('hv-r1', true).slice(3)).toEqual([
      ['net/ipv6/conf/hv-r1/forwarding', '1'], ['net/ipv6/conf/hv-r1/force_forwarding', '1'], ['net/ipv6/conf/hv-r1/accept_ra', '0'],
    ]);
    expect(routedSysctls('hv-r1')).toHaveLength(3);
  });
});

describe('RoutedParticipant with IPv6', () => {
  /** `force`: whether the kernel has force_forwarding (Linux 6.17+). */
  async function run(force: boolean) {
    const kernel = new Map<string, Route>();
    const writes: Array<readonly [string, string]> = [];
    const p = new RoutedParticipant({
      dp: {
        listRoutes: async () => [...kernel.values()],
        addRoute: async (x: RouteSpec) => void kernel.set(x.destination, { ...route6(x.destination, x.dev!), family: x.destination.includes(':') ? 6 : 4 }),
        deleteRoute: async (x: RouteSpec) => void kernel.delete(x.destination),
        watch: async () => ({ close() {}, pause() {}, resume() {}, flush: async () => true }),
      },
      sysctl: {
        // The kernel's defaults: forwarding off, accept_ra 1.
        read: async (keys) => new Map(keys.map((k) => [k, k.endsWith('force_forwarding') && !force ? null : k.endsWith('accept_ra') ? '1' : '0'])),
        write: async (values) => void writes.push(...values),
      },
      addresses: () => ADDRS,
      onDrift: () => {},
    });
    const c = { desired: SLAAC, observed: { links: [link('hv-r1', 10), link('tap-r2', 11)], addresses: [], routes: [], neighbours: [] }, holdTeardown: false, refresh: false, held: new Map() } as unknown as PassContext;
    const plan = await p.plan(c);
    const outcome = await p.apply(plan, c);
    const report = p.report(c, [...plan.problems, ...outcome.failures.flatMap((f) => (f.problem ? [f.problem] : []))]);
    return { kernel, writes, r1: report.find((x) => x.resource.name === 'r1')!.conditions[0]! };
  }
  it('programs the /128s and the IPv6 switches; Routed lists both families', async () => {
    const { kernel, writes, r1 } = await run(true);
    expect([...kernel.keys()].filter((k) => k.includes(':')).sort()).toEqual(['fd00:95::11/128', 'fd00:95::5054:ff:fe95:1/128', 'fd00:95::5054:ff:fe95:2/128']);
    expect(writes.filter(([k]) => k.startsWith('net/ipv6/conf/hv-r1/'))).toEqual([
      ['net/ipv6/conf/hv-r1/forwarding', '1'], ['net/ipv6/conf/hv-r1/force_forwarding', '1'], ['net/ipv6/conf/hv-r1/accept_ra', '0'],
    ]);
    expect(r1.message).toBe('10.95.0.11/32 via hv-r1, fd00:95::11/128 via hv-r1, fd00:95::5054:ff:fe95:1/128 via hv-r1');
  });
  it('a kernel without force_forwarding: the key is not written, and Routed says IPv6 is not forwarded', async () => {
    const { writes, r1 } = await run(false);
    expect(writes.map(([k]) => k)).not.toContain('net/ipv6/conf/hv-r1/force_forwarding');
    expect(writes.map(([k]) => k)).toContain('net/ipv6/conf/hv-r1/forwarding');
    expect(r1.message).toContain('IPv6 is not forwarded from hv-r1: this kernel has no force_forwarding');
  });
});

describe('router advertisements on routed devices', () => {
  it('one advertiser per device, the prefix not on-link, SLAAC by default, the attachment MTU', () => {
    const t = advertisementTargets(SLAAC, { links: [], addresses: [] });
    expect(t.map((x) => `${x.key} ${x.config.device} ${x.attachment}`)).toEqual(['pub/hv-r1 hv-r1 r1', 'pub/tap-r2 tap-r2 r2']);
    expect(t[0]!.config).toMatchObject({ prefix: 'fd00:95::/64', onLink: false, autonomous: true, managed: false, other: false, routerLifetimeSec: 1800, mtu: 1500 });
    expect(t[1]!.config.mtu).toBe(9000);
  });

  it('none on a routed network without IPv6', () => {
    const v4 = parseDesiredState(yaml('null').replace('    ipv6: null\n', ''));
    expect(advertisementTargets(v4, { links: [], addresses: [] })).toEqual([]);
  });
});

describe('DHCPv6 on a routed network', () => {
  const onNetwork = () => [
    { attachment: 'r1', network: 'pub', mac: '52:54:00:95:00:01', missing: 0, assign: true, addresses: [{ ip: 'fd00:95::11', family: 6 as const, prefixLength: 64, network: 'pub', source: 'static' as const }] },
    { attachment: 'r2', network: 'pub', mac: '52:54:00:95:00:02', missing: 0, assign: false, addresses: [{ ip: 'fd00:95::120', family: 6 as const, prefixLength: 64, network: 'pub', source: 'auto' as const }] },
  ];
  it('one server per device, each with its attachment\'s reservation and only that address', () => {
    const t = routedDhcp6Targets(STATEFUL, { onNetwork });
    expect(t.map((x) => `${x.key} ${x.device}`)).toEqual(['pub@hv-r1 hv-r1', 'pub@tap-r2 tap-r2']);
    expect(t[0]!.config).toMatchObject({
      network: 'pub', stateful: true, pools: [{ start: 'fd00:95::11', end: 'fd00:95::11' }], reservations: [{ mac: '52:54:00:95:00:01', ip: 'fd00:95::11' }],
    });
    expect(t[1]!.config.reservations).toEqual([{ mac: '52:54:00:95:00:02', ip: 'fd00:95::120' }]);
    expect(routedDhcp6Targets(SLAAC, { onNetwork })).toEqual([]);
  });
  it('advertised managed, not autonomous: no SLAAC address is routed', () => {
    const t = advertisementTargets(STATEFUL, { links: [], addresses: [] });
    expect(t[0]!.config).toMatchObject({ onLink: false, autonomous: false, managed: true, other: true });
    expect(routedHostRoutes(STATEFUL, ADDRS).filter((r) => r.family === 6).map((r) => r.ip)).toEqual(['fd00:95::11']);
  });
});

describe('a routed workload\'s IPv6 address', () => {
  const addressing: AttachmentAddressing = {
    attachment: 'r1', network: 'pub', mac: '52:54:00:95:00:01', missing: 0, assign: true,
    addresses: [
      { ip: '10.95.0.11', family: 4, prefixLength: 24, network: 'pub', source: 'static' },
      { ip: 'fd00:95::11', family: 6, prefixLength: 64, network: 'pub', source: 'static' },
    ],
  };
  const net = SLAAC.networks[0]!;
  it('is a /128 with the default route via the host device\'s link-local address', () => {
    expect(peerWanted(addressing, net, 'fe80::1234')).toEqual({
      addresses: ['10.95.0.11/24', 'fd00:95::11/128'],
      routes: [{ destination: 'default', via: '10.95.0.1', family: 4 }, { destination: 'default', via: 'fe80::1234', family: 6 }],
    });
  });
  it('waits for the link-local address for its default route', () => {
    expect(peerWanted(addressing, net, null).routes).toEqual([{ destination: 'default', via: '10.95.0.1', family: 4 }]);
  });
});

describe('validation of IPv6 on routed networks', () => {
  it('accepts a dual-stack routed network with SLAAC, static addresses or DHCPv6', () => {
    expect(violations(SLAAC)).toEqual([]);
    expect(violations(STATEFUL)).toEqual([]);
  });
  it('refuses what is not built, each with its rule', () => {
    expect(violations(parseDesiredState(yaml('{ cidr: "fd00:95::/64", gateway: "fd00:95::1", gatewayOnBridge: true }'))))
      .toEqual(expect.arrayContaining(['networks[0].ipv6.gatewayOnBridge routed-no-bridge', 'networks[0].ipv6.gateway routed-ipv6-router-link-local']));
    expect(violations(parseDesiredState(yaml('{ cidr: "fd00:95::/80" }')))).toContain('networks[0].ipv6.cidr routed-ipv6-slaac-64');
    expect(violations(parseDesiredState(`
networks:
  - { name: six, mode: ROUTED, ipFamily: IPV6, cidr: "fd00:96::/64", gateway: "fd00:96::1" }
`))).toEqual(['networks[0].gateway routed-ipv6-router-link-local']);
  });
  it('accepts an IPv6-only routed network; it has no gateway address (the router is the link-local address)', () => {
    const six = parseDesiredState(`
networks:
  - { name: six, mode: ROUTED, ipFamily: IPV6, cidr: "fd00:96::/64" }
attachments:
  - { name: s1, network: six, veth: { ifName: hv-s1, peerNetns: /var/run/netns/s1, peerIfName: eth0 }, ip: { static: "fd00:96::11" } }
`);
    expect(violations(six)).toEqual([]);
    expect(routedGatewayOf(six.networks[0]!)).toBe('');
    const text = renderFrrConfig({ hostname: 'a', bgp: { asn: 65001, routerId: '10.77.0.1', peers: [] }, desired: six,
      hostRoutes: routedHostRoutes(six, { assigned: () => ['fd00:96::11'], leased: () => [] }) });
    // Its CIDR is IPv6's alone: never in the IPv4 prefix-list.
    expect(text).toContain('ip prefix-list hostnet-routed seq 5 deny any\n');
    expect(text).toContain('ipv6 prefix-list hostnet-routed6 seq 5 permit fd00:96::/64 le 128\n');
    expect(text).toContain('  network fd00:96::11/128\n');
  });
});

describe('FRR: ipv6 unicast for routed networks with IPv6', () => {
  const bgp = { asn: 65001, routerId: '10.77.0.1', peers: [{ address: '10.77.0.100', asn: 65000, description: '' }] };
  function family(text: string, name: string): string[] | null {
    const lines = text.split('\n');
    const start = lines.indexOf(` address-family ${name}`);
    if (start < 0) return null;
    return lines.slice(start + 1, lines.indexOf(' exit-address-family', start)).map((l) => l.trim());
  }
  it('the /128s in ipv6 unicast, the /32s in ipv4 unicast, each with its own out policy', () => {
    const text = renderFrrConfig({ hostname: 'a', bgp, desired: SLAAC, hostRoutes: routedHostRoutes(SLAAC, ADDRS) });
    expect(family(text, 'ipv4 unicast')).toEqual([
      'neighbor 10.77.0.100 activate', 'network 10.95.0.11/32', 'network 10.95.0.20/32',
      'neighbor 10.77.0.100 route-map hostnet-routed-in in', 'neighbor 10.77.0.100 route-map hostnet-routed-out out',
    ]);
    expect(family(text, 'ipv6 unicast')).toEqual([
      'neighbor 10.77.0.100 activate', 'network fd00:95::11/128', 'network fd00:95::5054:ff:fe95:1/128', 'network fd00:95::5054:ff:fe95:2/128',
      'neighbor 10.77.0.100 route-map hostnet-routed-in in', 'neighbor 10.77.0.100 route-map hostnet-routed6-out out',
    ]);
    const head = text.slice(0, text.indexOf('router bgp'));
    expect(head).toContain('ipv6 prefix-list hostnet-routed6 seq 5 permit fd00:95::/64 le 128\n');
    expect(head).toContain('route-map hostnet-routed6-out permit 10\n match ipv6 address prefix-list hostnet-routed6\n match as-path hostnet-local\nexit\n');
  });
  it('AGGREGATE aggregates the IPv6 CIDR too; NO_ANNOUNCE announces no /128 and permits no IPv6 prefix', () => {
    const agg = parseDesiredState(yaml('{ cidr: "fd00:95::/64" }', '    announce: AGGREGATE'));
    expect(family(renderFrrConfig({ hostname: 'a', bgp, desired: agg, hostRoutes: routedHostRoutes(agg, ADDRS) }), 'ipv6 unicast'))
      .toContain('aggregate-address fd00:95::/64 summary-only');
    const none = parseDesiredState(yaml('{ cidr: "fd00:95::/64" }', '    announce: NO_ANNOUNCE'));
    const text = renderFrrConfig({ hostname: 'a', bgp, desired: none, hostRoutes: routedHostRoutes(none, ADDRS) });
    expect(family(text, 'ipv6 unicast')!.filter((l) => l.startsWith('network'))).toEqual([]);
    expect(text).toContain('ipv6 prefix-list hostnet-routed6 seq 5 deny any\n');
  });
  it('no ipv6 unicast family without a routed IPv6 subnet', () => {
    const v4 = parseDesiredState(yaml('null').replace('    ipv6: null\n', ''));
    const text = renderFrrConfig({ hostname: 'a', bgp, desired: v4, hostRoutes: routedHostRoutes(v4, ADDRS) });
    expect(family(text, 'ipv6 unicast')).toBeNull();
    expect(text).not.toContain('ipv6 prefix-list');
  });
});
