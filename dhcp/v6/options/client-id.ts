// Option 1 (RFC 8415 21.2): the client identifier, a DUID. It identifies the client (with the
// IAID, its IA); a server echoes it in every reply.
import type { Option6Codec } from './codec.js';
import { decodeDuid, encodeDuid, type Duid } from './duid.js';

export const clientId: Option6Codec<Duid> = {
  code: 1,
  name: 'client-id',
  encode: (d) => encodeDuid(d, 1, 'client-id'),
  decode: (p) => decodeDuid(p, 1, 'client-id'),
};
