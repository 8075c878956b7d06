// Option 24 (RFC 3646 4): the DNS search list, as DNS wire-format names (RFC 1035 3.1). DHCPv6
// forbids compression (RFC 8415 10): each name is its labels, then a zero byte. Labels are
// printable ASCII without dots (host names, IDNs as A-labels), so that the text form of a
// decoded list encodes back to the same bytes; anything else is refused as 'bad-name'.
import { Option6Error, type Option6Codec } from './codec.js';

const CODE = 24;
const NAME = 'domain-search';
/** RFC 1035 2.3.4. */
const MAX_LABEL = 63;
const MAX_NAME_WIRE = 255;

function fail(op: 'encode' | 'decode', detail: string): never {
  throw new Option6Error(CODE, NAME, op, detail, 'bad-name');
}

const printableNoDot = (b: number): boolean => b > 0x20 && b < 0x7f && b !== 0x2e;

export const domainSearch: Option6Codec<string[]> = {
  code: CODE,
  name: NAME,
  encode(domains) {
    if (domains.length === 0) fail('encode', 'empty search list');
    const parts: Buffer[] = [];
    for (const domain of domains) {
      if (typeof domain !== 'string') fail('encode', `${JSON.stringify(domain)} is not a string`);
      const labels = domain.replace(/\.$/, '').split('.');
      let wire = 1;
      for (const label of labels) {
        const bytes = Buffer.from(label, 'latin1');
        if (bytes.length === 0) fail('encode', `${JSON.stringify(domain)} has an empty label`);
        if (bytes.length > MAX_LABEL) fail('encode', `label ${JSON.stringify(label)} of ${JSON.stringify(domain)} is longer than ${MAX_LABEL} bytes`);
        if (![...label].every((ch) => printableNoDot(ch.charCodeAt(0)))) {
          fail('encode', `label ${JSON.stringify(label)} of ${JSON.stringify(domain)} is not printable ASCII`);
        }
        parts.push(Buffer.from([bytes.length]), bytes);
        wire += 1 + bytes.length;
      }
      if (wire > MAX_NAME_WIRE) fail('encode', `${JSON.stringify(domain)} is ${wire} bytes on the wire, more than ${MAX_NAME_WIRE}`);
      parts.push(Buffer.from([0]));
    }
    return Buffer.concat(parts);
  },
  decode(p) {
    if (p.length === 0) fail('decode', 'empty search list');
    const names: string[] = [];
    let pos = 0;
    while (pos < p.length) {
      const start = pos;
      const labels: string[] = [];
      for (;;) {
        const len = p[pos];
        if (len === undefined) fail('decode', `name at offset ${start} has no terminating zero byte`);
        if (len === 0) {
          pos++;
          break;
        }
        if ((len & 0xc0) === 0xc0) fail('decode', `compression pointer at offset ${pos}: DHCPv6 names are not compressed`);
        if (len > MAX_LABEL) fail('decode', `label length ${len} at offset ${pos} is over ${MAX_LABEL}`);
        if (pos + 1 + len > p.length) fail('decode', `label at offset ${pos} (length ${len}) runs past the end`);
        const label = p.subarray(pos + 1, pos + 1 + len);
        if (!label.every(printableNoDot)) fail('decode', `label at offset ${pos} is not printable ASCII without dots`);
        labels.push(label.toString('latin1'));
        pos += 1 + len;
      }
      if (labels.length === 0) fail('decode', `empty name (the root) at offset ${start}`);
      if (pos - start > MAX_NAME_WIRE) fail('decode', `name at offset ${start} is ${pos - start} bytes, more than ${MAX_NAME_WIRE}`);
      names.push(labels.join('.'));
    }
    return names;
  },
};
