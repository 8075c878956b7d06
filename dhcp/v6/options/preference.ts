// Option 7 (RFC 8415 21.8): the server's preference, 0..255, in an Advertise. 255 tells the
// client to take this server at once instead of waiting for others.
import { uintCodec } from './codec.js';

export const preference = uintCodec(7, 'preference', 1);
