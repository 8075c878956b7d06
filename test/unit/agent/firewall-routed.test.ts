// Port security on routed ports (issue 13): the desired state is accepted, the facts say which
// ports are routed, and the ruleset checks them in the inet and arp tables by device name
// (no bridge-family set holds them, no bridge mark chain is made for them).
import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import { Network, NetworkMode } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { validateDesiredState } from '../../../agent/desired/validate.js';
import { portDrops } from '../../../agent/firewall/counters.js';
import { protectedPorts } from '../../../agent/firewall/ports.js';
import { buildRuleset, groupListKey } from '../../../agent/firewall/ruleset.js';
import { bridgeZones } from '../../../agent/firewall/zones.js';
import { group, port, rule } from './firewall-fixtures.js';

const stateText = `
networks:
  - { name: pub, mode: ROUTED, ipFamily: IPV4, cidr: 10.95.0.0/24 }
  - { name: br, ipFamily: IPV4, cidr: 10.70.0.0/24 }
securityGroups:
  - name: web
    rules: [{ direction: INGRESS, protocol: TCP, fromPort: 80, toPort: 80 }]
attachments:
  - name: r
    network: pub
    veth: { ifName: hv-r, peerNetns: /var/run/netns/r, peerIfName: eth0 }
    ip: { static: 10.95.0.11 }
    portSecurity: { enabled: true, securityGroups: [web], allowedAddressPairs: [{ ip: 10.95.0.200 }] }
  - name: b
    network: br
    veth: { ifName: hv-b, peerNetns: /var/run/netns/b, peerIfName: eth0 }
    ip: { static: 10.70.0.10 }
    portSecurity: { enabled: true, securityGroups: [web] }
`;

describe('port security on routed ports', () => {
  it('is accepted on a routed network\'s attachment', () => {
    expect(validateDesiredState(parseDesiredState(stateText))).toEqual([]);
  });

  it('protectedPorts marks the routed port, which has no bridge', () => {
    const book = { addressesOf: () => [], serverAddress: () => undefined };
    const ports = protectedPorts(parseDesiredState(stateText), book, (a) => (a === 'r' ? ['10.95.0.11'] : ['10.70.0.10']));
    expect(ports.map((p) => [p.attachment, p.routed, p.bridge, p.v4])).toEqual([
      ['r', true, '', ['10.95.0.11', '10.95.0.200']],
      ['b', false, 'hn-br', ['10.70.0.10']],
    ]);
  });

  const r = port('r', 1, { routed: true, bridge: '', ifName: 'hv-r', groups: ['web'], v4: ['10.95.0.11'], v6: ['fe80::1'] });
  const b = port('b', 2, { groups: ['web'] });
  const rs = buildRuleset([r, b], [group('web', [rule('in', { protocol: 'TCP', fromPort: 80, toPort: 80 })])]);
  const el = (t: 'bridge' | 'inet' | 'arp', set: string): unknown[] => [...rs[t].sets.get(set)!.elements.values()];
  const text = (rules: unknown): string => JSON.stringify(rules);

  it('anti-spoofing: IP facts in the inet table, ARP facts in the arp table, none in the bridge table', () => {
    expect(el('inet', 'routed-ports')).toEqual(['hv-r']);
    expect(el('inet', 'src-marks')).toEqual([['hv-r', 1]]);
    expect(el('inet', 'port-macs')).toEqual([{ concat: ['hv-r', '02:00:00:00:00:01'] }]);
    expect(el('inet', 'port-v4')).toEqual([{ concat: ['hv-r', '10.95.0.11'] }]);
    expect(el('inet', 'spoof-counters')).toEqual([['hv-r', 'spoof-r']]);
    expect(el('arp', 'protected')).toEqual(['hv-r']);
    expect(el('arp', 'port-v4')).toEqual([{ concat: ['hv-r', '10.95.0.11'] }]);
    expect(el('arp', 'spoof-counters')).toEqual([['hv-r', 'arp-spoof-r']]);
    expect(rs.inet.counters.has('spoof-r') && rs.arp.counters.has('arp-spoof-r')).toBe(true);
    // The bridged port stays in the bridge table only.
    expect(el('bridge', 'protected')).toEqual(['hv-b']);
    expect(el('arp', 'protected')).not.toContain('hv-b');
    expect(text(el('bridge', 'to-port'))).not.toContain('hv-r');
    expect(rs.bridge.chains.has('port-to-r')).toBe(false);
  });

  it('the routed anti-spoofing chains are the bridge chain\'s checks, split by what each hook sees', () => {
    const bridge = rs.bridge.chains.get('anti-spoof')!.rules.map((x) => text(x));
    const ip = rs.inet.chains.get('anti-spoof')!.rules.map((x) => text(x));
    const arp = rs.arp.chains.get('anti-spoof')!.rules.map((x) => text(x));
    // Every routed rule is one of the bridge's (one home per check), and together they cover it
    // but for the ethertype rule (only IP reaches inet, only ARP reaches arp).
    for (const x of [...ip, ...arp]) expect(bridge).toContain(x);
    expect(bridge.filter((x) => !ip.includes(x) && !arp.includes(x))).toHaveLength(1);
    expect(ip.some((x) => x.includes('"arp"'))).toBe(false);
    expect(arp.some((x) => x.includes('"ip"') || x.includes('src-marks'))).toBe(false);
    // Entered by input device: inet prerouting before conntrack, arp input.
    expect(text(rs.inet.chains.get('prerouting'))).toContain(text([{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: '@routed-ports' } }, { jump: { target: 'anti-spoof' } }]));
    expect(rs.inet.chains.get('prerouting')!.base!.prio).toBeLessThan(-200);
    expect(rs.arp.chains.get('input')!.base).toMatchObject({ hook: 'input', type: 'filter', policy: 'accept' });
  });

  it('policy: egress by the id in the mark, ingress by the output device, forwarded and host-sent', () => {
    const key = groupListKey(['web']);
    expect(el('inet', 'egress-by-src')).toContainEqual([1, { jump: { target: `groups-${key}-out` } }]);
    expect(el('inet', 'ingress-by-dev')).toEqual([['hv-r', { jump: { target: `groups-${key}-in` } }]]);
    expect(el('inet', 'ingress-dev-counters')).toEqual([['hv-r', 'policy-in-r']]);
    // No destination mark and no address keys for the routed port.
    expect(text(el('inet', 'ingress-by-dst'))).not.toContain(String(1 << 16));
    expect(text(el('inet', 'ingress-v4'))).not.toContain('10.95.0.11');
    const toRouted = text([{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: '@routed-ports' } }, { goto: { target: 'to-routed' } }]);
    for (const c of ['ingress', 'output']) expect(rs.inet.chains.get(c)!.rules.map((x) => text(x)), c).toContain(toRouted);
    const policy = rs.inet.chains.get('to-routed')!.rules.map((x) => text(x));
    expect(policy.some((x) => x.includes('@ingress-by-dev') && x.includes('vmap'))).toBe(true);
    expect(policy.at(-1)).toBe(text([{ drop: null }]));
  });

  it('a routed port\'s ARP drops count in its spoof figure', () => {
    expect(portDrops(new Map([['spoof-r', { packets: 3, bytes: 1 }], ['arp-spoof-r', { packets: 2, bytes: 1 }]]), 'r').spoof).toBe(5);
  });

  it('routed networks take no conntrack zone (no bridge: the host\'s own routed traffic)', () => {
    const z = bridgeZones([Network.fromPartial({ name: 'a', cidr: '10.0.0.0/24' }), Network.fromPartial({ name: 'r', cidr: '10.0.0.0/24', mode: NetworkMode.ROUTED })]);
    expect([...z]).toEqual([['hn-a', 0]]);
  });
});
