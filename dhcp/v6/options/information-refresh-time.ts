// Option 32 (RFC 8415 21.23): seconds until a stateless client asks again (0xffffffff:
// never). RFC 8415 says a server sends at least IRT_MINIMUM (600) and a client raises a
// smaller value to it; that is policy for the server's configuration, so the codec carries
// any 32-bit value both ways.
import { uintCodec } from './codec.js';

export const IRT_MINIMUM = 600;
export const IRT_DEFAULT = 86400;

export const informationRefreshTime = uintCodec(32, 'information-refresh-time', 4);
