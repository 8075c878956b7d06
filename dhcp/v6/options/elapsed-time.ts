// Option 8 (RFC 8415 21.9): how long the client has been trying, in hundredths of a second
// (0xffff: longer than 655.35 s). Every client message carries it.
import { uintCodec } from './codec.js';

export const elapsedTime = uintCodec(8, 'elapsed-time', 2);
