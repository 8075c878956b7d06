// The agent's desired state as the embedded DHCP server's configuration (dhcp/types.ts): one
// NetworkDhcpConfig per IPv4 network with DHCP enabled. Every attachment with addresses
// (static or auto, as agent/ipam assigned them) has its first IPv4 address reserved for its
// MAC, so a guest's own DHCP client gets exactly that address; its further addresses are
// never handed out to anyone.
import type { NetworkDhcpConfig } from '../../dhcp/types.js';
import { parseCidr } from '../../dataplane/ip.js';
import { IpFamily, type Network, type NodeSettings } from '../api/gen/hostnet/v1/resources.js';
import { subnetOf } from '../desired/subnets.js';
import type { AddressAssignments } from '../ipam/assignments.js';
import { poolSliceOf, servedPools } from '../ipam/pools.js';
import { DEFAULT_MTU, serverAddressOf } from '../naming.js';

export const DEFAULT_LEASE_SECONDS = 3600;

/** True when the agent serves DHCP on this network (IPv4 only). */
export function servesDhcp(n: Network): boolean {
  return !!n.dhcp?.enabled && n.ipFamily !== IpFamily.IPV6 && !n.cidr.includes(':');
}

/** What the server configuration needs beyond the network itself. */
export interface DhcpConfigContext {
  assignments: Pick<AddressAssignments, 'onNetwork'>;
  /** The node's settings: its slice of the pools of a network that spans hosts. */
  node: NodeSettings | undefined;
  /** The network's MTU in force (agent/desired/mtu.ts); told to clients (option 26) when not 1500. */
  mtu: number;
}

/** The server configuration of one network, or null when it does not serve DHCP. */
export function dhcpConfigOf(n: Network, { assignments, node, mtu }: DhcpConfigContext): NetworkDhcpConfig | null {
  if (!servesDhcp(n) || !n.dhcp) return null;
  const d = n.dhcp;
  const slice = poolSliceOf(n, node);
  const subnet = subnetOf(n, 4);
  const cidr = parseCidr(n.cidr);
  const pools = slice && subnet && cidr ? servedPools(subnet, cidr, slice) : d.pools.map((p) => ({ start: p.start, end: p.end }));
  const reservations: NonNullable<NetworkDhcpConfig['reservations']> = d.reservations.map((r) => ({
    mac: r.mac.toLowerCase(), ip: r.ip, ...(r.hostname ? { hostname: r.hostname } : {}),
  }));
  const reservedMacs = new Set(reservations.map((r) => r.mac));
  const reservedIps = new Set(reservations.map((r) => r.ip));
  const excluded: string[] = [];
  for (const a of assignments.onNetwork(n.name)) {
    const v4 = a.addresses.filter((x) => x.family === 4);
    const [first, ...rest] = v4;
    // An explicit reservation of the MAC wins (ipam gave the attachment that address).
    if (first && !reservedMacs.has(a.mac) && !reservedIps.has(first.ip)) {
      reservations.push({ mac: a.mac, ip: first.ip, hostname: a.attachment });
      reservedMacs.add(a.mac);
    }
    for (const x of rest) excluded.push(x.ip);
  }
  return {
    network: n.name,
    cidr: n.cidr,
    serverAddress: serverAddressOf(n),
    ...(n.gateway ? { gateway: n.gateway } : {}),
    ...(pools.length > 0 || slice ? { pools } : {}),
    ...(d.dnsServers.length > 0 ? { dnsServers: [...d.dnsServers] } : {}),
    ...(d.domainName ? { domainName: d.domainName } : {}),
    ...(d.searchDomains.length > 0 ? { searchDomains: [...d.searchDomains] } : {}),
    ...(d.routes.length > 0 ? { routes: d.routes.map((r) => ({ destination: r.destination, via: r.via })) } : {}),
    ...(n.mtu !== undefined || mtu !== DEFAULT_MTU ? { mtu } : {}),
    leaseSeconds: d.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
    reservations,
    ...(excluded.length > 0 ? { excluded } : {}),
  };
}
