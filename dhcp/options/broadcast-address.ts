// Option 28 (RFC 2132 5.3): the broadcast address of the client's subnet.
import { ipCodec } from './codec.js';

export const broadcastAddress = ipCodec(28, 'broadcast-address');
