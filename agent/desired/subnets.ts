// A network's IP subnets: its own (IPv4 or IPv6) and, on a dual-stack network, the IPv6 subnet
// of its `ipv6` block. Everything that works per address family (bridge addresses, router
// advertisements, auto addresses, a workload's routes, IP usage) reads networks through here.
import { parseCidr, type Family } from '../../dataplane/ip.js';
import { IpFamily, Ipv6Mode, type Dhcp, type Network } from '../api/gen/hostnet/v1/resources.js';
import { isRouted, routedGatewayOf } from './routed.js';

export interface Subnet {
  /** The network it belongs to. */
  network: string;
  family: Family;
  cidr: string;
  gateway: string;
  gatewayOnBridge: boolean;
  /** IPv6 only; SLAAC when unspecified. */
  ipv6Mode: Ipv6Mode;
  dhcp: Dhcp | undefined;
  /** The network's own subnet (false: the IPv6 half of a dual-stack network). */
  primary: boolean;
}

function familyOf(n: Network): Family | null {
  if (n.ipFamily === IpFamily.IPV4) return 4;
  if (n.ipFamily === IpFamily.IPV6) return 6;
  return parseCidr(n.cidr)?.family ?? null;
}

export function subnetsOf(n: Network): Subnet[] {
  const out: Subnet[] = [];
  const family = familyOf(n);
  if (family !== null) {
    out.push({
      // A routed network always has a gateway: the host, on each of its devices (routed.ts).
      network: n.name, family, cidr: n.cidr, gateway: isRouted(n) ? routedGatewayOf(n) : n.gateway, gatewayOnBridge: n.gatewayOnBridge,
      ipv6Mode: n.ipv6Mode, dhcp: n.dhcp, primary: true,
    });
  }
  const v6 = n.ipv6;
  if (v6 && family === 4) {
    out.push({
      network: n.name, family: 6, cidr: v6.cidr, gateway: v6.gateway, gatewayOnBridge: v6.gatewayOnBridge,
      ipv6Mode: v6.ipv6Mode, dhcp: v6.dhcp, primary: false,
    });
  }
  return out;
}

/** The network's subnet of one family, if it has one. */
export function subnetOf(n: Network, family: Family): Subnet | undefined {
  return subnetsOf(n).find((s) => s.family === family);
}

/** The network's own family (4 when it cannot tell). */
export function primaryFamily(n: Network): Family {
  return familyOf(n) ?? 4;
}
