// Option 23 (RFC 3646 3): recursive DNS servers, IPv6 addresses in order of preference.
import { Option6Error, ip6At, writeIp6, type Option6Codec } from './codec.js';

export const dnsServers: Option6Codec<string[]> = {
  code: 23,
  name: 'dns-servers',
  encode(ips) {
    if (ips.length === 0) throw new Option6Error(23, 'dns-servers', 'encode', 'empty address list');
    const out = Buffer.alloc(16 * ips.length);
    ips.forEach((ip, i) => writeIp6(out, 16 * i, ip, 23, 'dns-servers'));
    return out;
  },
  decode(p) {
    if (p.length === 0 || p.length % 16 !== 0) {
      throw new Option6Error(23, 'dns-servers', 'decode', `length ${p.length}, expected a non-zero multiple of 16`);
    }
    const out: string[] = [];
    for (let i = 0; i < p.length; i += 16) out.push(ip6At(p, i));
    return out;
  },
};
