// One network's DHCPv6 addresses as numbers: the on-link prefix, the pools (bigint ranges, a
// pool may be a whole /64) and the reservations, checked once per configuration. A reservation
// the plan cannot honour (outside the prefix, an address reserved twice) is left out and
// reported, not thrown: one bad entry must not stop the whole network's server.
import { parseCidr, parseIp, type Cidr } from '../../dataplane/ip.js';
import type { Dhcp6Config } from './types.js';

export interface Range6 {
  start: bigint;
  end: bigint;
}

export interface Reservation6 {
  ip: bigint;
  duid?: string;
  mac?: string;
}

export interface AddressPlan6 {
  prefix: Cidr;
  /** Empty when the network is not stateful: nothing is handed out. */
  ranges: Range6[];
  reservationByDuid: Map<string, Reservation6>;
  reservationByMac: Map<string, Reservation6>;
  reservationByIp: Map<bigint, Reservation6>;
  ignoredReservations: { reservation: { mac?: string; duid?: string; ip: string }; why: string }[];
}

export class Dhcp6ConfigError extends Error {
  override readonly name = 'Dhcp6ConfigError';
  constructor(network: string, detail: string) {
    super(`configure DHCPv6 for network ${network}: ${detail}`);
  }
}

const isU32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/** Checks the config and turns it into numbers; throws Dhcp6ConfigError on what cannot be served. */
export function planAddresses6(c: Dhcp6Config): AddressPlan6 {
  const fail = (detail: string): never => {
    throw new Dhcp6ConfigError(c.network, detail);
  };
  const prefix = parseCidr(c.prefix);
  if (!prefix || prefix.family !== 6) return fail(`prefix ${JSON.stringify(c.prefix)} is not an IPv6 CIDR`);
  if (!isU32(c.preferredLifetimeSec) || !isU32(c.validLifetimeSec) || c.validLifetimeSec === 0) {
    fail(`lifetimes ${c.preferredLifetimeSec}/${c.validLifetimeSec} s are not 32-bit integers with a non-zero valid lifetime`);
  }
  if (c.preferredLifetimeSec > c.validLifetimeSec) fail(`preferred lifetime ${c.preferredLifetimeSec} s is longer than the valid lifetime ${c.validLifetimeSec} s`);
  const inPrefix = (text: string, what: string): bigint => {
    const ip = parseIp(text);
    if (!ip || ip.family !== 6) return fail(`${what} ${JSON.stringify(text)} is not an IPv6 address`);
    if (ip.value < prefix.first || ip.value > prefix.last) return fail(`${what} ${text} is outside the prefix ${c.prefix}`);
    return ip.value;
  };
  const ranges: Range6[] = [];
  if (c.stateful) {
    for (const p of c.pools) {
      const start = inPrefix(p.start, 'pool start');
      const end = inPrefix(p.end, 'pool end');
      if (end < start) fail(`pool ${p.start}-${p.end} ends before it starts`);
      ranges.push({ start, end });
    }
    ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i]!.start <= ranges[i - 1]!.end) fail('pools overlap');
    }
  }
  const plan: AddressPlan6 = {
    prefix, ranges, reservationByDuid: new Map(), reservationByMac: new Map(), reservationByIp: new Map(), ignoredReservations: [],
  };
  if (!c.stateful) return plan;
  for (const r of c.reservations ?? []) {
    const ignore = (why: string): void => void plan.ignoredReservations.push({ reservation: r, why });
    const ip = parseIp(r.ip);
    const duid = r.duid?.toLowerCase().replace(/:/g, '');
    const mac = r.mac?.toLowerCase();
    if (!ip || ip.family !== 6 || ip.value < prefix.first || ip.value > prefix.last) {
      ignore(`${r.ip} is not an IPv6 address in ${c.prefix}`);
      continue;
    }
    if (!duid && !mac) {
      ignore('names neither a DUID nor a MAC');
      continue;
    }
    if (plan.reservationByIp.has(ip.value)) {
      ignore(`${ip.text} is reserved already`);
      continue;
    }
    if ((duid && plan.reservationByDuid.has(duid)) || (mac && plan.reservationByMac.has(mac))) {
      ignore('the client has a reservation already');
      continue;
    }
    const res: Reservation6 = { ip: ip.value, ...(duid ? { duid } : {}), ...(mac ? { mac } : {}) };
    plan.reservationByIp.set(ip.value, res);
    if (duid) plan.reservationByDuid.set(duid, res);
    if (mac) plan.reservationByMac.set(mac, res);
  }
  return plan;
}
