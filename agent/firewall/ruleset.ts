// The nftables ruleset of port security, built from the protected ports and the security
// groups. Three tables named "hostnet", nobody else's touched:
//  - bridge: one shared anti-spoofing chain for frames from protected bridged ports (source
//    MAC, source addresses, ARP, ND targets, DHCP server and RA messages) over sets keyed by
//    device, and the port-id marks (marks.ts) that tell the inet chains which port is which;
//  - inet: stateful policy (conntrack) on the packets br_netfilter hands up from the bridges,
//    and on routed or host-sent traffic to workloads (found by their addresses); and the
//    same anti-spoofing chain (its IP part) for protected ports of routed networks, whose
//    devices are in no bridge: their packets enter the host's IP stack directly, so the
//    inet prerouting hook checks them (by input device) and marks them like the bridge does;
//  - arp: the ARP part of that chain for routed ports (ARP on a routed device ends at the
//    host, proxy ARP answering it, so the arp family's input hook sees all of it).
// Routed ports are found by device name in every hook (iifname from them, oifname to them),
// never by a per-device base chain: a device comes and goes, a set element does not care.
// A security group is one chain per direction (a matching rule accepts); ports with the same
// list of groups share a chain that jumps to those groups; the base chains find a port's
// list through verdict maps and count what nothing accepted in the port's own counter
// (objref maps) before dropping it. The egress and ingress checks are separate base chains,
// so a packet between two protected ports must pass both.
import {
  accept, and, concat, counterRef, ct, drop, goto, jump, match, meta, orMark, payload, raw, setOf, vmap, named, type NftExpr,
} from '../../dataplane/nftables/json.js';
import { addressElements, raw128Elements } from './address-set.js';
import { Direction, type SecurityGroup } from '../api/gen/hostnet/v1/resources.js';
import { alwaysAllowed, antiSpoofChain, dropUnless, groupListChain, groupListKey, portPolicy, ruleExprs } from './chains.js';
import { DST_MASK, DST_SHIFT, SEEN, SRC_MASK } from './marks.js';
import { addElements, emptyTable, type ChainModel, type SetModel, type TableModel } from './model.js';
import { names, TABLE } from './names.js';
import type { ProtectedPort } from './ports.js';

export { groupListKey } from './chains.js';
export { names, TABLE } from './names.js';

export interface PortWithId extends ProtectedPort {
  id: number;
}

function counterMap(type: string | string[]): SetModel {
  return { spec: { type, map: 'counter' }, elements: new Map() };
}

function verdictMap(type: string | string[]): SetModel {
  return { spec: { type, map: 'verdict' }, elements: new Map() };
}

export interface Ruleset {
  bridge: TableModel;
  inet: TableModel;
  arp: TableModel;
}

export type TableName = keyof Ruleset;

function addressSet(type: string | string[]): SetModel {
  return { spec: { type, flags: ['interval'] }, elements: new Map() };
}

/** What one port adds to the tables; the same port (same facts, same id) adds the same objects. */
interface PortPieces {
  chains: Array<[TableName, string, ChainModel]>;
  counters: Array<[TableName, string]>;
  elements: Array<{ table: TableName; set: string; key: string; expr: NftExpr; owner?: string }>;
}

function portPieces(p: PortWithId): PortPieces {
  const a = p.attachment;
  const elements: PortPieces['elements'] = [];
  const add = (table: TableName, set: string, exprs: NftExpr[], owner?: string): void => {
    for (const expr of exprs) elements.push({ table, set, key: JSON.stringify(expr), expr, ...(owner !== undefined ? { owner } : {}) });
  };
  // Anti-spoofing: a bridged port's in the bridge table; a routed port's IP checks in the inet
  // table and its ARP checks in the arp table (the same sets by the same names in each).
  const ip: TableName = p.routed ? 'inet' : 'bridge';
  add(ip, p.routed ? 'routed-ports' : 'protected', [p.ifName]);
  add(ip, 'src-marks', [[p.ifName, p.id]]);
  add(ip, 'spoof-counters', [[p.ifName, names.spoof(a)]]);
  add(ip, 'port-macs', p.macs.map((m) => concat(p.ifName, m)));
  add(ip, 'port-v4', addressElements(4, p.v4).map((e) => concat(p.ifName, e)));
  add(ip, 'port-v6', addressElements(6, p.v6).map((e) => concat(p.ifName, e)));
  add(ip, 'nd-check', [[p.ifName, jump(names.nd(a))]]);
  if (p.routed) {
    add('arp', 'protected', [p.ifName]);
    add('arp', 'spoof-counters', [[p.ifName, names.arpSpoof(a)]]);
    add('arp', 'port-macs', p.macs.map((m) => concat(p.ifName, m)));
    add('arp', 'port-v4', addressElements(4, p.v4).map((e) => concat(p.ifName, e)));
  } else add('bridge', 'to-port', [[p.ifName, jump(names.to(a))]]);
  const key = groupListKey(p.groups);
  // From the port: by the id its anti-spoofing chain put in the mark, bridged or routed.
  add('inet', 'egress-by-src', [[p.id, jump(names.groupsOut(key))]]);
  add('inet', 'egress-counters', [[p.id, names.policyOut(a)]]);
  if (p.routed) {
    // To a routed port: whatever leaves through its device is for it (no bridge marks it).
    add('inet', 'ingress-by-dev', [[p.ifName, jump(names.groupsIn(key))]]);
    add('inet', 'ingress-dev-counters', [[p.ifName, names.policyIn(a)]]);
  } else {
    add('inet', 'ingress-by-dst', [[p.id << DST_SHIFT, jump(names.groupsIn(key))]]);
    add('inet', 'ingress-counters', [[p.id << DST_SHIFT, names.policyIn(a)]]);
  }
  if (p.bridge) {
    add('inet', 'bridges', [p.bridge]);
    if (!p.dhcpServer) add('inet', 'external-dhcp', [p.bridge]);
    for (const [f, addrs] of [['v4', p.v4], ['v6', p.v6]] as const) {
      for (const ip of addrs) {
        if (ip.includes('/')) continue;
        const k = concat(p.bridge, ip);
        const owner = `${f} ${p.bridge} ${ip}`;
        add('inet', `ingress-${f}-known`, [k], owner);
        add('inet', `ingress-${f}`, [[k, jump(names.groupsIn(key))]], owner);
        add('inet', `ingress-${f}-counters`, [[k, names.policyIn(a)]], owner);
      }
    }
  }
  return {
    chains: [
      [ip, names.nd(a), { rules: [dropUnless(raw('th', 64, 128), raw128Elements(p.v6), names.spoof(a))] }],
      ...(p.routed ? [] : [['bridge', names.to(a), { rules: [[orMark(p.id << DST_SHIFT)]] }] as [TableName, string, ChainModel]]),
      ['inet', names.groupsIn(key), groupListChain(p.groups, true)],
      ['inet', names.groupsOut(key), groupListChain(p.groups, false)],
    ],
    counters: [[ip, names.spoof(a)], ...(p.routed ? [['arp', names.arpSpoof(a)] as [TableName, string]] : []), ['inet', names.policyIn(a)], ['inet', names.policyOut(a)]],
    elements,
  };
}

/**
 * Builds rulesets again and again from mostly the same ports: a port whose facts did not
 * change contributes the very objects it did last time, and when no port changed at all (a
 * rule edited) the port tables are the last ones, so only the groups' part is built anew.
 */
export class RulesetBuilder {
  private cache = new Map<string, PortPieces>();
  private lastPorts = '';
  private lastBase: Ruleset | null = null;

  /** `keys`: each port as JSON (what the caller already computed for its fingerprint). */
  build(ports: readonly PortWithId[], groups: readonly SecurityGroup[], keys = ports.map((p) => JSON.stringify(p)), zones: ReadonlyMap<string, number> = new Map()): Ruleset {
    const all = keys.join('\n');
    if (this.lastBase === null || all !== this.lastPorts) {
      const next = new Map<string, PortPieces>();
      const view: PiecesCache = {
        get: (i) => this.cache.get(keys[i]!),
        set: (i, pieces) => void next.set(keys[i]!, pieces),
      };
      this.lastBase = portTables(ports, view);
      this.lastPorts = all;
      this.cache = next;
    }
    return withGroups(this.lastBase, ports, groups, zones);
  }
}

interface PiecesCache {
  get(index: number): PortPieces | undefined;
  set(index: number, pieces: PortPieces): void;
}

/** `zones`: conntrack zone by bridge (zones.ts), for bridges not in the default zone. */
export function buildRuleset(ports: readonly PortWithId[], groups: readonly SecurityGroup[], zones: ReadonlyMap<string, number> = new Map()): Ruleset {
  return withGroups(portTables(ports), ports, groups, zones);
}

/**
 * The groups' chains and member sets, and the bridges' conntrack zones, added to the port
 * tables (which stay as they are).
 */
function withGroups(base: Ruleset, ports: readonly PortWithId[], groups: readonly SecurityGroup[], zones: ReadonlyMap<string, number>): Ruleset {
  const inet: TableModel = { ...base.inet, chains: new Map(base.inet.chains), sets: new Map(base.inet.sets) };
  // Before conntrack (priority -200) looks the packet up: its bridge's zone.
  const zoned = [...zones].filter(([, z]) => z !== 0).sort((a, b) => a[0].localeCompare(b[0]));
  const setZone = (dir: 'iifname' | 'oifname') => zoned.map(([bridge, z]) => [match(meta(dir), bridge), { mangle: { key: ct('zone'), value: z } }]);
  inet.chains.set('prerouting', {
    base: { type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept' },
    rules: [...setZone('iifname'), [match(meta('iifname'), named('bridges')), orMark(SEEN)],
      // Before conntrack: a forged packet from a routed port creates no entry.
      [match(meta('iifname'), named('routed-ports')), jump('anti-spoof')]],
  });
  inet.chains.set('zone-out', { base: { type: 'filter', hook: 'output', prio: -300, policy: 'accept' }, rules: setZone('oifname') });
  const members = new Map<string, { v4: Set<string>; v6: Set<string> }>(groups.map((g) => [g.name, { v4: new Set(), v6: new Set() }]));
  for (const p of ports) {
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
      const set = addressSet(f === 4 ? 'ipv4_addr' : 'ipv6_addr');
      addElements(set, addressElements(f, [...(f === 4 ? m.v4 : m.v6)]));
      inet.sets.set(names.groupSet(g.name, f), set);
    }
    const rules = (d: Direction): NftExpr[][] => g.rules.filter((r) => r.direction === d).flatMap(ruleExprs);
    inet.chains.set(names.groupIn(g.name), { rules: rules(Direction.INGRESS) });
    inet.chains.set(names.groupOut(g.name), { rules: rules(Direction.EGRESS) });
  }
  return { bridge: base.bridge, inet, arp: base.arp };
}

/** Everything but the groups' chains and sets: base chains, anti-spoofing, each port's own. */
function portTables(ports: readonly PortWithId[], cache?: PiecesCache): Ruleset {
  const bridge = emptyTable('bridge', TABLE);
  const inet = emptyTable('inet', TABLE);
  const arp = emptyTable('arp', TABLE);

  // bridge: frames from a protected port go through anti-spoofing (which also marks them
  // with the port's id); frames to one get its id in the destination field.
  spoofSets(bridge, 'protected', true);
  bridge.sets.set('to-port', verdictMap('ifname'));
  bridge.counters.add(names.noBridgeNetfilter);
  bridge.chains.set('prerouting', { base: { type: 'filter', hook: 'prerouting', prio: -200, policy: 'accept' }, rules: [[match(meta('iifname'), named('protected')), jump('anti-spoof')]] });
  bridge.chains.set('anti-spoof', antiSpoofChain('bridge'));
  // Routed ports: IP checked in inet prerouting (the rule in withGroups), ARP in arp input.
  spoofSets(inet, 'routed-ports', true);
  inet.chains.set('anti-spoof', antiSpoofChain('routed-ip'));
  spoofSets(arp, 'protected', false);
  arp.chains.set('input', { base: { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }, rules: [[match(meta('iifname'), named('protected')), jump('anti-spoof')]] });
  arp.chains.set('anti-spoof', antiSpoofChain('routed-arp'));
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
  for (const name of ['egress-by-src', 'ingress-by-dst']) inet.sets.set(name, verdictMap('mark'));
  for (const name of ['egress-counters', 'ingress-counters']) inet.sets.set(name, counterMap('mark'));
  for (const [f, type] of [['v4', 'ipv4_addr'], ['v6', 'ipv6_addr']] as const) {
    inet.sets.set(`ingress-${f}-known`, { spec: { type: ['ifname', type] }, elements: new Map() });
    inet.sets.set(`ingress-${f}`, verdictMap(['ifname', type]));
    inet.sets.set(`ingress-${f}-counters`, counterMap(['ifname', type]));
  }
  inet.sets.set('bridges', { spec: { type: 'ifname' }, elements: new Map() });
  inet.sets.set('external-dhcp', { spec: { type: 'ifname' }, elements: new Map() });
  const src = and(meta('mark'), SRC_MASK);
  const dst = and(meta('mark'), DST_MASK);
  const fromWorkload = [...alwaysAllowed('from'), [match(src, 0), accept], ...portPolicy(src, 'egress-by-src', 'egress-counters')];
  inet.chains.set('egress', { base: { type: 'filter', hook: 'forward', prio: 0, policy: 'accept' }, rules: fromWorkload });
  inet.chains.set('input', { base: { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }, rules: fromWorkload });
  inet.sets.set('ingress-by-dev', verdictMap('ifname'));
  inet.sets.set('ingress-dev-counters', counterMap('ifname'));
  const toRouted = [match(meta('oifname'), named('routed-ports')), goto('to-routed')];
  inet.chains.set('ingress', {
    base: { type: 'filter', hook: 'forward', prio: 1, policy: 'accept' },
    rules: [...alwaysAllowed('to'), toRouted, [match(dst, 0), goto('to-address')], ...portPolicy(dst, 'ingress-by-dst', 'ingress-counters')],
  });
  inet.chains.set('output', { base: { type: 'filter', hook: 'output', prio: 0, policy: 'accept' }, rules: [...alwaysAllowed('to-from-host'), toRouted, [goto('to-address')]] });
  // Routed or host-sent traffic to a routed port: the port is the one whose device it leaves by.
  inet.chains.set('to-routed', { rules: portPolicy(meta('oifname'), 'ingress-by-dev', 'ingress-dev-counters') });
  // Routed or host-sent traffic to a workload: the port is the one holding the address.
  inet.chains.set('to-address', {
    rules: (['v4', 'v6'] as const).map((f) => [match(concat(meta('oifname'), payload(f === 'v4' ? 'ip' : 'ip6', 'daddr')), named(`ingress-${f}-known`)), jump(`to-address-${f}`)]),
  });
  for (const f of ['v4', 'v6'] as const) {
    inet.chains.set(`to-address-${f}`, { rules: portPolicy(concat(meta('oifname'), payload(f === 'v4' ? 'ip' : 'ip6', 'daddr')), `ingress-${f}`, `ingress-${f}-counters`) });
  }

  const addressOwners = new Map<string, string>();
  const tables = { bridge, inet, arp };
  ports.forEach((p, i) => {
    const pieces = cache?.get(i) ?? portPieces(p);
    cache?.set(i, pieces);
    for (const [t, name, chain] of pieces.chains) tables[t].chains.set(name, chain);
    for (const [t, name] of pieces.counters) tables[t].counters.add(name);
    for (const e of pieces.elements) {
      if (e.owner !== undefined) {
        // An address two ports share (a VIP in both their pairs) leads to the first of them.
        const owner = addressOwners.get(e.owner);
        if (owner !== undefined && owner !== p.attachment) continue;
        addressOwners.set(e.owner, p.attachment);
      }
      tables[e.table].sets.get(e.set)!.elements.set(e.key, e.expr);
    }
  });
  return { bridge, inet, arp };
}

/**
 * The sets the anti-spoofing chain reads, in `t`: the devices it checks (`devices`), their
 * spoof counters, MACs and IPv4 sources; and with `ip`, what only IP checks read (the marks,
 * IPv6 sources, the ND target chains).
 */
function spoofSets(t: TableModel, devices: string, ip: boolean): void {
  t.sets.set(devices, { spec: { type: 'ifname' }, elements: new Map() });
  t.sets.set('spoof-counters', counterMap('ifname'));
  t.sets.set('port-macs', { spec: { type: ['ifname', 'ether_addr'] }, elements: new Map() });
  t.sets.set('port-v4', addressSet(['ifname', 'ipv4_addr']));
  if (!ip) return;
  t.sets.set('src-marks', { spec: { type: 'ifname', map: 'mark' }, elements: new Map() });
  t.sets.set('port-v6', addressSet(['ifname', 'ipv6_addr']));
  t.sets.set('nd-check', verdictMap('ifname'));
}
