// What the routed participant plans, with no I/O: the host routes to add and remove, and the
// per-device switches of routed devices.
//
// The routed model (see agent/desired/routed.ts): a workload on a routed network holds its
// address with the network's prefix (e.g. 10.95.0.11/24) and its default route via the
// gateway. The host holds the gateway as a /32 on every device of the network (the links
// participant's part), and here: a host route `<ip>/32 dev <device> scope link proto 104` to each
// workload address, IPv4 forwarding on the device (per device, never the host-wide ip_forward),
// and proxy_arp on it. So an ARP request from one workload for another's address is answered by
// the host with its device's MAC (the kernel answers with proxy_arp when its route to the target
// leaves through another device), the packet is routed, and two workloads of one routed
// network never see each other's ARP or frames: they meet only at layer 3, through the host.
// proxy_delay is 0 on these devices: otherwise the kernel delays a proxied answer to a
// broadcast request by up to 0.8 s (Calico sets it so too).
// IPv6 (a network with an `ipv6` block, ipv6.ts): a `<ip>/128 dev <device> proto 104` route per
// workload address, and on the device IPv6 forwarding (`forwarding`, which makes the device a
// router: no RAs accepted, RAs' router flag; and `force_forwarding`, Linux 6.17+, the per-device
// switch that lets packets coming in there be forwarded without the host-wide
// conf/all/forwarding) and accept_ra 0 (a workload's RA never reconfigures the host). A kernel
// without force_forwarding reads it as missing: the routes are there, IPv6 is not forwarded
// unless the operator turns on conf/all/forwarding, and the Routed condition says so.
import type { Link, Route } from '../../dataplane/types.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';
import { routedIpv6SubnetOf } from './ipv6.js';
import { HOSTNET_ADDR_PROTO, ifNameOf } from '../naming.js';
import { hostRouteDestination, type HostRoute } from './host-routes.js';

/**
 * The protocol number of hostnet's host routes: the same 104 as its address marker (free in
 * /etc/iproute2/rt_protos). Only routes with it are hostnet's to remove.
 */
export const HOSTNET_ROUTE_PROTO = HOSTNET_ADDR_PROTO;
const MAIN_TABLE = 254;

/** A route of the shape hostnet adds to workloads: IPv4 /32 or IPv6 /128, no gateway, main table, its protocol. */
export function isHostnetHostRoute(r: Route): boolean {
  return r.protocol === HOSTNET_ROUTE_PROTO && r.table === MAIN_TABLE && r.via === null
    && r.destination.endsWith(r.family === 4 ? '/32' : '/128');
}

export interface RoutedDevice {
  network: string;
  attachment: string;
  dev: string;
  /** The network has an IPv6 subnet: the device routes IPv6 too. */
  ipv6: boolean;
}

/** Every attachment of a routed network, with its host-side device. */
export function routedDevices(desired: DesiredState): RoutedDevice[] {
  const routed = new Map(desired.networks.filter(isRouted).map((n) => [n.name, routedIpv6SubnetOf(n) !== undefined]));
  return desired.attachments.filter((a) => routed.has(a.network) && a.kind)
    .map((a) => ({ network: a.network, attachment: a.name, dev: ifNameOf(a), ipv6: routed.get(a.network)! }));
}

/** The per-device IPv6 forwarding switch, which kernels before 6.17 do not have. */
export function forceForwardingKey(dev: string): string {
  return `net/ipv6/conf/${dev}/force_forwarding`;
}

/** The switches a routed device needs, slash form under /proc/sys, and their values. */
export function routedSysctls(dev: string, ipv6 = false): Array<[string, string]> {
  const out: Array<[string, string]> = [
    [`net/ipv4/conf/${dev}/forwarding`, '1'],
    [`net/ipv4/conf/${dev}/proxy_arp`, '1'],
    [`net/ipv4/neigh/${dev}/proxy_delay`, '0'],
  ];
  if (ipv6) {
    out.push([`net/ipv6/conf/${dev}/forwarding`, '1'], [forceForwardingKey(dev), '1'], [`net/ipv6/conf/${dev}/accept_ra`, '0']);
  }
  return out;
}

export type RouteProblemReason = 'DeviceMissing' | 'DeviceDown' | 'AddressConflict';

export interface HostRoutesPlan {
  /** Routes to put in place (replace: a route to that /32 through another device is converged). */
  add: HostRoute[];
  /** hostnet's routes no attachment wants. */
  remove: Route[];
  /** Routes that cannot be put in place now, with why. */
  blocked: Array<{ route: HostRoute; reason: RouteProblemReason; message: string }>;
  /** Destination ("ip/32", "ip/128") -> device, for every route that should be there. */
  wanted: Map<string, string>;
}

/**
 * `present`: hostnet's host routes in the kernel (isHostnetHostRoute). `teardown`: whether
 * routes no attachment wants may be removed (false while the stored state is unreadable).
 */
export function planHostRoutes(routes: readonly HostRoute[], links: readonly Link[], present: readonly Route[], teardown: boolean): HostRoutesPlan {
  const byName = new Map(links.map((l) => [l.name, l]));
  const presentByDest = new Map(present.map((r) => [r.destination, r]));
  const plan: HostRoutesPlan = { add: [], remove: [], blocked: [], wanted: new Map() };
  const owner = new Map<string, HostRoute>();
  for (const r of routes) {
    const dest = hostRouteDestination(r);
    const first = owner.get(dest);
    if (first) {
      if (first.attachment !== r.attachment) {
        plan.blocked.push({ route: r, reason: 'AddressConflict', message: `${r.ip} is routed to attachment ${first.attachment} (${first.dev}) already` });
      }
      continue;
    }
    owner.set(dest, r);
    const link = byName.get(r.dev);
    if (!link) {
      plan.blocked.push({ route: r, reason: 'DeviceMissing', message: `device ${r.dev} does not exist` });
      continue;
    }
    // The kernel refuses a route through a device that is down (ENETDOWN), and drops it when
    // the device goes down: the links participant brings it up, then the route follows.
    if (!link.up) {
      plan.blocked.push({ route: r, reason: 'DeviceDown', message: `device ${r.dev} is down` });
      continue;
    }
    plan.wanted.set(dest, r.dev);
    if (presentByDest.get(dest)?.dev !== r.dev) plan.add.push(r);
  }
  if (teardown) {
    for (const r of present) if (!owner.has(r.destination)) plan.remove.push(r);
  }
  return plan;
}
