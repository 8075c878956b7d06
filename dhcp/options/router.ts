// Option 3 (RFC 2132 3.5): routers on the client's subnet, in order of preference.
import { ipListCodec } from './codec.js';

export const router = ipListCodec(3, 'router');
