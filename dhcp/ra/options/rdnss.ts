// Recursive DNS Server option (RFC 8106 5.1, type 25): DNS server addresses and how long hosts
// may use them. Length is 1 + 2 units per address.
import { bytesToIp } from '../../../dataplane/ip.js';
import { checkU32, ipv6Bytes, NdOptionError, optionBuffer, type NdOptionCodec } from './codec.js';

const TYPE = 25;
const NAME = 'rdnss';

export interface Rdnss {
  lifetimeSec: number;
  servers: string[];
}

export const rdnss: NdOptionCodec<Rdnss> = {
  type: TYPE,
  name: NAME,
  encode(r) {
    if (r.servers.length === 0) throw new NdOptionError(TYPE, NAME, 'encode', 'no server addresses');
    // Length is one byte: at most 127 addresses in one option.
    if (r.servers.length > 127) throw new NdOptionError(TYPE, NAME, 'encode', `${r.servers.length} addresses, at most 127 fit`);
    const b = optionBuffer(TYPE, 1 + 2 * r.servers.length);
    b.writeUInt32BE(checkU32(TYPE, NAME, 'lifetime', r.lifetimeSec), 4);
    r.servers.forEach((s, i) => ipv6Bytes(TYPE, NAME, s).copy(b, 8 + 16 * i));
    return b;
  },
  decode(o) {
    // RFC 8106 5.1: the minimum length is 3 (one address); the length is odd.
    if (o.length < 24 || (o.length / 8) % 2 !== 1) throw new NdOptionError(TYPE, NAME, 'decode', `length ${o.length / 8} units is not 1 + 2n with n >= 1`);
    const servers: string[] = [];
    for (let at = 8; at < o.length; at += 16) servers.push(bytesToIp(o, at, 16));
    return { lifetimeSec: o.readUInt32BE(4), servers };
  },
};
