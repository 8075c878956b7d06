// Addresses as the kernel carries them: IPv4/IPv6 in network byte order, MACs as 6 bytes.
import ipaddr from 'ipaddr.js';

export function ipToBytes(ip: string): Buffer {
  return Buffer.from(ipaddr.parse(ip).toByteArray());
}

export function ipFamily(ip: string): 4 | 6 {
  return ipaddr.parse(ip).kind() === 'ipv4' ? 4 : 6;
}

export function bytesToIp(b: Buffer, start = 0, len = b.length - start): string {
  if (len === 4) return `${b[start]}.${b[start + 1]}.${b[start + 2]}.${b[start + 3]}`;
  return ipv6ToString(b, start);
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

export function macToBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function bytesToMac(b: Buffer, start = 0, len = b.length - start): string {
  let s = HEX[b[start]!]!;
  for (let i = 1; i < len; i++) s += `:${HEX[b[start + i]!]}`;
  return s;
}
