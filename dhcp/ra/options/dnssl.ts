// DNS Search List option (RFC 8106 5.2, type 31): search domains as DNS names (RFC 1035 3.1
// labels, no compression), padded with zeros to a multiple of 8 bytes.
import { checkU32, NdOptionError, optionBuffer, type NdOptionCodec } from './codec.js';

const TYPE = 31;
const NAME = 'dnssl';

export interface Dnssl {
  lifetimeSec: number;
  domains: string[];
}

function fail(op: 'encode' | 'decode', detail: string): never {
  throw new NdOptionError(TYPE, NAME, op, detail);
}

function encodeName(domain: string): number[] {
  const name = domain.replace(/\.$/, '');
  if (name.length === 0) fail('encode', 'empty domain name');
  if (Buffer.byteLength(name, 'utf8') > 253) fail('encode', `${JSON.stringify(domain)} is longer than 253 bytes`);
  const out: number[] = [];
  for (const label of name.split('.')) {
    const bytes = Buffer.from(label, 'utf8');
    if (bytes.length === 0) fail('encode', `${JSON.stringify(domain)} has an empty label`);
    if (bytes.length > 63) fail('encode', `label ${JSON.stringify(label)} of ${JSON.stringify(domain)} is longer than 63 bytes`);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

export const dnssl: NdOptionCodec<Dnssl> = {
  type: TYPE,
  name: NAME,
  encode(d) {
    if (d.domains.length === 0) fail('encode', 'no domains');
    const names = d.domains.flatMap(encodeName);
    const units = Math.ceil((8 + names.length) / 8);
    if (units > 255) fail('encode', `${d.domains.length} domains take ${units * 8} bytes, more than one option holds (2040)`);
    const b = optionBuffer(TYPE, units);
    b.writeUInt32BE(checkU32(TYPE, NAME, 'lifetime', d.lifetimeSec), 4);
    b.set(names, 8);
    return b;
  },
  decode(o) {
    if (o.length < 16) fail('decode', `length ${o.length / 8} units, the minimum is 2`);
    const domains: string[] = [];
    let pos = 8;
    while (pos < o.length) {
      // A zero where a name would start is the padding; all that follows must be zero too.
      if (o[pos] === 0) {
        if (o.subarray(pos).some((x) => x !== 0)) fail('decode', `non-zero bytes after the padding at offset ${pos}`);
        break;
      }
      const labels: string[] = [];
      while (o[pos] !== 0) {
        const len = o[pos]!;
        if (len > 63) fail('decode', `label length ${len} at offset ${pos} (compression is not allowed, labels are at most 63 bytes)`);
        if (pos + 1 + len >= o.length) fail('decode', `name at offset ${pos} runs past the end`);
        labels.push(o.toString('utf8', pos + 1, pos + 1 + len));
        pos += 1 + len;
      }
      pos++; // the root label
      domains.push(labels.join('.'));
    }
    if (domains.length === 0) fail('decode', 'no domains');
    return { lifetimeSec: o.readUInt32BE(4), domains };
  },
};
