// Option 12 (RFC 2132 3.14): the client's host name, as it sends it (recorded on its lease).
import { textCodec } from './codec.js';

export const hostname = textCodec(12, 'hostname');
