// What the routers of a desired state ask of this host, as plain data: the networks each router
// joins, the way out, the sysctls that must be on, and every hostnet network with its devices
// (the ones no router joins stay apart from the rest). A bridged network's device is its
// bridge; a routed network's are its attachments' own devices (TAPs, veth host ends), and the
// routed networks of a host reach each other through it by design (Calico's model).
// Pure: the participant and the tests build from here.
import type { DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import { Announce, NatMode } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';
import { subnetOf } from '../desired/subnets.js';
import { bridgeNameOf, ifNameOf } from '../naming.js';

export type Nat = { mode: 'masquerade' } | { mode: 'snat'; address: string } | { mode: 'none' };

export interface NetworkZone {
  name: string;
  routed: boolean;
  /** The bridge ('' for a routed network, which has none). */
  bridge: string;
  /** The devices the network's traffic enters the host by: its bridge, or (routed) its attachments' devices. */
  devices: string[];
  cidr4: string | null;
  ipv6: boolean;
  /**
   * A routed network announced over BGP (node.bgp, not NO_ANNOUNCE): the fabric routes its
   * addresses, so its way to and from the host's other interfaces is its own, router or not.
   */
  announced: boolean;
}

export interface RouterModel {
  name: string;
  /** The connected networks that are defined, in the router's order. */
  networks: NetworkZone[];
  external: { device: string; nat: Nat } | null;
}

export interface RoutersModel {
  routers: RouterModel[];
  /** Every network of the state (connected or not), in the state's order. */
  zones: NetworkZone[];
  /** /proc/sys keys (slash form, e.g. "net/ipv4/conf/hn-web/forwarding") to hold at 1, by device. */
  forwarding: Map<string, string[]>;
}

function natOf(mode: NatMode, address: string): Nat {
  if (mode === NatMode.NO_NAT) return { mode: 'none' };
  if (mode === NatMode.SNAT) return { mode: 'snat', address };
  return { mode: 'masquerade' };
}

/** The sysctls that let IPv4 (and, on a bridge with an IPv6 subnet, IPv6) be forwarded in through `dev`. */
export function forwardingKeys(dev: string, ipv6: boolean): string[] {
  const keys = [`net/ipv4/conf/${dev}/forwarding`];
  // IPv6 forwards only when conf/all/forwarding is on, whatever the device's own switch says;
  // force_forwarding (Linux 6.17) is the per-device one. Both are set where the kernel has them.
  if (ipv6) keys.push(`net/ipv6/conf/${dev}/forwarding`, `net/ipv6/conf/${dev}/force_forwarding`);
  return keys;
}

function zoneOf(n: Network, desired: DesiredState): NetworkZone {
  const routed = isRouted(n);
  const bridge = routed ? '' : bridgeNameOf(n);
  const devices = routed
    ? [...new Set(desired.attachments.filter((a) => a.network === n.name).map(ifNameOf).filter((d) => d !== ''))].sort()
    : [bridge];
  const announced = routed && desired.node?.bgp !== undefined && n.announce !== Announce.NO_ANNOUNCE;
  return { name: n.name, routed, bridge, devices, cidr4: subnetOf(n, 4)?.cidr ?? null, ipv6: subnetOf(n, 6) !== undefined, announced };
}

export function routersModel(desired: DesiredState): RoutersModel {
  const zones = desired.networks.filter((n) => n.name).map((n) => zoneOf(n, desired));
  const byName = new Map<string, NetworkZone>(zones.map((z) => [z.name, z]));
  const routers: RouterModel[] = desired.routers.map((r) => ({
    name: r.name,
    networks: r.networks.flatMap((name) => {
      const z = byName.get(name);
      return z ? [z] : [];
    }),
    external: r.external ? { device: r.external.interface, nat: natOf(r.external.nat, r.external.snatAddress) } : null,
  }));
  const forwarding = new Map<string, string[]>();
  const want = (dev: string, ipv6: boolean): void => {
    const keys = new Set([...(forwarding.get(dev) ?? []), ...forwardingKeys(dev, ipv6)]);
    forwarding.set(dev, [...keys]);
  };
  for (const r of routers) {
    if (r.networks.length === 0) continue;
    // A routed network's devices forward already (the routed participant owns their switches).
    for (const n of r.networks) if (!n.routed) want(n.bridge, n.ipv6);
    // Replies come in through the external interface: it forwards too (IPv4 only: the way out is IPv4).
    if (r.external) want(r.external.device, false);
  }
  return { routers, zones, forwarding };
}

/** The routers that connect network `name`, each with the other networks it connects. */
export function routersOf(model: RoutersModel, name: string): RouterModel[] {
  return model.routers.filter((r) => r.networks.some((n) => n.name === name));
}
