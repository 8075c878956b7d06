// Option 1 (RFC 2132 3.3): the subnet mask; must be a contiguous mask.
import { ipToInt } from '../../dataplane/ip4.js';
import { ipCodec, OptionError, type OptionCodec } from './codec.js';

const plain = ipCodec(1, 'subnet-mask');

function contiguous(mask: number): boolean {
  const inv = ~mask >>> 0;
  return (inv & (inv + 1)) === 0;
}

export const subnetMask: OptionCodec<string> = {
  code: 1,
  name: 'subnet-mask',
  encode(mask) {
    const b = plain.encode(mask);
    if (!contiguous(ipToInt(mask))) throw new OptionError(1, 'subnet-mask', 'encode', `${mask} is not a contiguous mask`);
    return b;
  },
  decode(p) {
    const mask = plain.decode(p);
    if (!contiguous(ipToInt(mask))) throw new OptionError(1, 'subnet-mask', 'decode', `${mask} is not a contiguous mask`);
    return mask;
  },
};
