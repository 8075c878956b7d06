// IPv6 networks' validation: the mode, SLAAC's /64, and what is not served yet.
import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import { validateDesiredState } from '../../../agent/desired/validate.js';
import { ISSUE_YAML } from '../../lib/issue-ipv6.js';

const net = (extra: string, cidr = 'fd00:77::/64', family = 'IPV6', gw = 'fd00:77::1'): string => `
networks:
  - { name: v6, ipFamily: ${family}, cidr: "${cidr}", gateway: "${gw}", gatewayOnBridge: true${extra} }
`;
const rules = (text: string): string[] => validateDesiredState(parseDesiredState(text)).map((v) => `${v.path} ${v.rule}`);

describe('IPv6 network validation', () => {
  it('accepts SLAAC (explicit or default) on a /64, with RA settings from dhcp', () => {
    expect(rules(net(', ipv6Mode: SLAAC, dhcp: { dnsServers: ["fd00:77::53"], searchDomains: [v6.example], routes: [{ destination: "fd00:99::/48", via: "fd00:77::fe" }] }'))).toEqual([]);
    expect(rules(net(''))).toEqual([]);
  });

  it('refuses SLAAC on a prefix other than /64 when the agent advertises it', () => {
    expect(rules(net('', 'fd00:77::/80', 'IPV6', 'fd00:77::1'))).toEqual(['networks[0].cidr slaac-prefix-64']);
  });

  it('accepts the issue\'s DHCPv6 network as written', () => {
    expect(rules(ISSUE_YAML)).toEqual([]);
  });

  it('refuses a DHCPv6 mode without DHCP (or without pools when stateful), DHCP without one, and ipv6Mode on IPv4', () => {
    expect(rules(net(', ipv6Mode: DHCPV6_STATEFUL'))).toEqual(['networks[0].dhcp.enabled dhcp6-needs-dhcp']);
    expect(rules(net(', ipv6Mode: DHCPV6_STATEFUL, dhcp: { enabled: true }'))).toEqual(['networks[0].dhcp.pools dhcp6-needs-pools']);
    expect(rules(net(', ipv6Mode: DHCPV6_STATELESS, dhcp: { enabled: true }'))).toEqual([]);
    expect(rules(net(', dhcp: { enabled: true }'))).toEqual(['networks[0].ipv6Mode dhcp6-needs-mode']);
    expect(rules(net(', ipv6Mode: SLAAC', '10.0.0.0/24', 'IPV4', '10.0.0.1'))).toEqual(['networks[0].ipv6Mode ipv6-mode-ipv6-only']);
  });
});

describe('dual-stack networks (an IPv4 network with an ipv6 subnet)', () => {
  const dual = (v6: string, attachment = ''): string => `
networks:
  - { name: pub, ipFamily: IPV4, cidr: 10.0.0.0/24, gateway: 10.0.0.1, gatewayOnBridge: true, ipv6: ${v6} }
${attachment ? `attachments:\n  - ${attachment}\n` : ''}`;
  const ok = '{ cidr: "fd00:10::/64", gateway: "fd00:10::1", gatewayOnBridge: true, dhcp: { pools: [{ start: "fd00:10::100", end: "fd00:10::1ff" }] } }';
  const pod = (ip: string): string => `{ name: p, network: pub, veth: { ifName: hv-p, peerNetns: /run/netns/p, peerIfName: net1 }, ip: ${ip} }`;

  it('accepts a subnet with auto and static addresses of both families', () => {
    expect(rules(dual(ok, pod('{ auto: {}, addresses: [{ auto: {}, family: IPV6 }, { static: "fd00:10::7" }] }')))).toEqual([]);
  });

  it('refuses what cannot work', () => {
    expect(rules(dual('{ cidr: "10.1.0.0/24" }'))).toEqual(['networks[0].ipv6.cidr cidr-format']);
    expect(rules(dual('{ cidr: "fd00:10::/80", gateway: "fd00:10::1", gatewayOnBridge: true }'))).toEqual(['networks[0].ipv6.cidr slaac-prefix-64']);
    expect(rules(dual('{ cidr: "fd00:10::/64", gateway: "fd00:11::1" }'))).toEqual(['networks[0].ipv6.gateway ip-in-cidr']);
    expect(rules(dual(ok, pod('{ static: "fd00:11::7" }')))).toEqual(['attachments[0].ip.static ip-in-cidr']);
    expect(rules(dual(ok, pod('{ static: "fd00:10::1" }')))).toEqual(['attachments[0].ip.static ip-collides-gateway']);
    expect(rules(`
networks:
  - { name: v6, ipFamily: IPV6, cidr: "fd00:77::/64", ipv6: { cidr: "fd00:10::/64" } }
`)).toEqual(['networks[0].ipv6 ipv6-subnet-on-ipv4']);
    expect(rules(`
networks:
  - { name: v4, ipFamily: IPV4, cidr: 10.0.0.0/24 }
attachments:
  - ${pod('{ auto: {}, addresses: [{ auto: {}, family: IPV6 }] }').replace('network: pub', 'network: v4')}
`)).toEqual(['attachments[0].ip.addresses[0].auto address-family-subnet']);
  });
});

describe('DHCPv6 reservations', () => {
  const v6 = (res: string): string => `
networks:
  - { name: v6, ipFamily: IPV6, cidr: "fd00:77::/64", gateway: "fd00:77::1", gatewayOnBridge: true, ipv6Mode: DHCPV6_STATEFUL,
      dhcp: { enabled: true, pools: [{ start: "fd00:77::100", end: "fd00:77::1ff" }], reservations: [${res}] } }
`;
  it('by DUID alone, by MAC, not by a DUID on IPv4, and only hex DUIDs', () => {
    expect(rules(v6('{ duid: "00:03:00:01:52:54:00:00:00:01", ip: "fd00:77::9" }'))).toEqual([]);
    expect(rules(v6('{ mac: "52:54:00:00:00:01", ip: "fd00:77::9" }'))).toEqual([]);
    expect(rules(v6('{ duid: "zz", ip: "fd00:77::9" }'))).toEqual(['networks[0].dhcp.reservations[0].duid duid-format']);
    expect(rules(v6('{ mac: "52:54:00:00:00:01", ip: "fd00:78::9" }'))).toEqual(['networks[0].dhcp.reservations[0].ip ip-in-cidr']);
    expect(rules(`
networks:
  - { name: v4, ipFamily: IPV4, cidr: 10.0.0.0/24, gateway: 10.0.0.1, gatewayOnBridge: true, dhcp: { enabled: true, reservations: [{ duid: "000300015254", mac: "52:54:00:00:00:01", ip: 10.0.0.9 }] } }
`)).toEqual(['networks[0].dhcp.reservations[0].duid duid-ipv4-only'.replace('ipv4-only', 'ipv6-only')]);
  });
});
