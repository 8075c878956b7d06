// Option 53 (RFC 2132 9.6): the DHCP message type, one byte (1 DISCOVER .. 8 INFORM; later RFCs add more).
import { OptionError, type OptionCodec } from './codec.js';

export const messageType: OptionCodec<number> = {
  code: 53,
  name: 'message-type',
  encode(v) {
    if (!Number.isInteger(v) || v < 1 || v > 255) throw new OptionError(53, 'message-type', 'encode', `${v} is not 1..255`);
    return Buffer.from([v]);
  },
  decode(p) {
    const v = p[0];
    if (p.length !== 1 || v === undefined || v === 0) {
      throw new OptionError(53, 'message-type', 'decode', `payload ${p.toString('hex') || '(empty)'} is not one non-zero byte`);
    }
    return v;
  },
};
