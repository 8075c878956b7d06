// Small exact IP arithmetic over bigint for validation and IP usage (IPv4 and IPv6 alike).
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface Ip {
  family: Family;
  value: bigint;
  /** Canonical text (IPv6 compressed, lower case). */
  text: string;
}

export interface Cidr {
  family: Family;
  prefix: number;
  /** First and last address of the block. */
  first: bigint;
  last: bigint;
  /** The base address as written (may have host bits set). */
  base: bigint;
  text: string;
}

/** Dotted-quad IPv4 (no legacy forms like "10.1") or IPv6 (no zone); null if neither. */
export function parseIp(text: string): Ip | null {
  if (typeof text !== 'string' || text.length === 0) return null;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) addr = ipaddr.IPv4.parse(text);
  else if (text.includes(':') && !text.includes('%') && ipaddr.IPv6.isValid(text)) addr = ipaddr.IPv6.parse(text);
  else return null;
  let value = 0n;
  for (const b of addr.toByteArray()) value = (value << 8n) | BigInt(b);
  return { family: addr.kind() === 'ipv4' ? 4 : 6, value, text: addr.toString() };
}

export function bits(family: Family): number {
  return family === 4 ? 32 : 128;
}

export function parseCidr(text: string): Cidr | null {
  if (typeof text !== 'string') return null;
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  const width = bits(ip.family);
  if (prefix > width) return null;
  const hostBits = BigInt(width - prefix);
  const mask = (1n << hostBits) - 1n;
  const first = ip.value & ~mask;
  return { family: ip.family, prefix, first, last: first | mask, base: ip.value, text };
}

export function contains(cidr: Cidr, ip: Ip): boolean {
  return ip.family === cidr.family && ip.value >= cidr.first && ip.value <= cidr.last;
}

/** IPv4 network and broadcast addresses are not hosts, except in /31 and /32. */
export function isReservedInCidr(cidr: Cidr, ip: Ip): boolean {
  if (cidr.family !== 4 || cidr.prefix >= 31) return false;
  return ip.value === cidr.first || ip.value === cidr.last;
}

/** Usable host addresses of a block (IPv4 without network and broadcast below /31). */
export function hostCount(cidr: Cidr): bigint {
  const size = cidr.last - cidr.first + 1n;
  return cidr.family === 4 && cidr.prefix < 31 ? size - 2n : size;
}

export function isMulticast(ip: Ip): boolean {
  return ip.family === 4 ? (ip.value >> 28n) === 0xen : (ip.value >> 120n) === 0xffn;
}
