// Option 51 (RFC 2132 9.2): lease time in seconds; 0xffffffff means infinite.
import { u32Codec } from './codec.js';

export const leaseTime = u32Codec(51, 'lease-time');
