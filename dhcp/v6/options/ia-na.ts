// Option 3 (RFC 8415 21.4): an identity association for non-temporary addresses: the IAID the
// client chose, T1 and T2 (seconds until Renew and Rebind; 0: the server leaves it to the
// client), then nested options: IA Address options (5), a Status Code about the IA (13), and
// anything else kept raw. Encoding writes addresses, then the status, then the rest.
import { Option6Error, checkUint, decodeNested, joinNested, splitNested, type Dhcp6Option, type Option6Codec } from './codec.js';
import { iaAddress, type IaAddress } from './ia-address.js';
import { statusCode, type Status } from './status-code.js';

export interface IaNa {
  iaid: number;
  t1: number;
  t2: number;
  addresses: IaAddress[];
  status?: Status;
  /** Nested options other than IA Addresses and the first Status Code, raw, in wire order. */
  otherOptions: Dhcp6Option[];
}

const CODE = 3;
const NAME = 'ia-na';
const SELF = { code: CODE, name: NAME };
const FIXED = 12;

export const iaNa: Option6Codec<IaNa> = {
  code: CODE,
  name: NAME,
  encode(ia) {
    checkUint(CODE, NAME, ia.iaid, 32, 'IAID');
    checkUint(CODE, NAME, ia.t1, 32, 'T1');
    checkUint(CODE, NAME, ia.t2, 32, 'T2');
    const head = Buffer.alloc(FIXED);
    head.writeUInt32BE(ia.iaid, 0);
    head.writeUInt32BE(ia.t1, 4);
    head.writeUInt32BE(ia.t2, 8);
    const nested: Dhcp6Option[] = ia.addresses.map((a) => ({ code: iaAddress.code, data: iaAddress.encode(a) }));
    if (ia.status) nested.push({ code: statusCode.code, data: statusCode.encode(ia.status) });
    nested.push(...ia.otherOptions);
    return Buffer.concat([head, joinNested(nested, SELF)]);
  },
  decode(p) {
    if (p.length < FIXED) throw new Option6Error(CODE, NAME, 'decode', `length ${p.length}, expected at least ${FIXED}`);
    const out: IaNa = { iaid: p.readUInt32BE(0), t1: p.readUInt32BE(4), t2: p.readUInt32BE(8), addresses: [], otherOptions: [] };
    for (const o of splitNested(p, FIXED, SELF)) {
      if (o.code === iaAddress.code) out.addresses.push(decodeNested(o, iaAddress, SELF));
      else if (o.code === statusCode.code && out.status === undefined) out.status = decodeNested(o, statusCode, SELF);
      else out.otherOptions.push(o);
    }
    return out;
  },
};
