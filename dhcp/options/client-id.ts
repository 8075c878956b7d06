// Option 61 (RFC 2132 9.14): the client identifier, kept as lower-case hex (type byte included).
// When present it identifies the client instead of chaddr (RFC 2131 4.2).
import { OptionError, type OptionCodec } from './codec.js';

export const clientId: OptionCodec<string> = {
  code: 61,
  name: 'client-id',
  encode(hex) {
    if (!/^([0-9a-fA-F]{2}){2,}$/.test(hex)) throw new OptionError(61, 'client-id', 'encode', `${JSON.stringify(hex)} is not hex of at least 2 bytes`);
    return Buffer.from(hex, 'hex');
  },
  decode(p) {
    if (p.length < 2) throw new OptionError(61, 'client-id', 'decode', `length ${p.length}, expected at least 2`);
    return p.toString('hex');
  },
};
