import { describe, expect, it } from 'vitest';
import type { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import {
  assertValidDesiredState, formatViolations, validateDesiredState, ValidationError,
} from '../../../agent/desired/validate.js';
import { defaultBridgeName, deriveAttachmentMac } from '../../../agent/naming.js';
import { examplesOf, ISSUE_EXAMPLE_TEXT, rulesAt } from '../../lib/desired-example.js';

const { example, variant } = examplesOf(ISSUE_EXAMPLE_TEXT);

describe('validateDesiredState', () => {
  it('accepts the example of issue 3', () => {
    expect(validateDesiredState(example())).toEqual([]);
    expect(validateDesiredState(example(), example())).toEqual([]);
  });

  const n0 = (s: DesiredState) => s.networks[0]!;
  const a0 = (s: DesiredState) => s.attachments[0]!;
  const a1 = (s: DesiredState) => s.attachments[1]!;
  const dhcp = (s: DesiredState) => s.networks[0]!.dhcp!;

  const cases: [string, (s: DesiredState) => void, string][] = [
    ['network name required', (s) => { n0(s).name = ''; }, 'networks[0].name name-required'],
    ['network name format', (s) => { n0(s).name = 'Web_1'; }, 'networks[0].name name-format'],
    ['network defined twice', (s) => { s.networks.push({ ...n0(s), bridgeName: 'br-other', uplink: undefined }); }, 'networks[1].name name-unique'],
    ['ipFamily required', (s) => { n0(s).ipFamily = 0; }, 'networks[0].ipFamily ip-family-required'],
    ['cidr required', (s) => { n0(s).cidr = ''; }, 'networks[0].cidr cidr-format'],
    ['cidr syntax', (s) => { n0(s).cidr = '192.168.10.0'; }, 'networks[0].cidr cidr-format'],
    ['cidr vs family', (s) => { n0(s).cidr = 'fd00::/64'; }, 'networks[0].cidr cidr-family'],
    ['cidr host bits', (s) => { n0(s).cidr = '192.168.10.7/24'; }, 'networks[0].cidr cidr-network-address'],
    ['gateway outside the CIDR', (s) => { n0(s).gateway = '10.0.0.1'; }, 'networks[0].gateway ip-in-cidr'],
    ['gateway is the broadcast address', (s) => { n0(s).gateway = '192.168.10.255'; }, 'networks[0].gateway ip-in-cidr'],
    ['gateway not an IP', (s) => { n0(s).gateway = 'router'; }, 'networks[0].gateway ip-format'],
    ['gatewayOnBridge without gateway', (s) => { n0(s).gateway = ''; dhcp(s).routes = []; dhcp(s).serverAddress = '192.168.10.2'; }, 'networks[0].gatewayOnBridge gateway-on-bridge-needs-gateway'],
    ['pool outside the CIDR', (s) => { dhcp(s).pools[0]!.end = '192.168.11.10'; }, 'networks[0].dhcp.pools[0].end ip-in-cidr'],
    ['pool start after end', (s) => { dhcp(s).pools[0] = { start: '192.168.10.90', end: '192.168.10.80' }; }, 'networks[0].dhcp.pools[0] pool-order'],
    ['pools overlap', (s) => { dhcp(s).pools.push({ start: '192.168.10.200', end: '192.168.10.210' }); }, 'networks[0].dhcp.pools[1] pool-overlap'],
    ['pool contains the gateway', (s) => { dhcp(s).pools[0]!.start = '192.168.10.1'; }, 'networks[0].dhcp.pools[0] pool-contains-gateway'],
    ['DHCP needs a server address', (s) => { n0(s).gatewayOnBridge = false; }, 'networks[0].dhcp.serverAddress dhcp-server-address'],
    ['DHCP on IPv6 needs a DHCPv6 mode', (s) => {
      n0(s).ipFamily = 6; n0(s).cidr = 'fd00:10::/64'; n0(s).gateway = 'fd00:10::1';
      dhcp(s).pools = []; dhcp(s).dnsServers = []; dhcp(s).routes = []; s.attachments = [];
    }, 'networks[0].ipv6Mode dhcp6-needs-mode'],
    ['DNS server not an IPv4 address', (s) => { dhcp(s).dnsServers.push('fd00::53'); }, 'networks[0].dhcp.dnsServers[1] ip-format'],
    ['route destination', (s) => { dhcp(s).routes[0]!.destination = '10.10.0.0'; }, 'networks[0].dhcp.routes[0].destination route-format'],
    ['route via outside the CIDR', (s) => { dhcp(s).routes[0]!.via = '10.0.0.1'; }, 'networks[0].dhcp.routes[0].via ip-in-cidr'],
    ['lease too short', (s) => { dhcp(s).leaseSeconds = 5; }, 'networks[0].dhcp.leaseSeconds lease-seconds-range'],
    ['search domain', (s) => { dhcp(s).searchDomains = ['bad domain']; }, 'networks[0].dhcp.searchDomains[0] domain-format'],
    ['reservation outside the CIDR', (s) => { dhcp(s).reservations = [{ mac: '52:54:00:00:00:09', ip: '10.1.1.1', hostname: '', duid: '' }]; }, 'networks[0].dhcp.reservations[0].ip ip-in-cidr'],
    ['reservation on the gateway', (s) => { dhcp(s).reservations = [{ mac: '52:54:00:00:00:09', ip: '192.168.10.1', hostname: '', duid: '' }]; }, 'networks[0].dhcp.reservations[0].ip ip-collides-gateway'],
    ['reservation IP duplicated', (s) => {
      dhcp(s).reservations = [{ mac: '52:54:00:00:00:09', ip: '192.168.10.9', hostname: '', duid: '' }, { mac: '52:54:00:00:00:0a', ip: '192.168.10.9', hostname: '', duid: '' }];
    }, 'networks[0].dhcp.reservations[1].ip ip-duplicate'],
    ['reservation MAC duplicated', (s) => {
      dhcp(s).reservations = [{ mac: '52:54:00:00:00:09', ip: '192.168.10.9', hostname: '', duid: '' }, { mac: '52:54:00:00:00:09', ip: '192.168.10.10', hostname: '', duid: '' }];
    }, 'networks[0].dhcp.reservations[1].mac reservation-mac-unique'],
    ['reservation MAC multicast', (s) => { dhcp(s).reservations = [{ mac: '01:00:5e:00:00:01', ip: '192.168.10.9', hostname: '', duid: '' }]; }, 'networks[0].dhcp.reservations[0].mac mac-valid'],
    ['VLAN id 0', (s) => { n0(s).uplink = { kind: { $case: 'vlan', vlan: { parent: 'eth1', id: 0 } } }; }, 'networks[0].uplink.vlan.id vlan-id-range'],
    ['VLAN id 4095', (s) => { n0(s).uplink = { kind: { $case: 'vlan', vlan: { parent: 'eth1', id: 4095 } } }; }, 'networks[0].uplink.vlan.id vlan-id-range'],
    ['VLAN parent name', (s) => { n0(s).uplink = { kind: { $case: 'vlan', vlan: { parent: 'eth 1', id: 5 } } }; }, 'networks[0].uplink.vlan.parent ifname-valid'],
    ['VXLAN VNI 0', (s) => { n0(s).uplink = { kind: { $case: 'vxlan', vxlan: { vni: 0, local: '', device: '', remotes: [], evpn: false } } }; }, 'networks[0].uplink.vxlan.vni vxlan-vni-range'],
    ['VXLAN group needs a device', (s) => {
      n0(s).uplink = { kind: { $case: 'vxlan', vxlan: { vni: 7, local: '', device: '', remotes: [], evpn: false, destination: { $case: 'group', group: '239.1.1.1' } } } };
    }, 'networks[0].uplink.vxlan.device vxlan-group-device'],
    ['VXLAN group must be multicast', (s) => {
      n0(s).uplink = { kind: { $case: 'vxlan', vxlan: { vni: 7, local: '', device: 'eth0', remotes: [], evpn: false, destination: { $case: 'group', group: '10.0.0.1' } } } };
    }, 'networks[0].uplink.vxlan.group vxlan-group-multicast'],
    ['VXLAN remote must be unicast', (s) => {
      n0(s).uplink = { kind: { $case: 'vxlan', vxlan: { vni: 7, local: '', device: '', remotes: [], evpn: false, destination: { $case: 'remote', remote: '239.1.1.1' } } } };
    }, 'networks[0].uplink.vxlan.remote vxlan-remote-unicast'],
    ['VXLAN port', (s) => { n0(s).uplink = { kind: { $case: 'vxlan', vxlan: { vni: 7, local: '', device: '', remotes: [], evpn: false, port: 70000 } } }; }, 'networks[0].uplink.vxlan.port vxlan-port-range'],
    ['MTU too small', (s) => { n0(s).mtu = 60; }, 'networks[0].mtu mtu-range'],
    ['MTU too large', (s) => { a0(s).mtu = 70000; }, 'attachments[0].mtu mtu-range'],
    ['bridge name longer than 15 bytes', (s) => { n0(s).bridgeName = 'br-much-too-long-name'; }, 'networks[0].bridgeName ifname-valid'],
    ['imported bridge needs a name', (s) => { n0(s).importedBridge = true; }, 'networks[0].bridgeName imported-bridge-name'],
    ['tap name longer than 15 bytes', (s) => { (a0(s).kind as { tap: { ifName: string } }).tap.ifName = 'tap-0123456789abcdef'; }, 'attachments[0].tap.ifName ifname-valid'],
    ['tap name equals the derived bridge name', (s) => { (a0(s).kind as { tap: { ifName: string } }).tap.ifName = defaultBridgeName('web'); }, 'attachments[0].tap.ifName ifname-unique'],
    ['veth name equals the VLAN device', (s) => { (a1(s).kind as { veth: { ifName: string } }).veth.ifName = 'eth1.600'; }, 'attachments[1].veth.ifName ifname-unique'],
    ['two networks on the same VLAN', (s) => {
      s.networks.push({ ...n0(s), name: 'web2', cidr: '192.168.20.0/24', gateway: '', gatewayOnBridge: false, dhcp: undefined });
    }, 'networks[1].uplink.vlan ifname-unique'],
    ['two veth peers with one name in one namespace', (s) => {
      s.attachments.push({ ...a1(s), name: 'pod-a-net2', kind: { $case: 'veth', veth: { ifName: 'hv-poda2', peerNetns: 'poda', peerIfName: 'net1' } }, ip: undefined });
    }, 'attachments[2].veth.peerIfName veth-peer-unique'],
    ['VLAN parent is another network\'s untagged uplink', (s) => {
      s.networks.push({ ...n0(s), name: 'raw', cidr: '10.0.0.0/24', gateway: '', gatewayOnBridge: false, dhcp: undefined, uplink: { kind: { $case: 'untagged', untagged: { name: 'eth1' } } } });
    }, 'networks[0].uplink.vlan.parent uplink-lower-conflict'],
    ['veth peer netns', (s) => { (a1(s).kind as { veth: { peerNetns: string } }).veth.peerNetns = ''; }, 'attachments[1].veth.peerNetns veth-peer-netns'],
    ['attachment without kind', (s) => { a0(s).kind = undefined; }, 'attachments[0] attachment-kind-required'],
    ['attachment name defined twice', (s) => { a1(s).name = a0(s).name; }, 'attachments[1].name name-unique'],
    ['network reference resolves', (s) => { a0(s).network = 'db'; }, 'attachments[0].network reference-resolves'],
    ['MAC not unicast', (s) => { a0(s).mac = '03:00:00:00:00:01'; }, 'attachments[0].mac mac-valid'],
    ['MAC syntax', (s) => { a0(s).mac = '52-54-00-00-00-01'; }, 'attachments[0].mac mac-valid'],
    ['MAC duplicated (explicit)', (s) => { a1(s).mac = '52:54:00:00:00:01'; }, 'attachments[1].mac mac-unique'],
    ['MAC duplicated (derived)', (s) => { a0(s).mac = deriveAttachmentMac('pod-a-net1'); }, 'attachments[1].mac mac-unique'],
    ['static IP outside the CIDR', (s) => { a1(s).ip = { mode: { $case: 'static', static: '192.168.11.71' }, addresses: [], skipAssignment: false }; }, 'attachments[1].ip.static ip-in-cidr'],
    ['static IP on the gateway', (s) => { a1(s).ip = { mode: { $case: 'static', static: '192.168.10.1' }, addresses: [], skipAssignment: false }; }, 'attachments[1].ip.static ip-collides-gateway'],
    ['static IP duplicated', (s) => { a0(s).ip = { mode: { $case: 'static', static: '192.168.10.71' }, addresses: [], skipAssignment: false }; }, 'attachments[1].ip.static ip-duplicate'],
    ['static IP equals a reservation', (s) => { dhcp(s).reservations = [{ mac: '52:54:00:00:00:09', ip: '192.168.10.71', hostname: '', duid: '' }]; }, 'attachments[1].ip.static ip-duplicate'],
    ['ip auto needs DHCP', (s) => { dhcp(s).enabled = false; }, 'attachments[0].ip.auto ip-auto-needs-dhcp'],
    ['none with addresses', (s) => { a1(s).ip = { mode: { $case: 'none', none: {} }, addresses: [{ mode: { $case: 'auto', auto: {} }, family: 0 }], skipAssignment: false }; }, 'attachments[1].ip.addresses ip-none-alone'],
    ['skipAssignment without an address', (s) => { a1(s).ip = { addresses: [], skipAssignment: true }; }, 'attachments[1].ip.skipAssignment ip-skip-needs-address'],
    ['further static address duplicated', (s) => { a1(s).ip!.addresses = [{ mode: { $case: 'static', static: '192.168.10.71' }, family: 0 }]; }, 'attachments[1].ip.addresses[0].static ip-duplicate'],
    ['further static address outside the CIDR', (s) => { a1(s).ip!.addresses = [{ mode: { $case: 'static', static: '10.1.1.1' }, family: 0 }]; }, 'attachments[1].ip.addresses[0].static ip-in-cidr'],
    ['further address without a mode', (s) => { a1(s).ip!.addresses = [{ family: 0 }]; }, 'attachments[1].ip.addresses[0] address-mode-required'],
  ];

  it.each(cases)('%s', (_title, edit, expected) => {
    const vs = validateDesiredState(variant(edit));
    expect(rulesAt(vs)).toContain(expected);
  });

  it('refuses a stale generation and changes of immutable fields', () => {
    const previous = variant((s) => { s.generation = 5; });
    const next = variant((s) => { s.generation = 4; n0(s).cidr = '192.168.0.0/16'; });
    const rules = rulesAt(validateDesiredState(next, previous));
    expect(rules).toContain('generation generation-stale');
    expect(rules).toContain('networks[0].cidr immutable-cidr');
    const family = variant((s) => { s.generation = 6; n0(s).ipFamily = 6; });
    expect(rulesAt(validateDesiredState(family, previous))).toContain('networks[0].ipFamily immutable-ip-family');
    // The same generation again is not stale (a retried Apply).
    expect(validateDesiredState(previous, previous)).toEqual([]);
  });

  it('lists every violation in one message', () => {
    const s = variant((x) => {
      n0(x).cidr = '192.168.10.7/24';
      n0(x).mtu = 10;
      a0(x).network = 'nope';
      a1(x).ip = { mode: { $case: 'static', static: '10.9.9.9' }, addresses: [], skipAssignment: false };
    });
    const vs = validateDesiredState(s);
    expect(vs.length).toBeGreaterThanOrEqual(3);
    let message = '';
    try {
      assertValidDesiredState(s);
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      message = (err as Error).message;
    }
    expect(message).toBe(formatViolations(vs));
    expect(message).toMatch(/violations:/);
    for (const v of vs) expect(message).toContain(`- ${v.path}: ${v.message} (rule ${v.rule})`);
    expect(message).toContain('networks[0].cidr');
    expect(message).toContain('networks[0].mtu');
    expect(message).toContain('attachments[0].network');
  });
});
