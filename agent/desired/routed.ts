// Routed networks (mode ROUTED): no bridge; each attachment's own device is the workload's
// link to the host. What every part needs to agree on lives here: whether a network is routed,
// and its gateway, which the host holds as a /32 on every one of the network's devices (the
// workloads' default router, the DHCP server's own address there). The rest of the subnet is
// answered by proxy ARP, so workloads reach each other only through the host (layer 3).
import { ipFromValue, parseCidr } from '../../dataplane/ip.js';
import { NetworkMode, type Network } from '../api/gen/hostnet/v1/resources.js';

export function isRouted(n: Network): boolean {
  return n.mode === NetworkMode.ROUTED;
}

/**
 * A routed network's gateway: `gateway` when set, else the CIDR's first host address; "" when
 * the CIDR is unusable, and for an IPv6-only network, whose router is each device's own
 * link-local address (agent/routed/ipv6.ts; validation refuses a gateway there).
 */
export function routedGatewayOf(n: Network): string {
  const c = parseCidr(n.cidr);
  if (c?.family === 6) return '';
  if (n.gateway) return n.gateway;
  if (!c) return '';
  return ipFromValue(c.family, c.first + 1n);
}
