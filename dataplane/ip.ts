// The one IP-address model of agent, dhcp and dataplane: parse and format IPv4/IPv6, CIDR
// blocks with exact bigint arithmetic, canonical text, and the kernel's byte form. IPv4 text
// goes through ip4.ts's hand-written parser (the DHCP hot path), IPv6 through ipaddr.js.
import ipaddr from 'ipaddr.js';
import { intToIp, tryIpToInt } from './ip4.js';

export type Family = 4 | 6;

export interface Ip {
  family: Family;
  value: bigint;
  /** Canonical text (IPv4 dotted quad; IPv6 RFC 5952: compressed, lower case). */
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

/** Dotted-quad IPv4 (no legacy forms like "10.1", no leading zeros) or IPv6 (no zone); null if neither. */
export function parseIp(text: string): Ip | null {
  if (typeof text !== 'string' || text.length === 0) return null;
  if (!text.includes(':')) {
    const v4 = tryIpToInt(text);
    return v4 === undefined ? null : { family: 4, value: BigInt(v4), text: intToIp(v4) };
  }
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return null;
  const bytes = ipaddr.IPv6.parse(text).toByteArray();
  return { family: 6, value: bytesToBigint(bytes), text: ipv6ToString(Buffer.from(bytes), 0) };
}

/** The canonical text of an address, or null when it is not one. */
export function canonicalIp(text: string): string | null {
  return parseIp(text)?.text ?? null;
}

/** "address/prefix" with the address in canonical form; the input unchanged if it is not one. */
export function canonicalCidr(cidr: string): string {
  const slash = cidr.indexOf('/');
  const ip = slash > 0 ? parseIp(cidr.slice(0, slash)) : null;
  return ip ? `${ip.text}${cidr.slice(slash)}` : cidr;
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

/** The block's network address as text ("10.0.0.7/24" -> "10.0.0.0"). */
export function networkText(cidr: Cidr): string {
  return valueToText(cidr.family, cidr.first);
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

// ---- the kernel's byte form (network byte order) ----

/** 4 or 16 bytes; throws on text that is not an address (callers validate first). */
export function ipToBytes(text: string): Buffer {
  const ip = parseIp(text);
  if (!ip) throw new Error(`parse IP address ${JSON.stringify(text)}: not an IPv4 or IPv6 address`);
  const n = ip.family === 4 ? 4 : 16;
  const out = Buffer.alloc(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The family of an address; throws on text that is not one. */
export function ipFamily(text: string): Family {
  const ip = parseIp(text);
  if (!ip) throw new Error(`parse IP address ${JSON.stringify(text)}: not an IPv4 or IPv6 address`);
  return ip.family;
}

export function bytesToIp(b: Buffer, start = 0, len = b.length - start): string {
  if (len === 4) return `${b[start]}.${b[start + 1]}.${b[start + 2]}.${b[start + 3]}`;
  return ipv6ToString(b, start);
}

function bytesToBigint(bytes: readonly number[]): bigint {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value;
}

/** The canonical text of an address given as its number. */
export function ipFromValue(family: Family, value: bigint): string {
  return valueToText(family, value);
}

function valueToText(family: Family, value: bigint): string {
  if (family === 4) return intToIp(Number(value));
  const b = Buffer.alloc(16);
  let v = value;
  for (let i = 15; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return ipv6ToString(b, 0);
}

const words = new Uint16Array(8);

/** RFC 5952 text form; written out by hand because dumps format thousands of these. */
function ipv6ToString(b: Buffer, start: number): string {
  for (let i = 0; i < 8; i++) words[i] = (b[start + 2 * i]! << 8) | b[start + 2 * i + 1]!;
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    return `::ffff:${b[start + 12]}.${b[start + 13]}.${b[start + 14]}.${b[start + 15]}`;
  }
  // The longest run of two or more zero words becomes "::" (the first such run on ties).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(':')) out += ':';
    out += words[i]!.toString(16);
  }
  return out;
}
