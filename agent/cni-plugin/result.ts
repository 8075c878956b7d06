// ADD's answer as the spec's Result for the version the runtime asked for (SPEC.md, "Success";
// 0.4.0: every ip carries "version"; 1.1.0: interfaces carry "mtu"). Interfaces: the host end,
// then the container end with its sandbox; every address points at the container end.
import { familyOf } from './addresses.js';
import type { CniAddAnswer } from './messages.js';
import { versionAtLeast } from './version.js';

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniIp {
  version?: '4' | '6';
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDnsJson {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: CniRoute[];
  dns?: CniDnsJson;
}

const DEFAULT_ROUTE = { 4: '0.0.0.0/0', 6: '::/0' } as const;

function dnsJson(a: CniAddAnswer): CniDnsJson {
  const d = a.dns;
  if (!d) return {};
  return {
    ...(d.nameservers.length ? { nameservers: d.nameservers } : {}),
    ...(d.domain ? { domain: d.domain } : {}),
    ...(d.search.length ? { search: d.search } : {}),
  };
}

/** The result of our own attachment, for `cniVersion`, with the container end in `netns`. */
export function addResult(a: CniAddAnswer, cniVersion: string, ifName: string, netns: string): CniResult {
  const att = a.attachment;
  const withMtu = versionAtLeast(cniVersion, '1.1.0') && (att?.mtu ?? 0) > 0;
  const mtu = withMtu ? { mtu: att!.mtu } : {};
  const interfaces: CniInterface[] = [
    { name: a.hostIfName, ...(a.hostMac ? { mac: a.hostMac } : {}), ...mtu },
    { name: att?.workloadIfName || ifName, ...(att?.mac ? { mac: att.mac } : {}), ...mtu, sandbox: netns },
  ];
  const gateway = att?.gateway ?? '';
  const gwFamily = gateway ? familyOf(gateway) : undefined;
  const legacy = !versionAtLeast(cniVersion, '1.0.0');
  const ips: CniIp[] = (att?.addresses ?? []).map((x) => {
    const family = familyOf(x.ip);
    return {
      ...(legacy ? { version: family === 4 ? '4' as const : '6' as const } : {}),
      address: `${x.ip}/${x.prefixLength}`,
      ...(gateway && gwFamily === family ? { gateway } : {}),
      interface: 1,
    };
  });
  const routes: CniRoute[] = (att?.routes ?? []).map((r) => ({ dst: r.destination, ...(r.via ? { gw: r.via } : {}) }));
  if (gateway && gwFamily && !routes.some((r) => r.dst === DEFAULT_ROUTE[gwFamily])) routes.unshift({ dst: DEFAULT_ROUTE[gwFamily], gw: gateway });
  return { cniVersion, interfaces, ips, routes, dns: dnsJson(a) };
}

function list<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

/**
 * Chained after another plugin (ADD with a prevResult): its interfaces, ips and routes first,
 * ours after them (our ips' interface indices shifted), its DNS unless it has none. Each ip is
 * brought to `cniVersion`'s shape (0.4.0 "version" added or 1.x's dropped).
 */
export function mergeWithPrev(prev: Record<string, unknown> | undefined, ours: CniResult): CniResult {
  if (!prev) return ours;
  const legacy = !versionAtLeast(ours.cniVersion, '1.0.0');
  const prevIfs = list<CniInterface>(prev.interfaces);
  const shape = (ip: CniIp): CniIp => {
    const { version: _v, ...rest } = ip;
    return legacy ? { version: familyOf(ip.address) === 4 ? '4' : '6', ...rest } : rest;
  };
  const prevDns = typeof prev.dns === 'object' && prev.dns !== null ? (prev.dns as CniDnsJson) : {};
  return {
    cniVersion: ours.cniVersion,
    interfaces: [...prevIfs, ...(ours.interfaces ?? [])],
    ips: [...list<CniIp>(prev.ips).map(shape), ...(ours.ips ?? []).map((ip) => ({ ...ip, ...(ip.interface !== undefined ? { interface: ip.interface + prevIfs.length } : {}) }))],
    routes: [...list<CniRoute>(prev.routes), ...(ours.routes ?? [])],
    dns: Object.keys(prevDns).length ? prevDns : (ours.dns ?? {}),
  };
}

/**
 * CHECK's cross-examination of the runtime's prevResult: the addresses it lists on our
 * container interface (by name and sandbox) that the attachment does not have. Empty: agrees.
 */
export function prevAddressesMissing(prev: Record<string, unknown>, ifName: string, netns: string, have: string[]): string[] {
  const ifs = list<CniInterface>(prev.interfaces);
  const ours = new Set(ifs.flatMap((i, n) => (i.name === ifName && (!i.sandbox || i.sandbox === netns) ? [n] : [])));
  const haveSet = new Set(have);
  return list<CniIp>(prev.ips)
    .filter((ip) => ip.interface !== undefined && ours.has(ip.interface))
    .map((ip) => ip.address)
    .filter((addr) => !haveSet.has(addr));
}
