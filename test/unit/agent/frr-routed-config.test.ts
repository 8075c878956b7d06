// Issue 13: routed networks announced through FRR's IPv4 unicast family, as rendered from the
// desired state and the host routes (agent/routed/host-routes.ts).
import { describe, expect, it } from 'vitest';
import { addressFamiliesOf, renderFrrConfig, type FrrConfigInput } from '../../../agent/frr/config.js';
import { Announce, NetworkMode, type DesiredState, type Network } from '../../../agent/api/gen/hostnet/v1/resources.js';
import type { HostRoute } from '../../../agent/routed/host-routes.js';

const bgp = {
  asn: 65001,
  routerId: '10.77.0.1',
  peers: [
    { address: '10.77.0.100', asn: 65000, description: 'fabric' },
    { address: '10.77.0.101', asn: 65000, description: '' },
  ],
};

const net = (name: string, cidr: string, announce: Announce, mode = NetworkMode.ROUTED): Network =>
  ({ name, cidr, mode, announce } as unknown as Network);
const desired = (...networks: Network[]): DesiredState => ({ networks, attachments: [] } as unknown as DesiredState);
const route = (network: string, ip: string): HostRoute => ({ network, attachment: `a-${ip}`, dev: `hv-${ip}`, ip, family: ip.includes(':') ? 6 : 4 });

/** The lines of one address-family block, indentation removed. */
function family(text: string, name: string): string[] | null {
  const lines = text.split('\n');
  const start = lines.indexOf(` address-family ${name}`);
  if (start < 0) return null;
  const end = lines.indexOf(' exit-address-family', start);
  return lines.slice(start + 1, end).map((l) => l.trim());
}

describe('renderFrrConfig: routed networks (IPv4 unicast)', () => {
  it('announces one network /32 per host route, every peer activated, with in and out policy; EVPN stays', () => {
    const input: FrrConfigInput = {
      hostname: 'a', bgp, desired: desired(net('pub', '10.95.0.0/24', Announce.HOST_ROUTES)),
      hostRoutes: [route('pub', '10.95.0.12'), route('pub', '10.95.0.9'), route('pub', '10.95.0.12')],
    };
    const text = renderFrrConfig(input);
    expect(family(text, 'l2vpn evpn')).toEqual(['neighbor 10.77.0.100 activate', 'neighbor 10.77.0.101 activate', 'advertise-all-vni']);
    expect(family(text, 'ipv4 unicast')).toEqual([
      'neighbor 10.77.0.100 activate',
      'neighbor 10.77.0.101 activate',
      'network 10.95.0.9/32',
      'network 10.95.0.12/32',
      'neighbor 10.77.0.100 route-map hostnet-routed-in in',
      'neighbor 10.77.0.100 route-map hostnet-routed-out out',
      'neighbor 10.77.0.101 route-map hostnet-routed-in in',
      'neighbor 10.77.0.101 route-map hostnet-routed-out out',
    ]);
    // The policy comes before router bgp, in FRR's own form.
    const head = text.slice(0, text.indexOf('router bgp'));
    expect(head).toContain('ip prefix-list hostnet-routed seq 5 permit 10.95.0.0/24 le 32\n');
    expect(head).toContain('bgp as-path access-list hostnet-local seq 5 permit ^$\n');
    expect(head).toContain('route-map hostnet-routed-out permit 10\n match ip address prefix-list hostnet-routed\n match as-path hostnet-local\nexit\n');
    expect(head).toContain('route-map hostnet-routed-in permit 10\nexit\n');
    expect(text).not.toMatch(/no bgp network import-check|redistribute/);
  });

  it('AGGREGATE: the /32s and aggregate-address CIDR summary-only (announced while a /32 is valid)', () => {
    const text = renderFrrConfig({
      hostname: 'a', bgp, desired: desired(net('agg', '10.96.0.0/24', Announce.AGGREGATE)), hostRoutes: [route('agg', '10.96.0.5')],
    });
    expect(family(text, 'ipv4 unicast')?.filter((l) => !l.startsWith('neighbor'))).toEqual(['network 10.96.0.5/32', 'aggregate-address 10.96.0.0/24 summary-only']);
  });

  it('NO_ANNOUNCE: no prefix of it, and its CIDR not in the out filter; the family stays for routes learned', () => {
    const text = renderFrrConfig({
      hostname: 'a', bgp, desired: desired(net('quiet', '10.97.0.0/24', Announce.NO_ANNOUNCE)), hostRoutes: [route('quiet', '10.97.0.5')],
    });
    expect(family(text, 'ipv4 unicast')).toEqual([
      'neighbor 10.77.0.100 activate', 'neighbor 10.77.0.101 activate',
      'neighbor 10.77.0.100 route-map hostnet-routed-in in', 'neighbor 10.77.0.100 route-map hostnet-routed-out out',
      'neighbor 10.77.0.101 route-map hostnet-routed-in in', 'neighbor 10.77.0.101 route-map hostnet-routed-out out',
    ]);
    expect(text).toContain('ip prefix-list hostnet-routed seq 5 deny any\n');
    expect(text).not.toContain('10.97.0');
  });

  it('a removed host route is a removed network line (withdrawn on reload)', () => {
    const d = desired(net('pub', '10.95.0.0/24', Announce.HOST_ROUTES));
    const two = renderFrrConfig({ hostname: 'a', bgp, desired: d, hostRoutes: [route('pub', '10.95.0.11'), route('pub', '10.95.0.12')] });
    const one = renderFrrConfig({ hostname: 'a', bgp, desired: d, hostRoutes: [route('pub', '10.95.0.12')] });
    expect(two).toContain('  network 10.95.0.11/32\n');
    expect(one).not.toContain('10.95.0.11');
    expect(one).toContain('  network 10.95.0.12/32\n');
  });

  it('several networks: sorted numerically, each CIDR once in the prefix-list; host routes of unknown or bridged networks ignored', () => {
    const d = desired(net('b', '10.100.0.0/16', Announce.HOST_ROUTES), net('a', '10.9.0.0/24', Announce.AGGREGATE), net('br', '10.50.0.0/24', Announce.HOST_ROUTES, NetworkMode.BRIDGED));
    const text = renderFrrConfig({ hostname: 'a', bgp, desired: d, hostRoutes: [route('b', '10.100.3.1'), route('a', '10.9.0.20'), route('br', '10.50.0.2'), route('gone', '10.1.1.1')] });
    expect(text.split('\n').filter((l) => l.startsWith('ip prefix-list'))).toEqual([
      'ip prefix-list hostnet-routed seq 5 permit 10.9.0.0/24 le 32',
      'ip prefix-list hostnet-routed seq 10 permit 10.100.0.0/16 le 32',
    ]);
    expect(family(text, 'ipv4 unicast')?.filter((l) => !l.startsWith('neighbor'))).toEqual(['network 10.9.0.20/32', 'network 10.100.3.1/32', 'aggregate-address 10.9.0.0/24 summary-only']);
  });

  it('without a routed network: no IPv4 unicast family and no policy (the EVPN-only text is unchanged)', () => {
    const text = renderFrrConfig({ hostname: 'a', bgp, desired: desired(net('br', '10.50.0.0/24', Announce.HOST_ROUTES, NetworkMode.BRIDGED)), hostRoutes: [] });
    expect(text).toBe(renderFrrConfig({ hostname: 'a', bgp }));
    expect(addressFamiliesOf({ hostname: 'a', bgp }).map((f) => f.name)).toEqual(['l2vpn evpn']);
  });

  it('is deterministic: the same input renders the same text', () => {
    const input: FrrConfigInput = { hostname: 'a', bgp, desired: desired(net('pub', '10.95.0.0/24', Announce.HOST_ROUTES)), hostRoutes: [route('pub', '10.95.0.11')] };
    expect(renderFrrConfig(input)).toBe(renderFrrConfig(structuredClone(input)));
  });
});
