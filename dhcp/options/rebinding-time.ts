// Option 59 (RFC 2132 9.12): T2, when the client starts broadcasting to any server (default 0.875x lease).
import { u32Codec } from './codec.js';

export const rebindingTime = u32Codec(59, 'rebinding-time');
