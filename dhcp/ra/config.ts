// What one bridge advertises and how often, with RFC 4861 6.2.1's defaults and its limits
// checked up front, so the advertiser never finds out at send time that a value cannot be sent.
import { parseCidr, parseIp } from '../../dataplane/ip.js';
import type { RoutePreference } from './options/route-information.js';

export interface RaRoute {
  /** "fd00:99::/48" */
  prefix: string;
  preference: RoutePreference;
  /** Default: 3 * MaxRtrAdvInterval (radvd's AdvRouteLifetime). */
  lifetimeSec?: number;
}

/** RFC 4861 6.2.1 and 10 timings, in milliseconds so tests can run them fast. */
export interface RaIntervals {
  /** MaxRtrAdvInterval: 600 s by default (RFC: 4 to 1800 s). */
  maxIntervalMs: number;
  /** MinRtrAdvInterval: 0.33 * Max when Max >= 9 s, else 0.75 * Max (RFC: 3 s to 0.75 * Max). */
  minIntervalMs: number;
  /** MAX_INITIAL_RTR_ADVERT_INTERVAL: the first RAs are at most this far apart (16 s). */
  maxInitialIntervalMs: number;
  /** MAX_INITIAL_RTR_ADVERTISEMENTS: how many RAs count as the first (3). */
  initialCount: number;
  /** MIN_DELAY_BETWEEN_RAS: multicast RAs are at least this far apart (3 s). */
  minDelayBetweenRasMs: number;
  /** MAX_RA_DELAY_TIME: an answer to an RS waits a random 0 to this (500 ms). */
  maxRaDelayMs: number;
  /** MAX_FINAL_RTR_ADVERTISEMENTS: RAs with router lifetime 0 sent when a network goes (3). */
  finalCount: number;
  /** How often to look again for the device's link-local address while it has none (1 s). */
  linkLocalRetryMs: number;
  /** How often to check that the device is still the one the socket is bound to (2 s). */
  deviceCheckMs: number;
}

export interface RaConfig {
  /** The bridge to advertise on. Fixed for an advertiser's life (its socket is bound to it). */
  device: string;
  /** The network's prefix, e.g. "fd00:77::/64" (/64 when autonomous: SLAAC needs it). */
  prefix: string;
  /** L flag: hosts reach the prefix directly. Default true. */
  onLink?: boolean;
  /** A flag: hosts form addresses by SLAAC. */
  autonomous: boolean;
  /** M flag: addresses from DHCPv6. */
  managed: boolean;
  /** O flag: other configuration from DHCPv6. */
  other: boolean;
  /** 0: not a default router. Else at most 65535 (RFC 8319). */
  routerLifetimeSec: number;
  /** Prefix lifetimes; defaults 86400 and 14400 (RFC 4861 6.2.1: 30 days and 7 days; radvd's shorter). */
  validLifetimeSec?: number;
  preferredLifetimeSec?: number;
  /** The link MTU to announce; null or absent: no MTU option. */
  mtu?: number | null;
  dnsServers: string[];
  searchDomains: string[];
  /** RDNSS and DNSSL lifetime; default 3 * MaxRtrAdvInterval (RFC 8106 5.1's lower bound). */
  dnsLifetimeSec?: number;
  routes: RaRoute[];
  /** Default 64 (RFC 4861 6.2.1 AdvCurHopLimit: the IANA default TTL); 0 = unspecified. */
  curHopLimit?: number;
  /** Default 0 = unspecified. */
  reachableTimeMs?: number;
  retransTimerMs?: number;
  intervals?: Partial<RaIntervals>;
}

/** A config with every default filled in and checked. */
export type ResolvedRaConfig = Required<Omit<RaConfig, 'intervals' | 'mtu' | 'routes'>> & {
  mtu: number | null;
  routes: Required<RaRoute>[];
  intervals: RaIntervals;
};

export function resolveIntervals(i: Partial<RaIntervals> = {}): RaIntervals {
  const max = i.maxIntervalMs ?? 600_000;
  return {
    maxIntervalMs: max,
    minIntervalMs: i.minIntervalMs ?? Math.round(max >= 9000 ? 0.33 * max : 0.75 * max),
    maxInitialIntervalMs: i.maxInitialIntervalMs ?? 16_000,
    initialCount: i.initialCount ?? 3,
    minDelayBetweenRasMs: i.minDelayBetweenRasMs ?? 3000,
    maxRaDelayMs: i.maxRaDelayMs ?? 500,
    finalCount: i.finalCount ?? 3,
    linkLocalRetryMs: i.linkLocalRetryMs ?? 1000,
    deviceCheckMs: i.deviceCheckMs ?? 2000,
  };
}

export class RaConfigError extends Error {
  override readonly name = 'RaConfigError';
  constructor(device: string, detail: string) {
    super(`configure router advertisements on ${device}: ${detail}`);
  }
}

const isU32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/** Fills in defaults and checks everything; throws RaConfigError naming the first problem. */
export function resolveRaConfig(c: RaConfig): ResolvedRaConfig {
  const fail = (detail: string): never => {
    throw new RaConfigError(c.device || '(no device)', detail);
  };
  if (!c.device || c.device.length > 15) fail(`device ${JSON.stringify(c.device)} is not an interface name`);
  const intervals = resolveIntervals(c.intervals);
  const { maxIntervalMs: max, minIntervalMs: min } = intervals;
  if (!(max > 0) || !(min > 0) || min > max) fail(`intervals: need 0 < MinRtrAdvInterval (${min} ms) <= MaxRtrAdvInterval (${max} ms)`);
  for (const [k, v] of Object.entries(intervals)) if (!(Number.isFinite(v) && v >= 0)) fail(`intervals: ${k} ${v} is not a non-negative number`);
  const prefix = parseCidr(c.prefix);
  if (!prefix || prefix.family !== 6) fail(`prefix ${JSON.stringify(c.prefix)} is not an IPv6 prefix`);
  if (c.autonomous && prefix!.prefix !== 64) fail(`prefix ${c.prefix}: SLAAC (the A flag) needs a /64, not a /${prefix!.prefix}`);
  if (!Number.isInteger(c.routerLifetimeSec) || c.routerLifetimeSec < 0 || c.routerLifetimeSec > 0xffff) fail(`router lifetime ${c.routerLifetimeSec} s is not from 0 to 65535`);
  const valid = c.validLifetimeSec ?? 86400;
  const preferred = c.preferredLifetimeSec ?? 14400;
  if (!isU32(valid) || !isU32(preferred)) fail(`prefix lifetimes ${valid}/${preferred} s are not 32-bit seconds`);
  if (preferred > valid) fail(`preferred lifetime ${preferred} s exceeds valid lifetime ${valid} s`);
  const mtu = c.mtu ?? null;
  if (mtu !== null && (!Number.isInteger(mtu) || mtu < 1280 || mtu > 65535)) fail(`MTU ${mtu} is not from 1280 to 65535`);
  for (const s of c.dnsServers) if (parseIp(s)?.family !== 6) fail(`DNS server ${JSON.stringify(s)} is not an IPv6 address`);
  if (c.dnsServers.length > 127) fail(`${c.dnsServers.length} DNS servers, at most 127 fit in one RDNSS option`);
  for (const d of c.searchDomains) {
    const labels = d.replace(/\.$/, '').split('.');
    if (d.length === 0 || d.length > 253 || labels.some((l) => l.length === 0 || Buffer.byteLength(l) > 63)) fail(`search domain ${JSON.stringify(d)} is not a DNS name`);
  }
  const defaultLifetime = Math.ceil((3 * max) / 1000);
  const dnsLifetimeSec = c.dnsLifetimeSec ?? defaultLifetime;
  if (!isU32(dnsLifetimeSec)) fail(`DNS lifetime ${dnsLifetimeSec} s is not 32-bit seconds`);
  const routes = c.routes.map((r) => {
    const p = parseCidr(r.prefix);
    if (!p || p.family !== 6) fail(`route ${JSON.stringify(r.prefix)} is not an IPv6 prefix`);
    if (!['high', 'medium', 'low'].includes(r.preference)) fail(`route ${r.prefix}: preference ${JSON.stringify(r.preference)} is not high, medium or low`);
    const lifetimeSec = r.lifetimeSec ?? defaultLifetime;
    if (!isU32(lifetimeSec)) fail(`route ${r.prefix}: lifetime ${lifetimeSec} s is not 32-bit seconds`);
    return { prefix: r.prefix, preference: r.preference, lifetimeSec };
  });
  const curHopLimit = c.curHopLimit ?? 64;
  if (!Number.isInteger(curHopLimit) || curHopLimit < 0 || curHopLimit > 255) fail(`cur hop limit ${curHopLimit} is not from 0 to 255`);
  const reachableTimeMs = c.reachableTimeMs ?? 0;
  const retransTimerMs = c.retransTimerMs ?? 0;
  // RFC 4861 6.2.1: AdvReachableTime at most 3,600,000 ms.
  if (!Number.isInteger(reachableTimeMs) || reachableTimeMs < 0 || reachableTimeMs > 3_600_000) fail(`reachable time ${reachableTimeMs} ms is not from 0 to 3600000`);
  if (!isU32(retransTimerMs)) fail(`retrans timer ${retransTimerMs} ms is not 32-bit`);
  return {
    device: c.device, prefix: c.prefix, onLink: c.onLink ?? true, autonomous: c.autonomous, managed: c.managed, other: c.other,
    routerLifetimeSec: c.routerLifetimeSec, validLifetimeSec: valid, preferredLifetimeSec: preferred, mtu,
    dnsServers: [...c.dnsServers], searchDomains: [...c.searchDomains], dnsLifetimeSec, routes,
    curHopLimit, reachableTimeMs, retransTimerMs, intervals,
  };
}
