// Option 2 (RFC 8415 21.3): the server identifier, a DUID. Every Advertise and Reply carries
// the server's; a Request, Renew, Release or Decline names the server it is meant for.
import type { Option6Codec } from './codec.js';
import { decodeDuid, encodeDuid, type Duid } from './duid.js';

export const serverId: Option6Codec<Duid> = {
  code: 2,
  name: 'server-id',
  encode: (d) => encodeDuid(d, 2, 'server-id'),
  decode: (p) => decodeDuid(p, 2, 'server-id'),
};
