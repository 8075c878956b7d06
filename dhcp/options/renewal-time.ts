// Option 58 (RFC 2132 9.11): T1, when the client starts renewing with its server (default 0.5x lease).
import { u32Codec } from './codec.js';

export const renewalTime = u32Codec(58, 'renewal-time');
