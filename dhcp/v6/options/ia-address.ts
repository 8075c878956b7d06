// Option 5 (RFC 8415 21.6): one address of an IA_NA with its preferred and valid lifetimes
// (seconds; 0xffffffff: infinite), then nested options: a Status Code about this address, and
// anything else kept raw in order.
import { Option6Error, checkUint, decodeNested, ip6At, joinNested, splitNested, writeIp6, type Dhcp6Option, type Option6Codec } from './codec.js';
import { statusCode, type Status } from './status-code.js';

export interface IaAddress {
  address: string;
  preferredLifetime: number;
  validLifetime: number;
  status?: Status;
  /** Nested options other than the first Status Code, raw, in wire order. */
  otherOptions: Dhcp6Option[];
}

const CODE = 5;
const NAME = 'ia-address';
const SELF = { code: CODE, name: NAME };
const FIXED = 24;

export const iaAddress: Option6Codec<IaAddress> = {
  code: CODE,
  name: NAME,
  encode(a) {
    checkUint(CODE, NAME, a.preferredLifetime, 32, 'preferred lifetime');
    checkUint(CODE, NAME, a.validLifetime, 32, 'valid lifetime');
    const head = Buffer.alloc(FIXED);
    writeIp6(head, 0, a.address, CODE, NAME);
    head.writeUInt32BE(a.preferredLifetime, 16);
    head.writeUInt32BE(a.validLifetime, 20);
    const nested: Dhcp6Option[] = [];
    if (a.status) nested.push({ code: statusCode.code, data: statusCode.encode(a.status) });
    nested.push(...a.otherOptions);
    return Buffer.concat([head, joinNested(nested, SELF)]);
  },
  decode(p) {
    if (p.length < FIXED) throw new Option6Error(CODE, NAME, 'decode', `length ${p.length}, expected at least ${FIXED}`);
    const out: IaAddress = {
      address: ip6At(p, 0),
      preferredLifetime: p.readUInt32BE(16),
      validLifetime: p.readUInt32BE(20),
      otherOptions: [],
    };
    for (const o of splitNested(p, FIXED, SELF)) {
      if (o.code === statusCode.code && out.status === undefined) out.status = decodeNested(o, statusCode, SELF);
      else out.otherOptions.push(o);
    }
    return out;
  },
};
