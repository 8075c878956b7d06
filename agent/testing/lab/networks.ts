// Desired-state builders for the lab's standard networks, in the API's JSON mapping (what
// `hostnetctl apply -f` reads): one network definition is rendered per host, since each host's
// VXLAN device names its own underlay address (local) and, in a flood list, the others'.
// Pure: no I/O.
import { intToIp, parseCidr } from '../../../dataplane/ip4.js';
import { UNDERLAY_DEV, hostAddress } from './topology.js';

/**
 * How a network's VXLAN finds the other hosts:
 *   multicast  a group on the underlay (`group`, `device: eth0`): the kernel floods to it.
 *   flood      head-end replication to a list of remote VTEPs (`remotes`: every other host).
 *   evpn       BGP EVPN through each host's FRR (`evpn: true` plus node.bgp, an iBGP full mesh).
 */
export type LabNetworkMode = 'multicast' | 'flood' | 'evpn';
export const LAB_NETWORK_MODES: readonly LabNetworkMode[] = ['multicast', 'flood', 'evpn'];

export interface LabNetworkSpec {
  name: string;
  mode: LabNetworkMode;
  vni: number;
  /** IPv4 CIDR of the workloads, e.g. 10.78.1.0/24 (no gateway: an L2 segment across hosts). */
  cidr: string;
  /** Multicast group for mode multicast; default 239.1.1.<vni % 256>. */
  group?: string;
  /**
   * false: the uplink names no `local` address, so every host gets the very same network
   * definition (mode multicast only: the kernel takes the source from the route to the group).
   * Default true: each host names its own underlay address.
   */
  local?: boolean;
  /** The network's gateway, on every host's bridge (an anycast gateway); also the DHCP server's address. */
  gateway?: string;
  /** The embedded DHCP server with these pools (each host serves its node.poolSlice of them); needs `gateway`. */
  dhcp?: { pools: Array<{ start: string; end: string }>; leaseSeconds?: number };
  /**
   * A routed network (issue 13) instead of a VXLAN one: the same CIDR on every host, no uplink
   * (mode and vni are ignored), each workload's /32 routed by its host and announced over BGP
   * as `announce` says (default HOST_ROUTES) to the peers of LabOptions.bgp.
   */
  routed?: { announce?: 'HOST_ROUTES' | 'AGGREGATE' | 'NO_ANNOUNCE' };
}

/** The AS of the lab's iBGP mesh. */
export const LAB_ASN = 65077;

/** The VXLAN uplink of `spec` on host `host` of `hosts`. */
export function vxlanUplink(spec: LabNetworkSpec, host: number, hosts: number): Record<string, unknown> {
  const base = { vni: spec.vni, ...(spec.local === false ? {} : { local: hostAddress(host) }) };
  switch (spec.mode) {
    case 'multicast':
      return { ...base, group: spec.group ?? `239.1.1.${spec.vni % 256}`, device: UNDERLAY_DEV };
    case 'flood':
      return { ...base, device: UNDERLAY_DEV, remotes: otherHosts(host, hosts).map(hostAddress) };
    case 'evpn':
      return { ...base, device: UNDERLAY_DEV, evpn: true };
  }
}

export function labNetwork(spec: LabNetworkSpec, host: number, hosts: number): Record<string, unknown> {
  if (spec.routed) {
    return {
      name: spec.name, ipFamily: 'IPV4', cidr: spec.cidr, mode: 'ROUTED', announce: spec.routed.announce ?? 'HOST_ROUTES',
      ...(spec.gateway ? { gateway: spec.gateway } : {}),
    };
  }
  return {
    name: spec.name, ipFamily: 'IPV4', cidr: spec.cidr, uplink: { vxlan: vxlanUplink(spec, host, hosts) },
    ...(spec.gateway ? { gateway: spec.gateway, gatewayOnBridge: true } : {}),
    ...(spec.dhcp ? { dhcp: { enabled: true, pools: spec.dhcp.pools, ...(spec.dhcp.leaseSeconds ? { leaseSeconds: spec.dhcp.leaseSeconds } : {}) } } : {}),
  };
}

const otherHosts = (host: number, hosts: number): number[] => Array.from({ length: hosts }, (_, k) => k + 1).filter((h) => h !== host);

/**
 * An iBGP full mesh: every host peers with every other, router id = its underlay address.
 * (No route reflector: a full mesh needs none, and the API has no route-reflector-client
 * setting; a fabric of many hosts would peer with reflectors outside hostnet.)
 */
export function bgpMesh(host: number, hosts: number, asn = LAB_ASN): Record<string, unknown> {
  return {
    asn, routerId: hostAddress(host),
    peers: otherHosts(host, hosts).map((h) => ({ address: hostAddress(h), asn, description: `lab host h${h}` })),
  };
}

/**
 * node settings of host `host`: its pool slice (host i serves slice i-1 of `hosts`, so hosts
 * never hand out one address) and, when a network uses EVPN, the BGP mesh.
 */
export function labNode(host: number, hosts: number, withBgp: boolean): Record<string, unknown> {
  return { poolSlice: { index: host - 1, count: hosts }, ...(withBgp ? { bgp: bgpMesh(host, hosts) } : {}) };
}

/**
 * The address the lab gives workload `n` (1-based, 1..15) on host `host` of a network, when the
 * caller names none: .16*host+n of the CIDR (host 1: .17-.31, host 2: .33-.47, ...), so an
 * address tells which host its workload is on.
 */
export function defaultWorkloadIp(cidr: string, host: number, n: number): string {
  const c = parseCidr(cidr);
  if (n < 1 || n > 15) throw new Error(`workload ${n} on host h${host}: the lab numbers 15 workloads a host per network (name an ip for more)`);
  const ip = c.network + 16 * host + n;
  if (ip >= c.broadcast) throw new Error(`workload ${n} on host h${host}: ${cidr} is too small for the lab's numbering (name an ip)`);
  return intToIp(ip);
}

/** A workload's attachment: a veth whose peer (eth0) is in the workload's namespace. */
export function workloadAttachment(w: { name: string; network: string; ifName: string; ns: string; ip: string; mac?: string }): Record<string, unknown> {
  return {
    name: w.name, network: w.network, veth: { ifName: w.ifName, peerNetns: `/var/run/netns/${w.ns}`, peerIfName: 'eth0' },
    ...(w.mac ? { mac: w.mac } : {}),
    // No address (ip ''): the workload runs its own DHCP client and gets one from its host's server.
    ...(w.ip ? { ip: { static: w.ip } } : {}),
  };
}
