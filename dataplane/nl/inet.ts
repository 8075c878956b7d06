// Addresses as the kernel carries them: MACs as 6 bytes; IPv4/IPv6 in network byte order.
// IP addresses have one model for the whole project (../ip.ts); the codec uses its byte form.
export { bytesToIp, ipFamily, ipToBytes } from '../ip.js';

export function macToBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function bytesToMac(b: Buffer, start = 0, len = b.length - start): string {
  let s = HEX[b[start]!]!;
  for (let i = 1; i < len; i++) s += `:${HEX[b[start + i]!]}`;
  return s;
}
