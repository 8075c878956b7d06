// Option 6 (RFC 2132 3.8): DNS servers, in order of preference.
import { ipListCodec } from './codec.js';

export const dnsServers = ipListCodec(6, 'dns-servers');
