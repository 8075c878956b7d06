// Netlink attributes (struct nlattr): type-length-value, 4-byte aligned, nestable.
// Encoding builds a tree then writes it once into one buffer; decoding returns views.
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';

export const NLA_HDRLEN = 4;
export const align4 = (n: number): number => (n + 3) & ~3;

export type Attr =
  | { readonly type: number; readonly data: Buffer }
  | { readonly type: number; readonly nested: readonly Attr[]; readonly flagNested?: boolean }
  /** Bytes copied as they are, without a TLV header: e.g. the ifinfomsg that opens VETH_INFO_PEER. */
  | { readonly raw: Buffer };

export const attr = {
  bytes: (type: number, data: Buffer): Attr => ({ type, data }),
  u8: (type: number, value: number): Attr => ({ type, data: Buffer.from([value & 0xff]) }),
  u16: (type: number, value: number): Attr => {
    const data = Buffer.alloc(2);
    data.writeUInt16LE(value);
    return { type, data };
  },
  u16be: (type: number, value: number): Attr => {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(value);
    return { type, data };
  },
  u32: (type: number, value: number): Attr => {
    const data = Buffer.alloc(4);
    data.writeUInt32LE(value >>> 0);
    return { type, data };
  },
  s32: (type: number, value: number): Attr => {
    const data = Buffer.alloc(4);
    data.writeInt32LE(value);
    return { type, data };
  },
  /** NUL-terminated string, as the kernel's NLA_STRING/NLA_NUL_STRING policies expect. */
  str: (type: number, value: string): Attr => ({ type, data: Buffer.from(`${value}\0`) }),
  /** Unterminated string (NLA_STRING accepts both); iproute2 sends link kinds and aliases so. */
  chars: (type: number, value: string): Attr => ({ type, data: Buffer.from(value) }),
  /** A nested attribute; iproute2 does not set NLA_F_NESTED for rtnetlink, nor do we by default. */
  nested: (type: number, nested: readonly Attr[], flagNested = false): Attr => ({ type, nested, flagNested }),
};

/** Bytes an attribute list occupies, padding included. */
export function attrsLength(attrs: readonly Attr[]): number {
  let total = 0;
  for (const a of attrs) total += align4(attrLength(a));
  return total;
}

function attrLength(a: Attr): number {
  if ('raw' in a) return a.raw.length;
  return NLA_HDRLEN + ('data' in a ? a.data.length : attrsLength(a.nested));
}

/** Writes `attrs` at `offset` (the buffer must be zero-filled for padding); returns the end. */
export function writeAttrs(buf: Buffer, offset: number, attrs: readonly Attr[]): number {
  let pos = offset;
  for (const a of attrs) {
    const len = attrLength(a);
    if ('raw' in a) {
      a.raw.copy(buf, pos);
      pos += align4(len);
      continue;
    }
    buf.writeUInt16LE(len, pos);
    if ('data' in a) {
      buf.writeUInt16LE(a.type, pos + 2);
      a.data.copy(buf, pos + NLA_HDRLEN);
    } else {
      buf.writeUInt16LE(a.type | (a.flagNested ? NLA_F_NESTED : 0), pos + 2);
      writeAttrs(buf, pos + NLA_HDRLEN, a.nested);
    }
    pos += align4(len);
  }
  return pos;
}

/** Attribute payloads by type (flags masked off), as views into `buf`. Malformed tails are ignored. */
export function parseAttrs(buf: Buffer, start = 0, end = buf.length): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let pos = start;
  while (pos + NLA_HDRLEN <= end) {
    const len = buf.readUInt16LE(pos);
    if (len < NLA_HDRLEN || pos + len > end) break;
    out.set(buf.readUInt16LE(pos + 2) & NLA_TYPE_MASK, buf.subarray(pos + NLA_HDRLEN, pos + len));
    pos += align4(len);
  }
  return out;
}

export const read = {
  u8: (b: Buffer | undefined): number | undefined => (b && b.length >= 1 ? b.readUInt8(0) : undefined),
  u16: (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16LE(0) : undefined),
  u16be: (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16BE(0) : undefined),
  u32: (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined),
  /** Up to the first NUL. */
  str: (b: Buffer | undefined): string | undefined => {
    if (!b) return undefined;
    const nul = b.indexOf(0);
    return b.toString('utf8', 0, nul < 0 ? b.length : nul);
  },
};
