// Option 26 (RFC 2132 5.1): MTU of the client's interface; 68 is the smallest legal value.
import { u16Codec } from './codec.js';

export const interfaceMtu = u16Codec(26, 'interface-mtu', 68);
