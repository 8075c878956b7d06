// Option 14 (RFC 8415 21.14): no payload. In a Solicit, the client accepts a Reply straight
// away (two messages instead of four); in that Reply, the server says it committed.
import { Option6Error, type Option6Codec } from './codec.js';

export const rapidCommit: Option6Codec<true> = {
  code: 14,
  name: 'rapid-commit',
  encode(v) {
    if (v !== true) throw new Option6Error(14, 'rapid-commit', 'encode', `value ${JSON.stringify(v)} is not true (the option has no payload)`);
    return Buffer.alloc(0);
  },
  decode(p) {
    if (p.length !== 0) throw new Option6Error(14, 'rapid-commit', 'decode', `length ${p.length}, expected 0`);
    return true;
  },
};
