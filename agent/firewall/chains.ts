// The rules the firewall's chains are made of: anti-spoofing on frames from workloads, a
// security rule as nft expressions, a list of groups as a chain, a port's policy in a base
// chain, and what always passes. Pure: values in, nft expressions out.
import { createHash } from 'node:crypto';
import { parseCidr } from '../../dataplane/ip.js';
import {
  accept, concat, counterRef, ct, drop, jump, match, meta, payload, prefix, range, ret, setMark, setOf, vmap, named, type NftExpr,
} from '../../dataplane/nftables/json.js';
import { Direction, type SecurityRule } from '../api/gen/hostnet/v1/resources.js';
import { parseProtocol, PORT_PROTOCOLS } from '../desired/validate-security.js';
import type { ChainModel } from './model.js';
import { names } from './names.js';

const ND_TO_WORKLOAD = ['nd-neighbor-solicit', 'nd-neighbor-advert', 'nd-router-advert', 'nd-redirect'];
const ND_FROM_WORKLOAD = ['nd-router-solicit', 'nd-neighbor-solicit', 'nd-neighbor-advert', 'mld-listener-report', 'mld2-listener-report'];
const UNSPECIFIED_SOURCE_ICMPV6 = ['nd-neighbor-solicit', 'mld-listener-report', 'mld2-listener-report'];

/** Count in the port's own spoof counter (an objref map by input device) and drop. */
const spoofDrop: NftExpr[] = [{ counter: { map: { key: meta('iifname'), data: named('spoof-counters') } } }, drop];

/**
 * Where anti-spoofing runs:
 *  - 'bridge': frames from bridged ports, in the bridge family's prerouting (every ethertype);
 *  - 'routed-ip': IPv4/IPv6 from routed ports (no bridge: their packets enter the host's IP
 *    stack directly), in the inet family's prerouting, where `ether saddr` and `ether type`
 *    can still be read for Ethernet devices (TAP, veth);
 *  - 'routed-arp': ARP from routed ports, in the arp family's input (ARP on a routed device
 *    ends at the host: proxy ARP answers it; it is never forwarded).
 * Frames of other ethertypes and VLAN-tagged frames from a routed port reach no netfilter hook
 * and need no rule: a routed device has no VLAN subdevice and no bridge, so the kernel drops a
 * tagged frame (PACKET_OTHERHOST) and has no handler for other ethertypes; they are not
 * counted (a netdev ingress chain per device could count them, but a device comes and goes
 * while such a chain needs it to exist).
 */
export type SpoofLayer = 'bridge' | 'routed-ip' | 'routed-arp';

/**
 * Anti-spoofing, one chain for every protected port of a layer: what a port may use is in
 * sets keyed by its device name (in the layer's table), so a lease or an address pair changes
 * set elements, not rules. The rules are the same for every layer but for those a layer never
 * sees: one home for each check.
 */
export function antiSpoofChain(layer: SpoofLayer = 'bridge'): ChainModel {
  // `ether type`, not `meta protocol`: a VLAN tag the device moved into the packet's metadata
  // leaves `meta protocol` showing the inner protocol, while `ether type` still says 8021q.
  const isArp = match(payload('ether', 'type'), 'arp');
  const own = (field: NftExpr, set: string): NftExpr => match(concat(meta('iifname'), field), named(set), '!=');
  // The port's id in the mark tells the inet policy chains which port a packet came from.
  const mark: NftExpr[][] = [[setMark({ map: { key: meta('iifname'), data: named('src-marks') } })]];
  const mac: NftExpr[][] = [[own(payload('ether', 'saddr'), 'port-macs'), ...spoofDrop]];
  // VLAN-tagged frames and other ethertypes would bypass every check below.
  const ethertype: NftExpr[][] = [[match(payload('ether', 'type'), setOf(['ip', 'ip6', 'arp']), '!='), ...spoofDrop]];
  const arp: NftExpr[][] = [
    [isArp, own(payload('arp', 'saddr ether'), 'port-macs'), ...spoofDrop],
    [isArp, match(payload('arp', 'saddr ip'), '0.0.0.0'), ret], // address probe (RFC 5227)
    [isArp, own(payload('arp', 'saddr ip'), 'port-v4'), ...spoofDrop],
  ];
  const ip: NftExpr[][] = [
    [match(payload('udp', 'sport'), setOf([67, 547])), ...spoofDrop],
    [match(payload('icmpv6', 'type'), setOf(['nd-router-advert', 'nd-redirect'])), ...spoofDrop],
    [match(payload('ip', 'saddr'), '0.0.0.0'), match(payload('udp', 'sport'), 68), match(payload('udp', 'dport'), 67), ret],
    [match(payload('ether', 'type'), 'ip'), own(payload('ip', 'saddr'), 'port-v4'), ...spoofDrop],
    [match(payload('ip6', 'saddr'), '::'), match(payload('icmpv6', 'type'), setOf(UNSPECIFIED_SOURCE_ICMPV6)), ret],
    [match(payload('ether', 'type'), 'ip6'), own(payload('ip6', 'saddr'), 'port-v6'), ...spoofDrop],
    // A neighbour advertisement may only announce the port's own addresses. nft 1.0.6 has
    // no ND target field and cannot declare a raw-payload set in JSON: a chain per port.
    [match(payload('icmpv6', 'type'), 'nd-neighbor-advert'), vmap(meta('iifname'), 'nd-check')],
  ];
  if (layer === 'routed-ip') return { rules: [...mark, ...mac, ...ip] };
  if (layer === 'routed-arp') return { rules: [...mac, ...arp] };
  return { rules: [...mark, ...mac, ...ethertype, ...arp, ...ip] };
}

/** `left != {allowed}` then count and drop; with nothing allowed, every such packet drops. */
export function dropUnless(left: NftExpr, allowed: NftExpr[], counter: string): NftExpr[] {
  return allowed.length === 0 ? [counterRef(counter), drop] : [match(left, setOf(allowed), '!='), counterRef(counter), drop];
}

/** The rules one security rule becomes (one per family when the remote is a group). */
export function ruleExprs(r: SecurityRule): NftExpr[][] {
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

/**
 * A list of groups as a chain name part: ports with the same groups (in any order) share one
 * chain per direction, so a thousand ports in a handful of group combinations load as a
 * handful of chains.
 */
export function groupListKey(groups: readonly string[]): string {
  const list = [...new Set(groups)].sort();
  return list.length === 0 ? 'none' : createHash('sha256').update(list.join(',')).digest('hex').slice(0, 12);
}

/** What a list of groups allows in one direction: a match in a group chain accepts; none returns. */
export function groupListChain(groups: readonly string[], ingress: boolean): ChainModel {
  return { rules: [...new Set(groups)].sort().map((g) => [jump(ingress ? names.groupIn(g) : names.groupOut(g))]) };
}

/** Count in the port's policy counter (found by `key` in an objref map) and drop. */
const countedDrop = (key: NftExpr, counters: string): NftExpr[] => [{ counter: { map: { key, data: named(counters) } } }, drop];

/**
 * A protected port's policy once `key` says which port: invalid packets drop, the port's
 * group list decides (a match accepts), anything else is counted for the port and dropped;
 * a key without a port (never written by us) drops too.
 */
export function portPolicy(key: NftExpr, verdicts: string, counters: string): NftExpr[][] {
  return [
    [match(ct('state'), 'invalid', 'in'), ...countedDrop(key, counters)],
    [vmap(key, verdicts)],
    countedDrop(key, counters),
    [drop],
  ];
}

/**
 * What always passes before a port's policy: replies, ND, and DHCP with its network's server.
 * `to`: towards workloads, bridged or routed (forward) or from the host itself (output): the
 * host's DHCP replies come from whatever address the kernel picks for the bridge, so on the
 * output hook they pass by port alone; bridged from elsewhere they pass only on networks
 * where hostnet serves no DHCP (an external server behind the uplink), never from a rogue
 * server next to a network's own.
 */
export function alwaysAllowed(direction: 'from' | 'to' | 'to-from-host'): NftExpr[][] {
  const ports = (sport: number, dport: number): NftExpr[] => [match(payload('udp', 'sport'), sport), match(payload('udp', 'dport'), dport)];
  // DHCPv4 (client 68, server 67) and DHCPv6 (client 546, server 547) alike.
  const exchanges: Array<[client: number, server: number]> = [[68, 67], [546, 547]];
  return [
    [match(ct('state'), ['established', 'related'], 'in'), accept],
    [match(payload('icmpv6', 'type'), setOf(direction === 'from' ? ND_FROM_WORKLOAD : ND_TO_WORKLOAD)), accept],
    ...exchanges.map(([client, server]) => (direction === 'from' ? [...ports(client, server), accept]
      : direction === 'to-from-host' ? [...ports(server, client), accept]
        : [match(meta('iifname'), named('external-dhcp')), ...ports(server, client), accept])),
  ];
}
