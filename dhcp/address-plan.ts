// Turns one network's DHCP configuration into numbers the allocator can scan: the pools,
// the addresses never handed out and the reservations. Invalid configuration is refused here
// with a message naming the network and the field, before any instance serves it.
import { cidrContains, intToIp, parseCidr, tryIpToInt, type Cidr } from '../dataplane/ip4.js';
import type { NetworkDhcpConfig } from './types.js';

export interface AddressRange {
  start: number;
  end: number;
}

export interface AddressPlan {
  network: string;
  cidr: Cidr;
  server: number;
  gateway: number | undefined;
  /** Sorted, non-overlapping, clipped to the usable part of the CIDR. */
  ranges: AddressRange[];
  /** Never handed out: network/broadcast (unless /31, /32), server, gateway, excluded. */
  never: Set<number>;
  /** Normalised MAC -> reserved address (inside the CIDR). */
  reservationByMac: Map<string, number>;
  /** Reserved address -> the MAC it is kept for. */
  reservationByIp: Map<number, string>;
  /** Reservations that cannot be honoured, with why (reported, not fatal). */
  ignoredReservations: { mac: string; ip: string; why: string }[];
}

export class DhcpConfigError extends Error {
  override readonly name = 'DhcpConfigError';
  constructor(network: string, field: string, detail: string) {
    super(`configure DHCP for network ${network}: ${field}: ${detail}`);
  }
}

export function normaliseMac(mac: string): string {
  return mac.toLowerCase().replace(/-/g, ':');
}

export function planAddresses(config: NetworkDhcpConfig): AddressPlan {
  const net = config.network;
  const fail = (field: string, detail: string): never => {
    throw new DhcpConfigError(net, field, detail);
  };
  let cidr: Cidr;
  try {
    cidr = parseCidr(config.cidr);
  } catch (e) {
    return fail('cidr', (e as Error).message);
  }
  const inside = (field: string, ip: string): number => {
    const n = tryIpToInt(ip);
    if (n === undefined) return fail(field, `${JSON.stringify(ip)} is not an IPv4 address`);
    if (!cidrContains(cidr, n)) return fail(field, `${ip} is outside ${config.cidr}`);
    return n;
  };
  const server = inside('serverAddress', config.serverAddress);
  const gateway = config.gateway ? inside('gateway', config.gateway) : undefined;

  const never = new Set<number>([server]);
  if (gateway !== undefined) never.add(gateway);
  // RFC 3021: on a /31 both addresses are hosts; a /32 has one address and nothing else.
  const first = cidr.prefix >= 31 ? cidr.network : cidr.network + 1;
  const last = cidr.prefix >= 31 ? cidr.broadcast : cidr.broadcast - 1;
  if (cidr.prefix < 31) never.add(cidr.network).add(cidr.broadcast);
  for (const ip of config.excluded ?? []) never.add(inside('excluded', ip));

  let ranges: AddressRange[];
  if (config.pools && config.pools.length > 0) {
    ranges = config.pools.map((p, i) => {
      const start = inside(`pools[${i}].start`, p.start);
      const end = inside(`pools[${i}].end`, p.end);
      if (end < start) fail(`pools[${i}]`, `end ${p.end} is before start ${p.start}`);
      return { start: Math.max(start, first), end: Math.min(end, last) };
    });
    ranges = ranges.filter((r) => r.start <= r.end).sort((a, b) => a.start - b.start);
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i]!.start <= ranges[i - 1]!.end) {
        fail('pools', `${intToIp(ranges[i - 1]!.start)}-${intToIp(ranges[i - 1]!.end)} overlaps ${intToIp(ranges[i]!.start)}-${intToIp(ranges[i]!.end)}`);
      }
    }
  } else {
    ranges = first <= last ? [{ start: first, end: last }] : [];
  }

  const reservationByMac = new Map<string, number>();
  const reservationByIp = new Map<number, string>();
  const ignoredReservations: AddressPlan['ignoredReservations'] = [];
  for (const r of config.reservations ?? []) {
    const mac = normaliseMac(r.mac);
    const ip = tryIpToInt(r.ip);
    const why =
      ip === undefined ? 'not an IPv4 address'
      : !cidrContains(cidr, ip) ? `outside ${config.cidr}`
      : never.has(ip) ? 'the network, broadcast, server, gateway or an excluded address'
      : reservationByIp.has(ip) && reservationByIp.get(ip) !== mac ? `already reserved for ${reservationByIp.get(ip)}`
      : reservationByMac.has(mac) ? 'a second reservation for this MAC'
      : undefined;
    if (why !== undefined || ip === undefined) {
      ignoredReservations.push({ mac, ip: r.ip, why: why ?? 'invalid' });
      continue;
    }
    reservationByMac.set(mac, ip);
    reservationByIp.set(ip, mac);
  }
  return { network: net, cidr, server, gateway, ranges, never, reservationByMac, reservationByIp, ignoredReservations };
}
