// DHCP on routed networks, the pure parts: the server configuration (the routed gateway as the
// server identifier and the router) and validation (no serverAddress needed, one set must be the
// gateway, pools checked against the routed gateway). The sockets per device are in
// test/e2e/routed-dhcp.test.ts.
import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import { validateDesiredState } from '../../../agent/desired/validate.js';
import { dhcpConfigOf, dhcpServerAddressOf } from '../../../agent/dhcp/config.js';

const state = (dhcp: string, gateway = '') => parseDesiredState(`
networks:
  - name: pub
    mode: ROUTED
    ipFamily: IPV4
    cidr: 10.95.0.0/24
${gateway ? `    gateway: ${gateway}\n` : ''}    dhcp: { enabled: true, dnsServers: [10.95.0.53], ${dhcp} }
attachments:
  - { name: r1, network: pub, veth: { ifName: hv-r1, peerNetns: /var/run/netns/r1, peerIfName: eth0 } }
`);
const rules = (s: ReturnType<typeof state>): string[] => validateDesiredState(s).map((v) => `${v.path} ${v.rule}`);
const noAssignments = { onNetwork: () => [] };

describe('DHCP on a routed network', () => {
  it('answers from the routed gateway and tells it as the router', () => {
    const n = state('pools: [{ start: 10.95.0.100, end: 10.95.0.150 }]').networks[0]!;
    expect(dhcpServerAddressOf(n)).toBe('10.95.0.1');
    const c = dhcpConfigOf(n, { assignments: noAssignments, node: undefined, mtu: 1500 });
    expect(c).toMatchObject({ network: 'pub', cidr: '10.95.0.0/24', serverAddress: '10.95.0.1', gateway: '10.95.0.1', dnsServers: ['10.95.0.53'], pools: [{ start: '10.95.0.100', end: '10.95.0.150' }] });
    const own = state('pools: []', '10.95.0.254').networks[0]!;
    expect(dhcpConfigOf(own, { assignments: noAssignments, node: undefined, mtu: 1500 })).toMatchObject({ serverAddress: '10.95.0.254', gateway: '10.95.0.254' });
  });

  it('validates without a serverAddress; one set must be the gateway; a pool must not hold the gateway', () => {
    expect(rules(state('pools: [{ start: 10.95.0.100, end: 10.95.0.150 }]'))).toEqual([]);
    expect(rules(state('serverAddress: 10.95.0.1'))).toEqual([]);
    expect(rules(state('serverAddress: 10.95.0.2'))).toEqual(['networks[0].dhcp.serverAddress routed-dhcp-server-is-gateway']);
    expect(rules(state('pools: [{ start: 10.95.0.1, end: 10.95.0.50 }]'))).toEqual(['networks[0].dhcp.pools[0] pool-contains-gateway']);
  });
});
