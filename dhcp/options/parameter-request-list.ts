// Option 55 (RFC 2132 9.8): option codes the client asks for, in its order of preference.
import { OptionError, type OptionCodec } from './codec.js';

export const parameterRequestList: OptionCodec<number[]> = {
  code: 55,
  name: 'parameter-request-list',
  encode(codes) {
    if (codes.length === 0) throw new OptionError(55, 'parameter-request-list', 'encode', 'empty list');
    for (const c of codes) {
      if (!Number.isInteger(c) || c < 1 || c > 254) throw new OptionError(55, 'parameter-request-list', 'encode', `${c} is not an option code 1..254`);
    }
    return Buffer.from(codes);
  },
  decode(p) {
    if (p.length === 0) throw new OptionError(55, 'parameter-request-list', 'decode', 'empty list');
    // Duplicates and pad/end codes carry no meaning: keep the first mention of each real code.
    return [...new Set(p)].filter((c) => c !== 0 && c !== 255);
  },
};
