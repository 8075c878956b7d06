// The ICMPv6 checksum (RFC 4443 2.3) over the IPv6 pseudo-header (RFC 8200 8.1). The kernel
// fills it in for our raw socket; this is for tests and tools that build whole packets.
import { ipToBytes } from '../../dataplane/ip.js';

const NEXT_HEADER_ICMPV6 = 58;

export function icmpv6Checksum(source: string, destination: string, icmp: Buffer): number {
  const pseudo = Buffer.alloc(40);
  ipToBytes(source).copy(pseudo, 0);
  ipToBytes(destination).copy(pseudo, 16);
  pseudo.writeUInt32BE(icmp.length, 32);
  pseudo[39] = NEXT_HEADER_ICMPV6;
  let sum = 0;
  const add = (b: Buffer, skipChecksum: boolean): void => {
    for (let i = 0; i < b.length; i += 2) {
      if (skipChecksum && i === 2) continue;
      sum += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
    }
  };
  add(pseudo, false);
  add(icmp, true);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A copy of `icmp` with its checksum filled in. */
export function withChecksum(source: string, destination: string, icmp: Buffer): Buffer {
  const out = Buffer.from(icmp);
  out.writeUInt16BE(icmpv6Checksum(source, destination, icmp), 2);
  return out;
}
