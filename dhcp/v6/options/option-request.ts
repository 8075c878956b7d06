// Option 6 (RFC 8415 21.7): the option codes a client asks for, 16 bits each, in its order of
// preference. An empty list is legal on the wire (it asks for nothing) and is not refused.
import { Option6Error, checkUint, type Option6Codec } from './codec.js';

export const optionRequest: Option6Codec<number[]> = {
  code: 6,
  name: 'option-request',
  encode(codes) {
    const out = Buffer.alloc(2 * codes.length);
    codes.forEach((c, i) => {
      checkUint(6, 'option-request', c, 16, 'option code');
      out.writeUInt16BE(c, 2 * i);
    });
    return out;
  },
  decode(p) {
    if (p.length % 2 !== 0) throw new Option6Error(6, 'option-request', 'decode', `length ${p.length}, expected a multiple of 2`);
    const codes: number[] = [];
    for (let i = 0; i < p.length; i += 2) codes.push(p.readUInt16BE(i));
    return codes;
  },
};
