// The nftables ruleset of port security, built from the protected ports and the security
// groups. Two tables named "hostnet", nobody else's touched:
//  - bridge: per port, anti-spoofing on frames from the workload (source MAC, source
//    addresses, ARP, ND targets, DHCP server and RA messages) and the port-id marks;
//  - inet: stateful policy (conntrack) on the packets br_netfilter hands up from the bridges,
//    plus routed and local traffic to workloads (found by their addresses).
// A rule group is one chain per direction; a port's policy chain jumps to its groups' chains,
// and a rule that matches accepts (for that base chain: the egress and ingress checks are
// separate base chains, so both must pass).
import {
  accept, and, concat, counterRef, ct, drop, jump, match, meta, orMark, payload, prefix, range, raw, ret, setMark, setOf, vmap,
  named, type NftExpr,
} from '../../dataplane/nftables/json.js';
import { parseCidr } from '../../dataplane/ip.js';
import { addressElements, raw128Elements } from './address-set.js';
import { Direction, type SecurityGroup, type SecurityRule } from '../api/gen/hostnet/v1/resources.js';
import { parseProtocol, PORT_PROTOCOLS } from '../desired/validate-security.js';
import { DST_MASK, DST_SHIFT, SEEN, SRC_MASK } from './marks.js';
import { addElements, emptyTable, type ChainModel, type SetModel, type TableModel } from './model.js';
import type { ProtectedPort } from './ports.js';

export const TABLE = 'hostnet';

export interface PortWithId extends ProtectedPort {
  id: number;
}

export const names = {
  from: (a: string) => `port-from-${a}`,
  to: (a: string) => `port-to-${a}`,
  in: (a: string) => `port-in-${a}`,
  out: (a: string) => `port-out-${a}`,
  spoof: (a: string) => `spoof-${a}`,
  policyIn: (a: string) => `policy-in-${a}`,
  policyOut: (a: string) => `policy-out-${a}`,
  groupIn: (g: string) => `sg-${g}-in`,
  groupOut: (g: string) => `sg-${g}-out`,
  groupSet: (g: string, family: 4 | 6) => `sg-${g}-v${family}`,
  noBridgeNetfilter: 'no-bridge-netfilter',
};

const ND_TO_WORKLOAD = ['nd-neighbor-solicit', 'nd-neighbor-advert', 'nd-router-advert', 'nd-redirect'];
const ND_FROM_WORKLOAD = ['nd-router-solicit', 'nd-neighbor-solicit', 'nd-neighbor-advert', 'mld-listener-report', 'mld2-listener-report'];
const UNSPECIFIED_SOURCE_ICMPV6 = ['nd-neighbor-solicit', 'mld-listener-report', 'mld2-listener-report'];

/** `left != {allowed}` then count and drop; with nothing allowed, every such packet drops. */
function dropUnless(pre: NftExpr[], left: NftExpr, allowed: NftExpr[], counter: string): NftExpr[] {
  return allowed.length === 0 ? [...pre, counterRef(counter), drop] : [...pre, match(left, setOf(allowed), '!='), counterRef(counter), drop];
}

function fromPortChain(p: PortWithId): ChainModel {
  const c = names.spoof(p.attachment);
  const isArp = match(meta('protocol'), 'arp');
  const v4 = addressElements(4, p.v4);
  return {
    rules: [
      [setMark(p.id)],
      [match(payload('ether', 'saddr'), setOf(p.macs), '!='), counterRef(c), drop],
      // VLAN-tagged frames and other ethertypes would bypass every check below.
      [match(meta('protocol'), setOf(['ip', 'ip6', 'arp']), '!='), counterRef(c), drop],
      [isArp, match(payload('arp', 'saddr ether'), setOf(p.macs), '!='), counterRef(c), drop],
      [isArp, match(payload('arp', 'saddr ip'), '0.0.0.0'), ret], // address probe (RFC 5227)
      dropUnless([isArp], payload('arp', 'saddr ip'), v4, c),
      [match(payload('udp', 'sport'), setOf([67, 547])), counterRef(c), drop],
      [match(payload('icmpv6', 'type'), setOf(['nd-router-advert', 'nd-redirect'])), counterRef(c), drop],
      [match(payload('ip', 'saddr'), '0.0.0.0'), match(payload('udp', 'sport'), 68), match(payload('udp', 'dport'), 67), ret],
      dropUnless([match(meta('protocol'), 'ip')], payload('ip', 'saddr'), v4, c),
      [match(payload('ip6', 'saddr'), '::'), match(payload('icmpv6', 'type'), setOf(UNSPECIFIED_SOURCE_ICMPV6)), ret],
      dropUnless([match(meta('protocol'), 'ip6')], payload('ip6', 'saddr'), addressElements(6, p.v6), c),
      // A neighbour advertisement may only announce the port's own addresses.
      dropUnless([match(payload('icmpv6', 'type'), 'nd-neighbor-advert')], raw('th', 64, 128), raw128Elements(p.v6), c),
    ],
  };
}

/** The rules one security rule becomes (one per family when the remote is a group). */
function ruleExprs(r: SecurityRule): NftExpr[][] {
  const ingress = r.direction === Direction.INGRESS;
  const field = ingress ? 'saddr' : 'daddr';
  const proto = parseProtocol(r.protocol) ?? 0;
  const tail: NftExpr[] = [];
  if (proto !== 0) tail.push(match(meta('l4proto'), proto));
  if (PORT_PROTOCOLS.has(proto) && (r.fromPort !== undefined || r.toPort !== undefined)) {
    const from = r.fromPort ?? r.toPort!;
    const to = r.toPort ?? r.fromPort!;
    tail.push(match(payload('th', 'dport'), from === to ? from : range(from, to)));
  }
  tail.push(accept);
  const remote = r.remote;
  if (remote?.$case === 'remoteCidr') {
    const c = parseCidr(remote.remoteCidr)!;
    const l3 = c.family === 4 ? 'ip' : 'ip6';
    const addr = c.prefix === 0 ? [match(meta('nfproto'), c.family === 4 ? 'ipv4' : 'ipv6')] : [match(payload(l3, field), prefix(remote.remoteCidr.slice(0, remote.remoteCidr.indexOf('/')), c.prefix))];
    return [[...addr, ...tail]];
  }
  if (remote?.$case === 'remoteGroup') {
    const families: Array<4 | 6> = proto === 1 ? [4] : proto === 58 ? [6] : [4, 6];
    return families.map((f) => [match(payload(f === 4 ? 'ip' : 'ip6', field), named(names.groupSet(remote.remoteGroup, f))), ...tail]);
  }
  return [tail];
}

function policyChain(p: PortWithId, ingress: boolean): ChainModel {
  const counter = ingress ? names.policyIn(p.attachment) : names.policyOut(p.attachment);
  const always: NftExpr[][] = ingress
    ? [
        [match(payload('icmpv6', 'type'), setOf(ND_TO_WORKLOAD)), accept],
        ...(p.dhcpServer ? [[match(payload('ip', 'saddr'), p.dhcpServer), match(payload('udp', 'sport'), 67), match(payload('udp', 'dport'), 68), accept]] : []),
      ]
    : [
        [match(payload('icmpv6', 'type'), setOf(ND_FROM_WORKLOAD)), accept],
        [match(payload('udp', 'sport'), 68), match(payload('udp', 'dport'), 67), accept],
      ];
  return {
    rules: [
      [match(ct('state'), ['established', 'related'], 'in'), accept],
      [match(ct('state'), 'invalid', 'in'), counterRef(counter), drop],
      ...always,
      ...p.groups.map((g) => [jump(ingress ? names.groupIn(g) : names.groupOut(g))]),
      [counterRef(counter), drop],
    ],
  };
}

function verdictMap(type: string | string[]): SetModel {
  return { spec: { type, map: 'verdict' }, elements: new Map() };
}

export interface Ruleset {
  bridge: TableModel;
  inet: TableModel;
}

export function buildRuleset(ports: readonly PortWithId[], groups: readonly SecurityGroup[]): Ruleset {
  const bridge = emptyTable('bridge', TABLE);
  const inet = emptyTable('inet', TABLE);

  // bridge: frames from a port go through its anti-spoofing chain; frames to a port get its id.
  const fromPort = verdictMap('ifname');
  const toPort = verdictMap('ifname');
  bridge.sets.set('from-port', fromPort);
  bridge.sets.set('to-port', toPort);
  bridge.counters.add(names.noBridgeNetfilter);
  bridge.chains.set('prerouting', { base: { type: 'filter', hook: 'prerouting', prio: -200, policy: 'accept' }, rules: [[vmap(meta('iifname'), 'from-port')]] });
  bridge.chains.set('forward', {
    base: { type: 'filter', hook: 'forward', prio: -200, policy: 'accept' },
    rules: [
      [vmap(meta('oifname'), 'to-port')],
      // Fail closed: IP from or to a protected port that the inet hooks never saw (br_netfilter
      // unloaded or bridge-nf-call-ip(6)tables turned off) would pass unfiltered.
      [match(and(meta('mark'), SRC_MASK | DST_MASK), 0, '!='), match(and(meta('mark'), SEEN), 0), match(meta('protocol'), setOf(['ip', 'ip6'])),
        counterRef(names.noBridgeNetfilter), drop],
    ],
  });

  // inet: policy by port id (bridged), by destination address (routed or local to a workload).
  const bySrc = verdictMap('mark');
  const byDst = verdictMap('mark');
  const byAddr4 = verdictMap(['ifname', 'ipv4_addr']);
  const byAddr6 = verdictMap(['ifname', 'ipv6_addr']);
  const bridges: SetModel = { spec: { type: 'ifname' }, elements: new Map() };
  inet.sets.set('egress-by-src', bySrc);
  inet.sets.set('ingress-by-dst', byDst);
  inet.sets.set('ingress-v4', byAddr4);
  inet.sets.set('ingress-v6', byAddr6);
  inet.sets.set('bridges', bridges);
  const toWorkloadByAddr: NftExpr[][] = [
    [vmap(concat(meta('oifname'), payload('ip', 'daddr')), 'ingress-v4')],
    [vmap(concat(meta('oifname'), payload('ip6', 'daddr')), 'ingress-v6')],
  ];
  inet.chains.set('prerouting', { base: { type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept' }, rules: [[match(meta('iifname'), named('bridges')), orMark(SEEN)]] });
  inet.chains.set('egress', { base: { type: 'filter', hook: 'forward', prio: 0, policy: 'accept' }, rules: [[vmap(and(meta('mark'), SRC_MASK), 'egress-by-src')]] });
  inet.chains.set('ingress', {
    base: { type: 'filter', hook: 'forward', prio: 1, policy: 'accept' },
    rules: [
      [vmap(and(meta('mark'), DST_MASK), 'ingress-by-dst')],
      ...toWorkloadByAddr.map((r) => [match(and(meta('mark'), DST_MASK), 0), ...r]),
    ],
  });
  inet.chains.set('input', { base: { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }, rules: [[vmap(and(meta('mark'), SRC_MASK), 'egress-by-src')]] });
  inet.chains.set('output', { base: { type: 'filter', hook: 'output', prio: 0, policy: 'accept' }, rules: toWorkloadByAddr });

  const addressOwners = new Set<string>();
  const members = new Map<string, { v4: Set<string>; v6: Set<string> }>(groups.map((g) => [g.name, { v4: new Set(), v6: new Set() }]));
  for (const p of ports) {
    const a = p.attachment;
    bridge.counters.add(names.spoof(a));
    bridge.chains.set(names.from(a), fromPortChain(p));
    bridge.chains.set(names.to(a), { rules: [[orMark(p.id << DST_SHIFT)]] });
    addElements(fromPort, [[p.ifName, jump(names.from(a))]]);
    addElements(toPort, [[p.ifName, jump(names.to(a))]]);

    inet.counters.add(names.policyIn(a));
    inet.counters.add(names.policyOut(a));
    inet.chains.set(names.in(a), policyChain(p, true));
    inet.chains.set(names.out(a), policyChain(p, false));
    addElements(bySrc, [[p.id, jump(names.out(a))]]);
    addElements(byDst, [[p.id << DST_SHIFT, jump(names.in(a))]]);
    if (p.bridge) {
      addElements(bridges, [p.bridge]);
      // An address two ports share (a VIP in both their address pairs) leads to the first.
      for (const [map, addrs] of [[byAddr4, p.v4], [byAddr6, p.v6]] as const) {
        for (const ip of addrs) {
          const key = `${p.bridge} ${ip}`;
          if (ip.includes('/') || addressOwners.has(key)) continue;
          addressOwners.add(key);
          addElements(map, [[concat(p.bridge, ip), jump(names.in(a))]]);
        }
      }
    }
    for (const g of p.groups) {
      const m = members.get(g);
      if (!m) continue;
      p.v4.forEach((x) => m.v4.add(x));
      p.v6.filter((x) => !x.startsWith('fe80:')).forEach((x) => m.v6.add(x));
    }
  }

  for (const g of groups) {
    const m = members.get(g.name)!;
    for (const f of [4, 6] as const) {
      const set: SetModel = { spec: { type: f === 4 ? 'ipv4_addr' : 'ipv6_addr', flags: ['interval'] }, elements: new Map() };
      addElements(set, addressElements(f, [...(f === 4 ? m.v4 : m.v6)]));
      inet.sets.set(names.groupSet(g.name, f), set);
    }
    const rules = (d: Direction): NftExpr[][] => g.rules.filter((r) => r.direction === d).flatMap(ruleExprs);
    inet.chains.set(names.groupIn(g.name), { rules: rules(Direction.INGRESS) });
    inet.chains.set(names.groupOut(g.name), { rules: rules(Direction.EGRESS) });
  }
  return { bridge, inet };
}
