// Option 54 (RFC 2132 9.7): the server identifier, our address on the network's bridge.
import { ipCodec } from './codec.js';

export const serverId = ipCodec(54, 'server-id');
