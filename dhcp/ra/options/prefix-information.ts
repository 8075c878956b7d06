// Prefix Information option (RFC 4861 4.6.2, type 3): a prefix with the L flag (on-link: hosts
// reach it directly) and the A flag (autonomous: hosts form addresses in it by SLAAC,
// RFC 4862), and its valid and preferred lifetimes. 32 bytes.
import { bytesToIp, parseCidr } from '../../../dataplane/ip.js';
import { addressBytes, checkU32, NdOptionError, optionBuffer, type NdOptionCodec } from './codec.js';

const TYPE = 3;
const NAME = 'prefix-information';
const ON_LINK = 0x80;
const AUTONOMOUS = 0x40;

export interface PrefixInformation {
  /** "fd00:77::/64"; bits past the length are sent as zero (RFC 4861 4.6.2). */
  prefix: string;
  onLink: boolean;
  autonomous: boolean;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
}

function fail(op: 'encode' | 'decode', detail: string): never {
  throw new NdOptionError(TYPE, NAME, op, detail);
}

export const prefixInformation: NdOptionCodec<PrefixInformation> = {
  type: TYPE,
  name: NAME,
  encode(p) {
    const cidr = parseCidr(p.prefix);
    if (!cidr || cidr.family !== 6) fail('encode', `${JSON.stringify(p.prefix)} is not an IPv6 prefix`);
    const valid = checkU32(TYPE, NAME, 'valid lifetime', p.validLifetimeSec);
    const preferred = checkU32(TYPE, NAME, 'preferred lifetime', p.preferredLifetimeSec);
    // RFC 4862 5.5.3 c): hosts ignore a prefix whose preferred lifetime exceeds the valid one.
    if (preferred > valid) fail('encode', `preferred lifetime ${preferred} s exceeds valid lifetime ${valid} s`);
    const b = optionBuffer(TYPE, 4);
    b[2] = cidr.prefix;
    b[3] = (p.onLink ? ON_LINK : 0) | (p.autonomous ? AUTONOMOUS : 0);
    b.writeUInt32BE(valid, 4);
    b.writeUInt32BE(preferred, 8);
    // bytes 12..15 reserved; the network address (host bits cleared) from byte 16.
    addressBytes(cidr.first).copy(b, 16);
    return b;
  },
  decode(o) {
    if (o.length !== 32) fail('decode', `length ${o.length} bytes, expected 32`);
    const len = o[2]!;
    if (len > 128) fail('decode', `prefix length ${len} exceeds 128`);
    return {
      prefix: `${bytesToIp(o, 16, 16)}/${len}`,
      onLink: (o[3]! & ON_LINK) !== 0,
      autonomous: (o[3]! & AUTONOMOUS) !== 0,
      validLifetimeSec: o.readUInt32BE(4),
      preferredLifetimeSec: o.readUInt32BE(8),
    };
  },
};

