// Route Information option (RFC 4191 2.3, type 24): a more-specific route through this router,
// with a preference (high, medium, low) and a lifetime. The prefix is cut to the bytes its
// length needs: 1 unit for ::/0, 2 for up to /64, 3 beyond.
import { bytesToIp, parseCidr } from '../../../dataplane/ip.js';
import { addressBytes, checkU32, NdOptionError, optionBuffer, type NdOptionCodec } from './codec.js';

const TYPE = 24;
const NAME = 'route-information';

export type RoutePreference = 'high' | 'medium' | 'low';

/** The 2-bit Prf field (RFC 4191 2.1); binary 10 is reserved. */
export const PREFERENCE_BITS: Record<RoutePreference, number> = { high: 0b01, medium: 0b00, low: 0b11 };

export function preferenceFromBits(bits: number): RoutePreference | null {
  return bits === 0b01 ? 'high' : bits === 0b00 ? 'medium' : bits === 0b11 ? 'low' : null;
}

export interface RouteInformation {
  /** "fd00:99::/48" */
  prefix: string;
  preference: RoutePreference;
  lifetimeSec: number;
}

function fail(op: 'encode' | 'decode', detail: string): never {
  throw new NdOptionError(TYPE, NAME, op, detail);
}

/** How many 8-byte units an option for a prefix of `len` bits takes (RFC 4191 2.3). */
function unitsFor(len: number): number {
  return len === 0 ? 1 : len <= 64 ? 2 : 3;
}

export const routeInformation: NdOptionCodec<RouteInformation> = {
  type: TYPE,
  name: NAME,
  encode(r) {
    const cidr = parseCidr(r.prefix);
    if (!cidr || cidr.family !== 6) fail('encode', `${JSON.stringify(r.prefix)} is not an IPv6 prefix`);
    const bits = PREFERENCE_BITS[r.preference];
    if (bits === undefined) fail('encode', `preference ${JSON.stringify(r.preference)} is not high, medium or low`);
    const units = unitsFor(cidr.prefix);
    const b = optionBuffer(TYPE, units);
    b[2] = cidr.prefix;
    b[3] = bits << 3;
    b.writeUInt32BE(checkU32(TYPE, NAME, 'route lifetime', r.lifetimeSec), 4);
    addressBytes(cidr.first).copy(b, 8, 0, (units - 1) * 8);
    return b;
  },
  decode(o) {
    const len = o[2]!;
    if (len > 128) fail('decode', `prefix length ${len} exceeds 128`);
    if (o.length < unitsFor(len) * 8 || o.length > 24) fail('decode', `length ${o.length} bytes does not fit prefix length ${len}`);
    const preference = preferenceFromBits((o[3]! >> 3) & 0b11);
    // RFC 4191 2.3: an option with the reserved preference is ignored by hosts.
    if (!preference) fail('decode', 'reserved preference value 10');
    const addr = Buffer.alloc(16);
    o.copy(addr, 0, 8);
    return { prefix: `${bytesToIp(addr, 0, 16)}/${len}`, preference, lifetimeSec: o.readUInt32BE(4) };
  },
};
