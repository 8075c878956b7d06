// The agent's desired state as the embedded DHCP server's configuration (dhcp/types.ts): one
// NetworkDhcpConfig per IPv4 network with DHCP enabled. Every attachment with addresses
// (static or auto, as agent/ipam assigned them) has its first IPv4 address reserved for its
// MAC, so a guest's own DHCP client gets exactly that address; its further addresses are
// never handed out to anyone.
// A routed network (agent/desired/routed.ts) has no bridge: its server answers on every
// attachment's device from the gateway the links planner puts there as a /32, so the gateway is
// both the server identifier and the router the clients are told.
import type { NetworkDhcpConfig } from '../../dhcp/types.js';
import { parseCidr } from '../../dataplane/ip.js';
import { IpFamily, type Network, type NodeSettings } from '../api/gen/hostnet/v1/resources.js';
import { isRouted, routedGatewayOf } from '../desired/routed.js';
import { subnetOf } from '../desired/subnets.js';
import type { AddressAssignments } from '../ipam/assignments.js';
import { poolSliceOf, servedPools } from '../ipam/pools.js';
import { DEFAULT_MTU, serverAddressOf } from '../naming.js';

export const DEFAULT_LEASE_SECONDS = 3600;

/** True when the agent serves DHCP on this network (IPv4 only). */
export function servesDhcp(n: Network): boolean {
  return !!n.dhcp?.enabled && n.ipFamily !== IpFamily.IPV6 && !n.cidr.includes(':');
}

/**
 * The server's own address: a routed network's gateway (on each of its devices), else
 * dhcp.serverAddress or the gateway on the bridge (naming.ts serverAddressOf).
 */
export function dhcpServerAddressOf(n: Network): string {
  return isRouted(n) ? routedGatewayOf(n) : serverAddressOf(n);
}

/** The router told to clients (option 3): a routed network's gateway, else the network's gateway if any. */
function dhcpGatewayOf(n: Network): string {
  return isRouted(n) ? routedGatewayOf(n) : n.gateway;
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
  const gateway = dhcpGatewayOf(n);
  return {
    network: n.name,
    cidr: n.cidr,
    serverAddress: dhcpServerAddressOf(n),
    ...(gateway ? { gateway } : {}),
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
