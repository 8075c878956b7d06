// What the workload's end of a veth should carry, and the changes that get it there, pure:
// its addresses (with the network's prefix length), the default route via the network's
// gateway and the network's static routes (the routes DHCP gives as option 121). Everything
// hostnet adds carries its protocol number (HOSTNET_ADDR_PROTO), so what the workload or an
// admin added is told apart and left alone; hostnet's own entries no longer wanted are removed.
import type { Address, AddressSpec, Route, RouteSpec } from '../../dataplane/types.js';
import { canonicalCidr, parseCidr, parseIp } from '../../dataplane/ip.js';
import type { Network } from '../api/gen/hostnet/v1/resources.js';
import type { AttachmentAddressing } from '../ipam/assignments.js';
import { HOSTNET_ADDR_PROTO } from '../naming.js';
import { subnetOf } from '../desired/subnets.js';
import { isRouted } from '../desired/routed.js';
import { ROUTED_IPV6_PREFIX_LENGTH } from '../routed/ipv6.js';

export interface PeerRoute {
  /** "default" or a CIDR. */
  destination: string;
  via: string;
  family: 4 | 6;
}

export interface PeerWanted {
  /** "ip/prefix", canonical. */
  addresses: string[];
  routes: PeerRoute[];
}

export type PeerChange =
  | { op: 'addAddress'; spec: AddressSpec }
  | { op: 'deleteAddress'; spec: AddressSpec }
  | { op: 'addRoute'; spec: RouteSpec }
  | { op: 'deleteRoute'; spec: RouteSpec };

const MAIN_TABLE = 254;

/**
 * The prefix length a workload holds an address with: its subnet's, but an IPv6 address on a
 * routed network is a /128 (agent/routed/ipv6.ts: no on-link prefix, so the workload never
 * solicits a neighbour's address; everything goes to the router).
 */
export function peerPrefixLength(network: Network | undefined, family: 4 | 6, prefixLength: number): number {
  return family === 6 && network && isRouted(network) ? ROUTED_IPV6_PREFIX_LENGTH : prefixLength;
}

/**
 * The peer's wanted state; nothing at all when the addresses are not to be assigned.
 * `hostLinkLocal`: the link-local address of the attachment's host device, the IPv6 router of
 * a routed network (null while the device has none yet: the default route waits for it).
 */
export function peerWanted(addressing: AttachmentAddressing | undefined, network: Network | undefined, hostLinkLocal: string | null = null): PeerWanted {
  if (!addressing?.assign || addressing.addresses.length === 0 || !network) return { addresses: [], routes: [] };
  const addresses = addressing.addresses.map((a) => `${a.ip}/${peerPrefixLength(network, a.family, a.prefixLength)}`);
  const own = new Set(addressing.addresses.map((a) => a.ip));
  const routes: PeerRoute[] = [];
  // Per family the workload has an address of: that subnet's gateway and static routes.
  for (const family of new Set(addressing.addresses.map((a) => a.family))) {
    const subnet = subnetOf(network, family);
    if (!subnet) continue;
    if (family === 6 && isRouted(network)) {
      // The router is the host device's link-local address (as the RA it sends says). The
      // subnet's static routes are left to the RA's route information: their next hops are not on-link here.
      if (hostLinkLocal) routes.push({ destination: 'default', via: hostLinkLocal, family });
      continue;
    }
    const gateway = parseIp(subnet.gateway);
    // A workload that is its network's gateway needs no default route through itself.
    if (gateway && gateway.family === family && !own.has(gateway.text)) routes.push({ destination: 'default', via: gateway.text, family });
    for (const r of subnet.dhcp?.routes ?? []) {
      const dst = parseCidr(r.destination);
      const via = parseIp(r.via);
      if (!dst || !via || dst.family !== family || via.family !== family) continue;
      routes.push({ destination: dst.prefix === 0 ? 'default' : canonicalCidr(r.destination), via: via.text, family });
    }
  }
  // The first of two routes to one destination wins (the default route via the gateway).
  const seen = new Set<string>();
  return { addresses, routes: routes.filter((r) => (seen.has(routeKey(r.destination, r.family)) ? false : (seen.add(routeKey(r.destination, r.family)), true))) };
}

function routeKey(destination: string, family: number): string {
  return `${family}|${destination}`;
}

/**
 * The changes that make `dev` (the peer, as named in its namespace) carry `wanted`, given what
 * the namespace's addresses and routes are now. A destination someone else already routes
 * (e.g. the pod's default route through another interface) is left to them.
 */
export function planPeer(dev: string, wanted: PeerWanted, addresses: readonly Address[], routes: readonly Route[]): PeerChange[] {
  const out: PeerChange[] = [];
  const mine = addresses.filter((a) => a.dev === dev);
  const present = new Set(mine.map((a) => canonicalCidr(a.cidr)));
  const want = new Set(wanted.addresses);
  const mainRoutes = routes.filter((r) => r.table === MAIN_TABLE);
  const ours = mainRoutes.filter((r) => r.dev === dev && r.protocol === HOSTNET_ADDR_PROTO);
  const wantedRoutes = new Map(wanted.routes.map((r) => [routeKey(r.destination, r.family), r]));
  for (const r of ours) {
    const w = wantedRoutes.get(routeKey(canonicalRouteDst(r.destination), r.family));
    if (w && w.via === r.via) continue;
    out.push({ op: 'deleteRoute', spec: { destination: r.destination, ...(r.via ? { via: r.via } : {}), dev, family: r.family, protocol: HOSTNET_ADDR_PROTO } });
  }
  for (const a of mine) {
    if (a.protocol === HOSTNET_ADDR_PROTO && !want.has(canonicalCidr(a.cidr))) out.push({ op: 'deleteAddress', spec: { dev, cidr: a.cidr } });
  }
  for (const cidr of wanted.addresses) {
    if (!present.has(cidr)) out.push({ op: 'addAddress', spec: { dev, cidr, protocol: HOSTNET_ADDR_PROTO, ...(cidr.includes(':') ? { nodad: true } : {}) } });
  }
  for (const r of wanted.routes) {
    const holders = mainRoutes.filter((x) => x.family === r.family && routeKey(canonicalRouteDst(x.destination), x.family) === routeKey(r.destination, r.family));
    if (holders.some((x) => x.dev === dev && x.via === r.via)) continue;
    // Someone else routes this destination: theirs stays (hostnet's own is replaced above).
    if (holders.some((x) => x.protocol !== HOSTNET_ADDR_PROTO)) continue;
    out.push({ op: 'addRoute', spec: { destination: r.destination, via: r.via, dev, family: r.family, protocol: HOSTNET_ADDR_PROTO } });
  }
  return out;
}

function canonicalRouteDst(destination: string): string {
  if (destination === 'default') return destination;
  const c = parseCidr(destination);
  return c && c.prefix === 0 ? 'default' : canonicalCidr(destination);
}

export function describePeerChange(c: PeerChange): string {
  switch (c.op) {
    case 'addAddress': return `add ${c.spec.cidr}`;
    case 'deleteAddress': return `delete ${c.spec.cidr}`;
    case 'addRoute': return `add route ${c.spec.destination} via ${c.spec.via}`;
    case 'deleteRoute': return `delete route ${c.spec.destination}${c.spec.via ? ` via ${c.spec.via}` : ''}`;
  }
}
