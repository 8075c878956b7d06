// Option 13 (RFC 8415 21.13): a status code and a UTF-8 message for people. It appears at the
// top level of a reply, inside an IA_NA (about the IA) and inside an IA Address (about it).
import { Option6Error, checkUint, type Option6Codec } from './codec.js';

export const STATUS = {
  SUCCESS: 0,
  UNSPEC_FAIL: 1,
  NO_ADDRS_AVAIL: 2,
  NO_BINDING: 3,
  NOT_ON_LINK: 4,
  USE_MULTICAST: 5,
  NO_PREFIX_AVAIL: 6,
} as const;

export interface Status {
  code: number;
  /** Free text; may be empty. Invalid UTF-8 from a peer is read with replacement characters. */
  message: string;
}

export const statusCode: Option6Codec<Status> = {
  code: 13,
  name: 'status-code',
  encode(s) {
    checkUint(13, 'status-code', s.code, 16, 'status code');
    if (typeof s.message !== 'string') throw new Option6Error(13, 'status-code', 'encode', 'message is not a string');
    const text = Buffer.from(s.message, 'utf8');
    const out = Buffer.alloc(2 + text.length);
    out.writeUInt16BE(s.code, 0);
    text.copy(out, 2);
    return out;
  },
  decode(p) {
    if (p.length < 2) throw new Option6Error(13, 'status-code', 'decode', `length ${p.length}, expected at least 2`);
    return { code: p.readUInt16BE(0), message: p.subarray(2).toString('utf8') };
  },
};
