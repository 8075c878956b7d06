// IPv6 networks' validation: the mode, SLAAC's /64, and what is not served yet.
import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import { validateDesiredState } from '../../../agent/desired/validate.js';

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

  it('refuses DHCPv6 modes while no DHCPv6 server exists, and ipv6Mode on IPv4', () => {
    expect(rules(net(', ipv6Mode: DHCPV6_STATEFUL'))).toEqual(['networks[0].ipv6Mode ipv6-mode-supported']);
    expect(rules(net(', ipv6Mode: DHCPV6_STATELESS'))).toEqual(['networks[0].ipv6Mode ipv6-mode-supported']);
    expect(rules(net(', ipv6Mode: SLAAC', '10.0.0.0/24', 'IPV4', '10.0.0.1'))).toEqual(['networks[0].ipv6Mode ipv6-mode-ipv6-only']);
  });
});
