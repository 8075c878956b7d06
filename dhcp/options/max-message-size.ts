// Option 57 (RFC 2132 9.10): the largest DHCP message (IP datagram) the client accepts; at least 576.
import { u16Codec } from './codec.js';

export const maxMessageSize = u16Codec(57, 'max-message-size', 576);
