// The agent's desired state as the embedded DHCPv6 server's configuration (dhcp/v6/types.ts):
// one Dhcp6Config per IPv6 subnet (an IPv6 network's own, or a dual-stack network's ipv6 half)
// with dhcp.enabled and a DHCPv6 mode. Every attachment's first IPv6 address (static or auto,
// as agent/ipam assigned it) is reserved for its MAC, which the server reads from the client's
// DUID-LL/LLT: a guest gets exactly its address, also after a reinstall made it a new DUID.
import { Ipv6Mode, type Network, type NodeSettings } from '../api/gen/hostnet/v1/resources.js';
import type { Dhcp6Config } from '../../dhcp/v6/types.js';
import { parseCidr } from '../../dataplane/ip.js';
import { subnetOf, type Subnet } from '../desired/subnets.js';
import type { AddressAssignments } from '../ipam/assignments.js';
import { poolSliceOf, servedPools } from '../ipam/pools.js';
import { deriveBridgeMac } from '../naming.js';
import { DEFAULT_LEASE_SECONDS } from './config.js';

/** The IPv6 subnet of a network that the agent serves DHCPv6 on, if any. */
export function dhcp6SubnetOf(n: Network): Subnet | undefined {
  const s = subnetOf(n, 6);
  const served = s?.dhcp?.enabled && (s.ipv6Mode === Ipv6Mode.DHCPV6_STATEFUL || s.ipv6Mode === Ipv6Mode.DHCPV6_STATELESS);
  return served && s && parseCidr(s.cidr)?.family === 6 ? s : undefined;
}

export function servesDhcp6(n: Network): boolean {
  return dhcp6SubnetOf(n) !== undefined;
}

/** `node`: its pool slice applies on a network that spans hosts. */
export function dhcp6ConfigOf(n: Network, assignments: Pick<AddressAssignments, 'onNetwork'>, node: NodeSettings | undefined): Dhcp6Config | null {
  const s = dhcp6SubnetOf(n);
  const cidr = s ? parseCidr(s.cidr) : null;
  if (!s || !cidr) return null;
  const d = s.dhcp!;
  const reservations: NonNullable<Dhcp6Config['reservations']> = d.reservations
    .filter((r) => r.ip.includes(':'))
    .map((r) => ({ ...(r.mac ? { mac: r.mac.toLowerCase() } : {}), ...(r.duid ? { duid: r.duid.toLowerCase().replace(/:/g, '') } : {}), ip: r.ip }));
  const reserved = new Set(reservations.flatMap((r) => (r.mac ? [r.mac] : [])));
  for (const a of assignments.onNetwork(n.name)) {
    const first = a.addresses.find((x) => x.family === 6);
    if (first && !reserved.has(a.mac)) {
      reservations.push({ mac: a.mac, ip: first.ip });
      reserved.add(a.mac);
    }
  }
  const lease = d.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const slice = poolSliceOf(n, node);
  return {
    network: n.name,
    prefix: s.cidr,
    pools: slice ? servedPools(s, cidr, slice) : d.pools.map((p) => ({ start: p.start, end: p.end })),
    reservations,
    dnsServers: [...d.dnsServers],
    searchDomains: [...d.searchDomains],
    // The address stays preferred for the lease time; valid twice as long (renewals at 0.5 and 0.8 of it).
    preferredLifetimeSec: lease,
    validLifetimeSec: 2 * lease,
    // Stable across restarts and nodes: the bridge's own derived MAC.
    serverDuid: { type: 'll', hardwareType: 1, linkLayerAddress: deriveBridgeMac(n.name) },
    stateful: s.ipv6Mode === Ipv6Mode.DHCPV6_STATEFUL,
  };
}
