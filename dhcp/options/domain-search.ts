// Option 119 (RFC 3397): the DNS search list, as DNS wire-format names (RFC 1035 3.1) with
// label compression: a name's suffix already written earlier becomes a 2-byte pointer
// (0xC0 | offset) into the option data. Long lists exceed 255 bytes: the packet codec splits
// them into several option instances (RFC 3396), and pointers count over the joined data.
import { OptionError, type OptionCodec } from './codec.js';

const CODE = 119;
const NAME = 'domain-search';

function fail(op: 'encode' | 'decode', detail: string): never {
  throw new OptionError(CODE, NAME, op, detail);
}

export const domainSearch: OptionCodec<string[]> = {
  code: CODE,
  name: NAME,
  encode(domains) {
    if (domains.length === 0) fail('encode', 'empty search list');
    const out: number[] = [];
    // Suffix (lower case, as DNS compares names case-insensitively) -> offset where it starts.
    const seen = new Map<string, number>();
    for (const domain of domains) {
      const labels = domain.replace(/\.$/, '').split('.');
      if (labels.some((l) => l.length === 0)) fail('encode', `${JSON.stringify(domain)} has an empty label`);
      if (Buffer.byteLength(domain, 'utf8') > 253) fail('encode', `${JSON.stringify(domain)} is longer than 253 bytes`);
      let pointer: number | undefined;
      for (let i = 0; i < labels.length; i++) {
        const suffix = labels.slice(i).join('.').toLowerCase();
        pointer = seen.get(suffix);
        if (pointer !== undefined) {
          out.push(0xc0 | (pointer >> 8), pointer & 0xff);
          break;
        }
        if (out.length <= 0x3fff) seen.set(suffix, out.length);
        const bytes = Buffer.from(labels[i]!, 'utf8');
        if (bytes.length > 63) fail('encode', `label ${JSON.stringify(labels[i])} of ${JSON.stringify(domain)} is longer than 63 bytes`);
        out.push(bytes.length, ...bytes);
      }
      if (pointer === undefined) out.push(0);
    }
    return Buffer.from(out);
  },
  decode(p) {
    if (p.length === 0) fail('decode', 'empty search list');
    const names: string[] = [];
    let pos = 0;
    while (pos < p.length) {
      const { name, next } = readName(p, pos);
      names.push(name);
      pos = next;
    }
    return names;
  },
};

/** Reads one name at `start`; `next` is where the following name begins. */
function readName(p: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = start;
  let next: number | undefined;
  // Each pointer must go strictly backwards, so a name cannot loop.
  let limit = start;
  for (;;) {
    const len = p[pos];
    if (len === undefined) fail('decode', `name at offset ${start} runs past the end`);
    if (len === 0) {
      next ??= pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      const low = p[pos + 1];
      if (low === undefined) fail('decode', `pointer at offset ${pos} is cut off`);
      const target = ((len & 0x3f) << 8) | low;
      if (target >= limit) fail('decode', `pointer at offset ${pos} to ${target} does not point backwards`);
      next ??= pos + 2;
      limit = target;
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) fail('decode', `label type 0x${(len & 0xc0).toString(16)} at offset ${pos} is not supported`);
    if (pos + 1 + len > p.length) fail('decode', `label at offset ${pos} runs past the end`);
    labels.push(p.subarray(pos + 1, pos + 1 + len).toString('utf8'));
    pos += 1 + len;
  }
  if (labels.length === 0) fail('decode', `empty name at offset ${start}`);
  return { name: labels.join('.'), next };
}
