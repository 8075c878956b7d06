// The agent's desired state as the embedded DHCP server's configuration (dhcp/types.ts): one
// NetworkDhcpConfig per IPv4 network with DHCP enabled. Attachments with `ip: auto` get a
// reservation so their address is stable: the address their MAC already holds (a lease), else
// a free pool address chosen from a hash of the attachment's name (the same on every pass,
// restart and node, whatever the order of the attachments).
import { createHash } from 'node:crypto';
import { planAddresses } from '../../dhcp/address-plan.js';
import { intToIp, tryIpToInt } from '../../dataplane/ip4.js';
import type { NetworkDhcpConfig } from '../../dhcp/types.js';
import { IpFamily, type DesiredState, type Network } from '../api/gen/hostnet/v1/resources.js';
import { macOf } from '../naming.js';

export const DEFAULT_LEASE_SECONDS = 3600;

/** The server's own address: dhcp.serverAddress, else the gateway when it is on the bridge. */
export function serverAddressOf(n: Network): string {
  if (n.dhcp?.serverAddress) return n.dhcp.serverAddress;
  return n.gatewayOnBridge && n.gateway ? n.gateway : '';
}

/** True when the agent serves DHCP on this network (IPv4 only). */
export function servesDhcp(n: Network): boolean {
  return !!n.dhcp?.enabled && n.ipFamily !== IpFamily.IPV6 && !n.cidr.includes(':');
}

/**
 * The server configuration of one network, or null when it does not serve DHCP.
 * `heldBy` maps a MAC (lower case) to the address its current lease holds, if any.
 */
export function dhcpConfigOf(n: Network, desired: DesiredState, heldBy: ReadonlyMap<string, string> = new Map()): NetworkDhcpConfig | null {
  if (!servesDhcp(n) || !n.dhcp) return null;
  const d = n.dhcp;
  const attachments = desired.attachments.filter((a) => a.network === n.name);
  const excluded: string[] = [];
  for (const a of attachments) if (a.ip?.mode?.$case === 'static') excluded.push(a.ip.mode.static);
  const reservations: NonNullable<NetworkDhcpConfig['reservations']> = d.reservations.map((r) => ({
    mac: r.mac.toLowerCase(), ip: r.ip, ...(r.hostname ? { hostname: r.hostname } : {}),
  }));
  const base: NetworkDhcpConfig = {
    network: n.name,
    cidr: n.cidr,
    serverAddress: serverAddressOf(n),
    ...(n.gateway ? { gateway: n.gateway } : {}),
    ...(d.pools.length > 0 ? { pools: d.pools.map((p) => ({ start: p.start, end: p.end })) } : {}),
    ...(d.dnsServers.length > 0 ? { dnsServers: [...d.dnsServers] } : {}),
    ...(d.domainName ? { domainName: d.domainName } : {}),
    ...(d.searchDomains.length > 0 ? { searchDomains: [...d.searchDomains] } : {}),
    ...(d.routes.length > 0 ? { routes: d.routes.map((r) => ({ destination: r.destination, via: r.via })) } : {}),
    ...(n.mtu !== undefined ? { mtu: n.mtu } : {}),
    leaseSeconds: d.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
    reservations,
    ...(excluded.length > 0 ? { excluded } : {}),
  };
  const auto = attachments.filter((a) => a.ip?.mode?.$case === 'auto');
  if (auto.length === 0) return base;

  // What is taken before the auto attachments choose: never-handed-out addresses and explicit reservations.
  const plan = planAddresses(base);
  const taken = new Set<number>([...plan.never, ...plan.reservationByIp.keys()]);
  const reservedMacs = new Set(plan.reservationByMac.keys());
  const inPools = (ip: number): boolean => plan.ranges.some((r) => ip >= r.start && ip <= r.end);
  const poolSize = plan.ranges.reduce((s, r) => s + (r.end - r.start + 1), 0);
  const nth = (k: number): number => {
    for (const r of plan.ranges) {
      const size = r.end - r.start + 1;
      if (k < size) return r.start + k;
      k -= size;
    }
    return -1;
  };
  // Sorted by name: two attachments probing for the same address resolve the same way on every pass.
  for (const a of [...auto].sort((x, y) => x.name.localeCompare(y.name))) {
    const mac = macOf(a);
    if (reservedMacs.has(mac)) continue; // an explicit reservation wins
    let chosen: number | undefined;
    const held = heldBy.get(mac);
    const heldIp = held !== undefined ? tryIpToInt(held) : undefined;
    if (heldIp !== undefined && inPools(heldIp) && !taken.has(heldIp)) chosen = heldIp;
    // Addresses leased to other clients are avoided while probing (they are not errors: the
    // handler decides what happens to a lease no longer allowed).
    const leasedToOthers = new Set<number>();
    for (const [m, ip] of heldBy) {
      const v = m !== mac ? tryIpToInt(ip) : undefined;
      if (v !== undefined) leasedToOthers.add(v);
    }
    if (chosen === undefined && poolSize > 0) {
      const start = createHash('sha256').update(`hostnet:auto-ip:${a.name}`).digest().readUInt32BE(0) % poolSize;
      for (let i = 0; i < poolSize; i++) {
        const ip = nth((start + i) % poolSize);
        if (!taken.has(ip) && !leasedToOthers.has(ip)) {
          chosen = ip;
          break;
        }
      }
    }
    if (chosen === undefined) continue; // pool full: the handler allocates dynamically, or not at all
    taken.add(chosen);
    reservedMacs.add(mac);
    reservations.push({ mac, ip: intToIp(chosen), hostname: a.name });
  }
  return base;
}
