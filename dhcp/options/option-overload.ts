// Option 52 (RFC 2132 9.3): which of the file (1) and sname (2) fields carry options (3: both).
// The packet codec applies it; this codec only checks the value.
import { OptionError, type OptionCodec } from './codec.js';

export const OVERLOAD_FILE = 1;
export const OVERLOAD_SNAME = 2;

export const optionOverload: OptionCodec<number> = {
  code: 52,
  name: 'option-overload',
  encode(v) {
    if (v !== 1 && v !== 2 && v !== 3) throw new OptionError(52, 'option-overload', 'encode', `${v} is not 1, 2 or 3`);
    return Buffer.from([v]);
  },
  decode(p) {
    const v = p[0];
    if (p.length !== 1 || (v !== 1 && v !== 2 && v !== 3)) {
      throw new OptionError(52, 'option-overload', 'decode', `payload ${p.toString('hex') || '(empty)'} is not one byte 1..3`);
    }
    return v;
  },
};
