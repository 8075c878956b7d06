// Which tracked flows end after a change of the security groups: exactly those the rules now
// in force would not let start, judged for both ends (the sender's EGRESS, the receiver's
// INGRESS); flows of unprotected addresses, DHCP and flows still allowed are kept.
import { describe, expect, it } from 'vitest';
import { parseConntrackList, type ConntrackFlow } from '../../../dataplane/conntrack.js';
import { disallowedFlows } from '../../../agent/firewall/flow-check.js';
import { group, port, rule } from './firewall-fixtures.js';

const tcp = (src: string, dst: string, dport: number): ConntrackFlow => ({ protocol: 6, src, dst, sport: 40000, dport });

describe('parseConntrackList', () => {
  it('reads the original direction of tcp, udp and icmp lines', () => {
    const text = [
      'tcp      6 431999 ESTABLISHED src=10.71.0.10 dst=10.71.0.11 sport=44054 dport=81 src=10.71.0.11 dst=10.71.0.10 sport=81 dport=44054 [ASSURED] mark=0 use=1',
      'udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=48063 dport=5353 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=5353 dport=48063 mark=0 use=1',
      'icmpv6   58 29 src=::1 dst=::1 type=128 code=0 id=28902 src=::1 dst=::1 type=129 code=0 id=28902 mark=0 use=1',
      'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.',
    ].join('\n');
    expect(parseConntrackList(text)).toEqual([
      { protocol: 6, src: '10.71.0.10', dst: '10.71.0.11', sport: 44054, dport: 81 },
      { protocol: 17, src: '127.0.0.1', dst: '127.0.0.1', sport: 48063, dport: 5353 },
      { protocol: 58, src: '::1', dst: '::1' },
    ]);
  });
});

describe('disallowedFlows', () => {
  const client = port('a', 1, { v4: ['10.70.0.10'], groups: ['cli'] });
  const server = port('b', 2, { v4: ['10.70.0.11'], groups: ['srv'] });
  const groups = [
    group('cli', [rule('out')]),
    group('srv', [rule('in', { protocol: 'TCP', fromPort: 80, toPort: 80 }), rule('in', { protocol: 'UDP', group: 'cli' })]),
  ];

  it('ends a flow whose port no rule allows and keeps the allowed one', () => {
    const flows = [tcp('10.70.0.10', '10.70.0.11', 80), tcp('10.70.0.10', '10.70.0.11', 81)];
    expect(disallowedFlows(flows, [client, server], groups)).toEqual([flows[1]]);
  });

  it('judges the sender too: without an EGRESS rule its flows end', () => {
    const mute = { ...client, groups: [] };
    expect(disallowedFlows([tcp('10.70.0.10', '10.70.0.11', 80)], [mute, server], groups)).toHaveLength(1);
  });

  it('follows group membership for remoteGroup rules', () => {
    const udp: ConntrackFlow = { protocol: 17, src: '10.70.0.10', dst: '10.70.0.11', sport: 5000, dport: 53 };
    expect(disallowedFlows([udp], [client, server], groups)).toEqual([]);
    const left = { ...client, groups: ['other'] };
    expect(disallowedFlows([udp], [left, server], [...groups, group('other', [rule('out')])])).toEqual([udp]);
  });

  it('keeps flows of unprotected addresses and DHCP', () => {
    const outside = tcp('192.0.2.1', '192.0.2.2', 22);
    const dhcp: ConntrackFlow = { protocol: 17, src: '10.70.0.11', dst: '10.70.0.1', sport: 68, dport: 67 };
    expect(disallowedFlows([outside, dhcp], [client, server], groups)).toEqual([]);
  });

  it('reads remoteCidr by family and containment', () => {
    const g = [group('srv', [rule('in', { protocol: 'TCP', cidr: '10.70.0.0/28' })]), group('cli', [rule('out')])];
    expect(disallowedFlows([tcp('10.70.0.10', '10.70.0.11', 22)], [client, server], g)).toEqual([]);
    const far = { ...client, v4: ['10.70.0.100'] };
    expect(disallowedFlows([tcp('10.70.0.100', '10.70.0.11', 22)], [far, server], g)).toHaveLength(1);
  });

  it('judges a flow for the ports of its conntrack zone (two tenants with the same addresses)', () => {
    const tenantB = port('b2', 3, { v4: ['10.70.0.11'], groups: [], network: 'tb' });
    const flow: ConntrackFlow = { ...tcp('10.70.0.10', '10.70.0.11', 80), zone: 1 };
    const zoneOf = (n: string): number => (n === 'tb' ? 1 : 0);
    // In zone 1 the destination is tenant B's server, which allows nothing: the flow ends.
    expect(disallowedFlows([flow], [client, server, tenantB], groups, zoneOf)).toEqual([flow]);
    // The same tuple in zone 0 is tenant A's, allowed.
    expect(disallowedFlows([{ ...flow, zone: undefined }], [client, server, tenantB], groups, zoneOf)).toEqual([]);
  });
});
