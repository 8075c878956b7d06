// Option 50 (RFC 2132 9.1): the address a client asks for (DISCOVER, INIT-REBOOT, SELECTING, DECLINE).
import { ipCodec } from './codec.js';

export const requestedIp = ipCodec(50, 'requested-ip');
