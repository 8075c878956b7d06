// What the routers of a desired state ask of this host, as plain data: the bridges each router
// joins, the way out, the sysctls that must be on, and every hostnet bridge (the ones no router
// joins stay apart from the rest). Pure: the participant and the tests build from here.
import type { DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import { NatMode } from '../api/gen/hostnet/v1/resources.js';
import { subnetOf } from '../desired/subnets.js';
import { bridgeNameOf } from '../naming.js';

export type Nat = { mode: 'masquerade' } | { mode: 'snat'; address: string } | { mode: 'none' };

export interface RouterModel {
  name: string;
  /** The connected networks that are defined, in the router's order. */
  networks: Array<{ name: string; bridge: string; cidr4: string | null; ipv6: boolean }>;
  external: { device: string; nat: Nat } | null;
}

export interface RoutersModel {
  routers: RouterModel[];
  /** Every bridge of every network of the state (connected or not). */
  bridges: string[];
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

export function routersModel(desired: DesiredState): RoutersModel {
  const byName = new Map<string, Network>(desired.networks.map((n) => [n.name, n]));
  const routers: RouterModel[] = desired.routers.map((r) => ({
    name: r.name,
    networks: r.networks.flatMap((name) => {
      const n = byName.get(name);
      if (!n) return [];
      return [{ name, bridge: bridgeNameOf(n), cidr4: subnetOf(n, 4)?.cidr ?? null, ipv6: subnetOf(n, 6) !== undefined }];
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
    for (const n of r.networks) want(n.bridge, n.ipv6);
    // Replies come in through the external interface: it forwards too (IPv4 only: the way out is IPv4).
    if (r.external) want(r.external.device, false);
  }
  return { routers, bridges: [...new Set(desired.networks.map(bridgeNameOf))].sort(), forwarding };
}

/** The routers that connect network `name`, each with the other networks it connects. */
export function routersOf(model: RoutersModel, name: string): RouterModel[] {
  return model.routers.filter((r) => r.networks.some((n) => n.name === name));
}
