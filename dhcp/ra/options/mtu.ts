// MTU option (RFC 4861 4.6.4, type 5): the link MTU hosts should use, e.g. below 1500 on an
// overlay. 8 bytes: type, length 1, 2 reserved, the MTU as 32 bits.
import { NdOptionError, optionBuffer, type NdOptionCodec } from './codec.js';

const TYPE = 5;
const NAME = 'mtu';
/** IPv6's minimum link MTU (RFC 8200 5); hosts ignore anything lower. */
export const IPV6_MIN_MTU = 1280;

export const mtuOption: NdOptionCodec<number> = {
  type: TYPE,
  name: NAME,
  encode(mtu) {
    if (!Number.isInteger(mtu) || mtu < IPV6_MIN_MTU || mtu > 0xffffffff) {
      throw new NdOptionError(TYPE, NAME, 'encode', `MTU ${mtu} is not an integer from ${IPV6_MIN_MTU} to 2^32-1`);
    }
    const b = optionBuffer(TYPE, 1);
    b.writeUInt32BE(mtu, 4);
    return b;
  },
  decode(o) {
    if (o.length !== 8) throw new NdOptionError(TYPE, NAME, 'decode', `length ${o.length} bytes, expected 8`);
    return o.readUInt32BE(4);
  },
};
