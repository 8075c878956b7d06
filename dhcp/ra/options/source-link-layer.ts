// Source Link-Layer Address option (RFC 4861 4.6.1, type 1): the sender's MAC, so a host can
// reach the router without resolving it first. Ethernet: 6 bytes, one 8-byte unit.
import { NdOptionError, optionBuffer, type NdOptionCodec } from './codec.js';

const TYPE = 1;
const NAME = 'source-link-layer-address';

export const sourceLinkLayer: NdOptionCodec<string> = {
  type: TYPE,
  name: NAME,
  encode(mac) {
    const m = /^([0-9a-f]{2})(?::([0-9a-f]{2})){5}$/i.test(mac) ? mac.split(':').map((x) => parseInt(x, 16)) : null;
    if (!m) throw new NdOptionError(TYPE, NAME, 'encode', `${JSON.stringify(mac)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
    const b = optionBuffer(TYPE, 1);
    b.set(m, 2);
    return b;
  },
  decode(o) {
    // Other link layers have other lengths; on Ethernet the address is the first 6 bytes.
    if (o.length !== 8) throw new NdOptionError(TYPE, NAME, 'decode', `length ${o.length} bytes, expected 8 for Ethernet`);
    return [...o.subarray(2, 8)].map((x) => x.toString(16).padStart(2, '0')).join(':');
  },
};
