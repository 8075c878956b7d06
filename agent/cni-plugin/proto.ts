// The few protobuf wire rules the plugin needs (varints, length-delimited strings and messages),
// written out instead of loading @bufbuild/protobuf: every module a short-lived plugin process
// loads is start-up time on every pod's ADD. test/unit/agent/cni-plugin-wire.test.ts checks
// these bytes against the generated encoders and decoders (agent/api/gen/hostnet/v1/cni.ts).
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private varint(n: number): void {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    out.push(n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** Proto3: an empty string is not written. */
  string(field: number, s: string): this {
    if (s !== '') this.bytes(field, utf8.encode(s));
    return this;
  }

  strings(field: number, list: readonly string[]): this {
    for (const s of list) this.bytes(field, utf8.encode(s));
    return this;
  }

  /** A sub-message: written even when empty (its presence is meaningful). */
  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  private bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

export class ProtoDecodeError extends Error {
  override readonly name = 'ProtoDecodeError';
}

/** One field as read: its number, and its value as a number (varint) or bytes (length-delimited). */
export interface ProtoField {
  field: number;
  num: number;
  bytes: Uint8Array;
}

/** Walks a message's fields; fixed32/64 fields (none of ours) are skipped. */
export function* fields(buf: Uint8Array): Generator<ProtoField> {
  let at = 0;
  const varint = (): number => {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= buf.length) throw new ProtoDecodeError('truncated varint');
      const b = buf[at++]!;
      n += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return n;
      mul *= 0x80;
    }
    throw new ProtoDecodeError('varint longer than 10 bytes');
  };
  const empty = new Uint8Array(0);
  while (at < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) yield { field, num: varint(), bytes: empty };
    else if (wireType === 2) {
      const len = varint();
      if (at + len > buf.length) throw new ProtoDecodeError(`field ${field}: length ${len} past the end`);
      yield { field, num: 0, bytes: buf.subarray(at, at + len) };
      at += len;
    } else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else throw new ProtoDecodeError(`field ${field}: unsupported wire type ${wireType}`);
    if (at > buf.length) throw new ProtoDecodeError(`field ${field}: past the end`);
  }
}

export const text = (b: Uint8Array): string => fromUtf8.decode(b);
