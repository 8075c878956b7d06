// Option 15 (RFC 2132 3.17): the domain name the client should use for DNS resolution.
import { textCodec } from './codec.js';

export const domainName = textCodec(15, 'domain-name');
