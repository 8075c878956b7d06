// buildRuleset: what each security rule field becomes, the per-port chains and map elements,
// the group member sets. Values are compared as the JSON nft is given (libnftables-json(5)).
import { describe, expect, it } from 'vitest';
import { buildRuleset, groupListKey, names } from '../../../agent/firewall/ruleset.js';
import type { NftExpr } from '../../../dataplane/nftables/json.js';
import { group, port, rule } from './firewall-fixtures.js';

const l4 = (n: number) => ({ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: n } });
const dport = (right: unknown) => ({ match: { op: '==', left: { payload: { protocol: 'th', field: 'dport' } }, right } });
const addr = (proto: 'ip' | 'ip6', field: 'saddr' | 'daddr', right: unknown) => ({ match: { op: '==', left: { payload: { protocol: proto, field } }, right } });
const nfproto = (f: 'ipv4' | 'ipv6') => ({ match: { op: '==', left: { meta: { key: 'nfproto' } }, right: f } });
const accept = { accept: null };
const drop = { drop: null };

/** The rules of group chain `sg-g-in` (or -out) for one rule of that direction. */
function groupRules(r: ReturnType<typeof rule>): NftExpr[][] {
  const rs = buildRuleset([port('a', 1, { groups: ['g'] })], [group('g', [r])]);
  const chain = rs.inet.chains.get(r.direction === 1 ? names.groupIn('g') : names.groupOut('g'));
  return chain!.rules;
}

describe('buildRuleset: security rule fields', () => {
  it('ANY from anywhere: a bare accept', () => {
    expect(groupRules(rule('in'))).toEqual([[accept]]);
    expect(groupRules(rule('out', { protocol: 'ANY' }))).toEqual([[accept]]);
  });
  it('protocol names and numbers become l4proto numbers', () => {
    expect(groupRules(rule('in', { protocol: 'TCP' }))).toEqual([[l4(6), accept]]);
    expect(groupRules(rule('in', { protocol: 'udp' }))).toEqual([[l4(17), accept]]);
    expect(groupRules(rule('in', { protocol: 'ICMP' }))).toEqual([[l4(1), accept]]);
    expect(groupRules(rule('in', { protocol: 'ICMPV6' }))).toEqual([[l4(58), accept]]);
    expect(groupRules(rule('in', { protocol: '47' }))).toEqual([[l4(47), accept]]);
  });
  it('a single port, a range, one end only', () => {
    expect(groupRules(rule('in', { protocol: 'TCP', fromPort: 80, toPort: 80 }))).toEqual([[l4(6), dport(80), accept]]);
    expect(groupRules(rule('in', { protocol: 'UDP', fromPort: 8000, toPort: 8100 }))).toEqual([[l4(17), dport({ range: [8000, 8100] }), accept]]);
    expect(groupRules(rule('in', { protocol: 'TCP', fromPort: 443 }))).toEqual([[l4(6), dport(443), accept]]);
    expect(groupRules(rule('in', { protocol: 'TCP', toPort: 22 }))).toEqual([[l4(6), dport(22), accept]]);
    // SCTP (132) is a port protocol too.
    expect(groupRules(rule('in', { protocol: '132', fromPort: 1, toPort: 2 }))).toEqual([[l4(132), dport({ range: [1, 2] }), accept]]);
  });
  it('remote CIDR: source for ingress, destination for egress, per family', () => {
    expect(groupRules(rule('in', { protocol: 'TCP', cidr: '192.168.0.0/16' })))
      .toEqual([[addr('ip', 'saddr', { prefix: { addr: '192.168.0.0', len: 16 } }), l4(6), accept]]);
    expect(groupRules(rule('out', { cidr: '2001:db8::/32' })))
      .toEqual([[addr('ip6', 'daddr', { prefix: { addr: '2001:db8::', len: 32 } }), accept]]);
    expect(groupRules(rule('out', { cidr: '10.1.2.3/32' })))
      .toEqual([[addr('ip', 'daddr', { prefix: { addr: '10.1.2.3', len: 32 } }), accept]]);
  });
  it('remote CIDR /0: only the family is matched', () => {
    expect(groupRules(rule('in', { protocol: 'TCP', fromPort: 80, toPort: 80, cidr: '0.0.0.0/0' })))
      .toEqual([[nfproto('ipv4'), l4(6), dport(80), accept]]);
    expect(groupRules(rule('in', { cidr: '::/0' }))).toEqual([[nfproto('ipv6'), accept]]);
  });
  it('remote group: one rule per family against the group sets', () => {
    expect(groupRules(rule('in', { protocol: 'TCP', fromPort: 22, group: 'g' }))).toEqual([
      [addr('ip', 'saddr', '@sg-g-v4'), l4(6), dport(22), accept],
      [addr('ip6', 'saddr', '@sg-g-v6'), l4(6), dport(22), accept],
    ]);
    expect(groupRules(rule('out', { group: 'g' }))).toEqual([
      [addr('ip', 'daddr', '@sg-g-v4'), accept],
      [addr('ip6', 'daddr', '@sg-g-v6'), accept],
    ]);
  });
  it('remote group with ICMP: IPv4 only; with ICMPv6: IPv6 only', () => {
    expect(groupRules(rule('in', { protocol: 'ICMP', group: 'g' }))).toEqual([[addr('ip', 'saddr', '@sg-g-v4'), l4(1), accept]]);
    expect(groupRules(rule('in', { protocol: 'ICMPV6', group: 'g' }))).toEqual([[addr('ip6', 'saddr', '@sg-g-v6'), l4(58), accept]]);
  });
  it('rules go to the chain of their direction, in order', () => {
    const g = group('g', [rule('in', { protocol: 'TCP' }), rule('out'), rule('in', { protocol: 'UDP' })]);
    const rs = buildRuleset([port('a', 1, { groups: ['g'] })], [g]);
    expect(rs.inet.chains.get('sg-g-in')!.rules).toEqual([[l4(6), accept], [l4(17), accept]]);
    expect(rs.inet.chains.get('sg-g-out')!.rules).toEqual([[accept]]);
  });
});

describe('buildRuleset: ports and groups', () => {
  const a = port('a', 1, { groups: ['web', 'ssh'], v4: ['10.70.0.10', '10.70.0.200'], v6: ['2001:db8::10', 'fe80::1'] });
  const b = port('b', 2, { groups: ['web'], v4: ['10.70.0.0/30'] });
  const c = port('c', 3, { groups: [] });
  const groups = [group('web', [rule('in', { protocol: 'TCP', fromPort: 80, toPort: 80 })]), group('ssh', []), group('empty', [])];
  const rs = buildRuleset([a, b, c], groups);

  const listIn = (gs: string[]) => `groups-${groupListKey(gs)}-in`;
  const listOut = (gs: string[]) => `groups-${groupListKey(gs)}-out`;

  it('per port: bridge chains and counters, inet counters; a chain per list of groups, shared', () => {
    for (const p of ['a', 'b', 'c']) {
      expect(rs.bridge.chains.has(`port-to-${p}`), p).toBe(true);
      expect(rs.bridge.counters.has(`spoof-${p}`), p).toBe(true);
      expect(rs.inet.counters.has(`policy-in-${p}`), p).toBe(true);
      expect(rs.inet.counters.has(`policy-out-${p}`), p).toBe(true);
    }
    expect(rs.bridge.counters.has('no-bridge-netfilter')).toBe(true);
    for (const gs of [['web', 'ssh'], ['web'], []]) expect(rs.inet.chains.has(listIn(gs)) && rs.inet.chains.has(listOut(gs)), gs.join()).toBe(true);
    // The same groups in another order are the same list.
    expect(groupListKey(['ssh', 'web'])).toBe(groupListKey(['web', 'ssh', 'web']));
    const d = port('d', 4, { groups: ['ssh', 'web'] });
    expect([...buildRuleset([a, d], groups).inet.chains.keys()].filter((n) => n.startsWith('groups-'))).toHaveLength(2);
  });
  it('the maps lead each port device and id to its chains', () => {
    const values = (t: 'bridge' | 'inet', m: string) => [...rs[t].sets.get(m)!.elements.values()];
    expect(values('bridge', 'to-port')).toEqual([['hv-a', { jump: { target: 'port-to-a' } }], ['hv-b', { jump: { target: 'port-to-b' } }], ['hv-c', { jump: { target: 'port-to-c' } }]]);
    expect(values('inet', 'egress-by-src')).toEqual([[1, { jump: { target: listOut(['web', 'ssh']) } }], [2, { jump: { target: listOut(['web']) } }], [3, { jump: { target: listOut([]) } }]]);
    expect(values('inet', 'ingress-by-dst')).toEqual([[1 << 16, { jump: { target: listIn(['web', 'ssh']) } }], [2 << 16, { jump: { target: listIn(['web']) } }], [3 << 16, { jump: { target: listIn([]) } }]]);
    // Each port's drops count in its own counters, found by id or address.
    expect(values('inet', 'egress-counters')).toEqual([[1, 'policy-out-a'], [2, 'policy-out-b'], [3, 'policy-out-c']]);
    expect(values('inet', 'ingress-counters')).toEqual([[1 << 16, 'policy-in-a'], [2 << 16, 'policy-in-b'], [3 << 16, 'policy-in-c']]);
    // Routed/local traffic to a workload by address; CIDRs of address pairs are not keys.
    expect(values('inet', 'ingress-v4')).toContainEqual([{ concat: ['hn-n', '10.70.0.200'] }, { jump: { target: listIn(['web', 'ssh']) } }]);
    expect(values('inet', 'ingress-v4-counters')).toContainEqual([{ concat: ['hn-n', '10.70.0.200'] }, 'policy-in-a']);
    expect(values('inet', 'ingress-v4').some((e) => JSON.stringify(e).includes('10.70.0.0/30'))).toBe(false);
  });
  it('a group-list chain jumps to its groups; the base chains count per port and drop what none accepted', () => {
    // Replies of allowed flows pass before any policy.
    expect(JSON.stringify([...rs.inet.chains.values()].map((c) => c.rules))).toContain(JSON.stringify([{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, accept]));
    expect(rs.inet.chains.get(listIn(['web', 'ssh']))!.rules).toEqual([[{ jump: { target: 'sg-ssh-in' } }], [{ jump: { target: 'sg-web-in' } }]]);
    expect(rs.inet.chains.get(listOut(['web']))!.rules).toEqual([[{ jump: { target: 'sg-web-out' } }]]);
    expect(rs.inet.chains.get(listIn([]))!.rules).toEqual([]);
    // After the verdict map: the port's counter (by id) and drop, then a drop for ids we never wrote.
    const ingress = rs.inet.chains.get('ingress')!.rules.map((r) => JSON.stringify(r));
    const at = ingress.findIndex((r) => r.includes('"@ingress-by-dst"') && r.includes('"vmap"'));
    expect(at).toBeGreaterThan(0);
    expect(ingress[at + 1]).toContain('"@ingress-counters"');
    expect(ingress[at + 1]).toContain('"drop"');
    expect(ingress[at + 2]).toBe(JSON.stringify([drop]));
  });
  it('group member sets: the members\' addresses merged, link-local left out; empty groups have empty sets', () => {
    const el = (m: string) => [...rs.inet.sets.get(m)!.elements.values()];
    expect(el('sg-web-v4')).toEqual([{ range: ['10.70.0.0', '10.70.0.3'] }, '10.70.0.10', '10.70.0.200']);
    expect(el('sg-web-v6')).toEqual(['2001:db8::10']);
    expect(el('sg-ssh-v4')).toEqual(['10.70.0.10', '10.70.0.200']);
    expect(el('sg-empty-v4')).toEqual([]);
    expect(rs.inet.sets.get('sg-web-v4')!.spec).toEqual({ type: 'ipv4_addr', flags: ['interval'] });
    expect(rs.inet.chains.has('sg-empty-in') && rs.inet.chains.has('sg-empty-out')).toBe(true);
  });
  it('anti-spoofing: the bridge table knows each port\'s MACs and source addresses and counts in its spoof counter', () => {
    // Whether in per-port rules or in sets keyed by device: the facts are in the table.
    const text = JSON.stringify(mapsToObjects(rs.bridge));
    for (const x of ['02:00:00:00:00:01', '10.70.0.10', '10.70.0.200', '2001:db8::10', '02:00:00:00:00:02', 'hv-c']) expect(text, x).toContain(x);
    expect(JSON.stringify(mapsToObjects(rs.bridge.chains))).toContain('spoof-');
    expect(rs.bridge.chains.get('port-to-b')!.rules).toEqual([[{ mangle: { key: { meta: { key: 'mark' } }, value: { '|': [{ meta: { key: 'mark' } }, 2 << 16] } } }]]);
  });
  it('the same input builds the same ruleset', () => {
    expect(JSON.stringify(mapsToObjects(buildRuleset([a, b, c], groups)))).toBe(JSON.stringify(mapsToObjects(rs)));
  });
});

function mapsToObjects(v: unknown): unknown {
  if (v instanceof Map) return [...v].map(([k, x]) => [k, mapsToObjects(x)]);
  if (v instanceof Set) return [...v];
  if (Array.isArray(v)) return v.map(mapsToObjects);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapsToObjects(x)]));
  return v;
}
