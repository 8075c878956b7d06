// Checks of what makes a network reach other hosts: the node settings (BGP, the pool slice),
// a VXLAN uplink's way to find the other hosts (remote, group, a flood list or EVPN), and the
// rule that a network spanning hosts hands out addresses only from this host's slice.
// Like validate-security.ts, violations go out through `add` (no import of validate.ts).
import { isMulticast, parseIp } from '../../dataplane/ip.js';
import { Ipv6Mode, type DesiredState, type Network, type VxlanUplink } from '../api/gen/hostnet/v1/resources.js';
import { subnetOf } from './subnets.js';

export type AddViolation = (path: string, rule: string, message: string) => void;

const MAX_ASN = 4294967295;

export function validateNode(state: DesiredState, add: AddViolation): void {
  const node = state.node;
  const bgp = node?.bgp;
  if (bgp) {
    if (!Number.isInteger(bgp.asn) || bgp.asn < 1 || bgp.asn > MAX_ASN) add('node.bgp.asn', 'bgp-asn-range', `AS number ${bgp.asn} is out of range 1..${MAX_ASN}`);
    const id = parseIp(bgp.routerId);
    if (!id || id.family !== 4) add('node.bgp.routerId', 'bgp-router-id', `router id "${bgp.routerId}" is not an IPv4 address`);
    const seen = new Map<string, number>();
    bgp.peers.forEach((peer, i) => {
      const p = `node.bgp.peers[${i}]`;
      const ip = parseIp(peer.address);
      if (!ip) add(`${p}.address`, 'ip-format', `peer address "${peer.address}" is not an IP address`);
      else if (seen.has(ip.text)) add(`${p}.address`, 'bgp-peer-unique', `peer ${ip.text} is listed twice (also node.bgp.peers[${seen.get(ip.text)}])`);
      else seen.set(ip.text, i);
      if (!Number.isInteger(peer.asn) || peer.asn < 1 || peer.asn > MAX_ASN) add(`${p}.asn`, 'bgp-asn-range', `AS number ${peer.asn} is out of range 1..${MAX_ASN}`);
      if (/[\n\r!]/.test(peer.description)) add(`${p}.description`, 'bgp-description', 'a description is one line without "!"');
    });
  }
  const slice = node?.poolSlice;
  if (slice && (!Number.isInteger(slice.count) || slice.count < 1 || !Number.isInteger(slice.index) || slice.index >= slice.count)) {
    add('node.poolSlice', 'pool-slice-range', `slice ${slice.index} of ${slice.count}: count must be at least 1 and index below it`);
  }

  state.networks.forEach((n, i) => {
    const k = n.uplink?.kind;
    if (k?.$case === 'vxlan') validateDestinations(k.vxlan, `networks[${i}].uplink.vxlan`, !!bgp, add);
    // A VXLAN segment exists to join hosts, so its pools must be sliced. A VLAN or an untagged
    // NIC may just as well lead to a LAN where this host is the only one serving: slices apply
    // when given, and the control plane must give them when several hosts share the segment.
    if (k?.$case !== 'vxlan' || slice) return;
    const handsOut = handsOutAddresses(n, state);
    if (handsOut) {
      add(`networks[${i}]`, 'pool-slice-required',
        `network "${n.name}" spans hosts over its uplink and ${handsOut}: set node.poolSlice (this host's share of the pools, ` +
        'a different index on every host) so that no two hosts hand out the same address');
    }
  });
}

/** What a network hands out from its pools on this host (words for the error), or null. */
function handsOutAddresses(n: Network, state: DesiredState): string | null {
  if (subnetOf(n, 4)?.dhcp?.enabled) return 'serves DHCP';
  const v6 = subnetOf(n, 6);
  if (v6?.dhcp?.enabled && v6.ipv6Mode === Ipv6Mode.DHCPV6_STATEFUL) return 'serves DHCPv6 addresses';
  const auto = state.attachments.find((a) => a.network === n.name &&
    (a.ip?.mode?.$case === 'auto' || (a.ip?.addresses ?? []).some((r) => r.mode?.$case === 'auto')));
  return auto ? `gives attachment "${auto.name}" an auto address` : null;
}

function validateDestinations(x: VxlanUplink, xp: string, hasBgp: boolean, add: AddViolation): void {
  const ways = [x.destination?.$case, x.remotes.length > 0 ? 'remotes' : undefined, x.evpn ? 'evpn' : undefined].filter((w) => w);
  if (ways.length > 1) add(xp, 'vxlan-destination', `give one of remote, group, remotes or evpn, not ${ways.join(' and ')}`);
  const local = x.local ? parseIp(x.local) : null;
  const seen = new Set<string>();
  x.remotes.forEach((text, j) => {
    const p = `${xp}.remotes[${j}]`;
    const r = parseIp(text);
    if (!r) add(p, 'ip-format', `remote "${text}" is not an IP address`);
    else if (isMulticast(r)) add(p, 'vxlan-remote-unicast', `remote ${r.text} is a multicast address; use group for multicast`);
    else if (local && local.family !== r.family) add(p, 'vxlan-family', 'local and remotes must be the same IP family');
    else if (local && local.text === r.text) add(p, 'vxlan-remote-local', `remote ${r.text} is this host's own local address`);
    else if (seen.has(r.text)) add(p, 'vxlan-remote-unique', `remote ${r.text} is listed twice`);
    if (r) seen.add(r.text);
  });
  if (x.evpn) {
    if (!local) add(`${xp}.local`, 'vxlan-evpn-local', 'EVPN needs the local tunnel address (FRR announces it as this host\'s VTEP)');
    if (!hasBgp) add(`${xp}.evpn`, 'vxlan-evpn-bgp', 'EVPN needs node.bgp (the BGP sessions that carry the routes)');
  }
}
