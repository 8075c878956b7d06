// IPv4 as unsigned 32-bit numbers: the DHCP allocator scans ranges and its handler compares
// addresses many times per packet, so strings are parsed once at the edges. The hot-path half
// of the one IP model (ip.ts is the other: both families, CIDRs, canonical text, bytes).

/** Parses a dotted quad strictly ("1.2.3.4", no leading zeros tricks, no shorthand). */
export function ipToInt(ip: string): number {
  const n = tryIpToInt(ip);
  if (n === undefined) throw new Error(`parse IPv4 address ${JSON.stringify(ip)}: not a dotted quad`);
  return n;
}

/**
 * Like ipToInt, but undefined instead of an error (for untrusted input). Hand-written char
 * scanning: it runs several times per packet, and split + regex showed in the profile.
 */
export function tryIpToInt(ip: string): number | undefined {
  let n = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= ip.length; i++) {
    const ch = i < ip.length ? ip.charCodeAt(i) : 46; // a virtual '.' closes the last part
    if (ch === 46) {
      if (digits === 0) return undefined;
      n = n * 256 + part;
      parts++;
      part = 0;
      digits = 0;
      continue;
    }
    if (ch < 48 || ch > 57) return undefined;
    if (digits > 0 && part === 0) return undefined; // leading zero ("01")
    part = part * 10 + (ch - 48);
    if (++digits > 3 || part > 255) return undefined;
  }
  return parts === 4 ? n : undefined;
}

export function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Netmask of a prefix length as a number: 24 -> 0xffffff00. */
export function prefixToMask(prefix: number): number {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`prefix length ${prefix}: not 0..32`);
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export interface Cidr {
  /** Network address (host bits cleared). */
  network: number;
  prefix: number;
  mask: number;
  /** Last address of the block (equals network for /32). */
  broadcast: number;
}

/** Parses "a.b.c.d/len"; host bits are cleared, so "10.0.0.7/24" is 10.0.0.0/24. */
export function parseCidr(cidr: string): Cidr {
  const slash = cidr.indexOf('/');
  if (slash < 0) throw new Error(`parse CIDR ${JSON.stringify(cidr)}: no "/prefix"`);
  const addr = tryIpToInt(cidr.slice(0, slash));
  const lenText = cidr.slice(slash + 1);
  const prefix = /^[0-9]{1,2}$/.test(lenText) ? Number(lenText) : NaN;
  if (addr === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new Error(`parse CIDR ${JSON.stringify(cidr)}: expected a.b.c.d/0..32`);
  }
  const mask = prefixToMask(prefix);
  const network = (addr & mask) >>> 0;
  return { network, prefix, mask, broadcast: (network | ~mask) >>> 0 };
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ((ip & c.mask) >>> 0) === c.network;
}
