// IPv6 on a routed network (issue 13), the facts every part reads from here:
//
// - The network's IPv6 subnet is its own (an IPv6-only routed network) or its `ipv6` block
//   (dual-stack on an IPv4 routed network).
// - The router is each device's own link-local address (Calico's model): the host carries no
//   global IPv6 address on the devices. The agent advertises the prefix on every routed device
//   with the L flag off (not on-link), so a workload sends everything, also to its neighbours
//   in the prefix, to the router; the host routes one /128 per workload address through its
//   device. No proxy NDP is needed and no workload ever solicits another's address: two
//   workloads meet only at layer 3, through the host, as with IPv4's proxy ARP.
// - The A flag follows ipv6Mode as on a bridge (SLAAC: on); the host routes the EUI-64 address
//   a workload forms from its MAC (host-routes.ts).
// - A veth workload that hostnet addresses gets each IPv6 address as a /128 and a default route
//   via its host device's link-local address (agent/workload/peer-plan.ts).
// - DHCPv6 (stateful or stateless) is served per device (agent/dhcp/routed6.ts).
// - An IPv6-only routed network has no gateway address on its devices (desired/routed.ts
//   routedGatewayOf is ""), the link-local address is all the host needs there.
import { parseCidr } from '../../dataplane/ip.js';
import { Ipv6Mode, type Network } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';
import { subnetOf, type Subnet } from '../desired/subnets.js';

/** A routed network's IPv6 subnet (its own, or its dual-stack `ipv6` block), if it has one. */
export function routedIpv6SubnetOf(n: Network): Subnet | undefined {
  if (!isRouted(n)) return undefined;
  const s = subnetOf(n, 6);
  return s && parseCidr(s.cidr)?.family === 6 ? s : undefined;
}

/** The mode the subnet is advertised with (SLAAC when unspecified). */
export function routedIpv6ModeOf(s: Subnet): Ipv6Mode {
  return s.ipv6Mode === Ipv6Mode.IPV6_MODE_UNSPECIFIED ? Ipv6Mode.SLAAC : s.ipv6Mode;
}

/** The /64 workloads of this routed network form SLAAC addresses in (A flag), if any. */
export function routedSlaacPrefixOf(n: Network): string | null {
  const s = routedIpv6SubnetOf(n);
  if (!s) return null;
  const mode = routedIpv6ModeOf(s);
  if (mode !== Ipv6Mode.SLAAC && mode !== Ipv6Mode.DHCPV6_STATELESS) return null;
  return parseCidr(s.cidr)?.prefix === 64 ? s.cidr : null;
}

/** The prefix length a routed workload holds its IPv6 address with: only itself (no on-link prefix). */
export const ROUTED_IPV6_PREFIX_LENGTH = 128;
