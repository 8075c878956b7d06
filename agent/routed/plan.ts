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
import type { Link, Route } from '../../dataplane/types.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';
import { HOSTNET_ADDR_PROTO, ifNameOf } from '../naming.js';
import type { HostRoute } from './host-routes.js';

/**
 * The protocol number of hostnet's host routes: the same 104 as its address marker (free in
 * /etc/iproute2/rt_protos). Only routes with it are hostnet's to remove.
 */
export const HOSTNET_ROUTE_PROTO = HOSTNET_ADDR_PROTO;
const MAIN_TABLE = 254;

/** A route of the shape hostnet adds to workloads: IPv4 /32, no gateway, main table, its protocol. */
export function isHostnetHostRoute(r: Route): boolean {
  return r.protocol === HOSTNET_ROUTE_PROTO && r.family === 4 && r.table === MAIN_TABLE && r.via === null && r.destination.endsWith('/32');
}

export interface RoutedDevice {
  network: string;
  attachment: string;
  dev: string;
}

/** Every attachment of a routed network, with its host-side device. */
export function routedDevices(desired: DesiredState): RoutedDevice[] {
  const routed = new Set(desired.networks.filter(isRouted).map((n) => n.name));
  return desired.attachments.filter((a) => routed.has(a.network) && a.kind).map((a) => ({ network: a.network, attachment: a.name, dev: ifNameOf(a) }));
}

/** The switches a routed device needs, slash form under /proc/sys, and their values. */
export function routedSysctls(dev: string): Array<[string, string]> {
  return [
    [`net/ipv4/conf/${dev}/forwarding`, '1'],
    [`net/ipv4/conf/${dev}/proxy_arp`, '1'],
    [`net/ipv4/neigh/${dev}/proxy_delay`, '0'],
  ];
}

export type RouteProblemReason = 'DeviceMissing' | 'DeviceDown' | 'AddressConflict';

export interface HostRoutesPlan {
  /** Routes to put in place (replace: a route to that /32 through another device is converged). */
  add: HostRoute[];
  /** hostnet's routes no attachment wants. */
  remove: Route[];
  /** Routes that cannot be put in place now, with why. */
  blocked: Array<{ route: HostRoute; reason: RouteProblemReason; message: string }>;
  /** Destination ("ip/32") -> device, for every route that should be there. */
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
    const dest = `${r.ip}/32`;
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
