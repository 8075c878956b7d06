// What every DHCPv6 option module provides, plus the small payload helpers they share: the
// option framing (code and length, 16 bits each, RFC 8415 21.1), which container options
// (IA_NA, IA Address) reuse for their nested options, and IPv6 addresses as text.
// Options are raw payloads in Dhcp6Message.options; these codecs turn them into values.
import { bytesToIp, parseIp } from '../../../dataplane/ip.js';

export interface Option6Codec<T> {
  readonly code: number;
  /** Short name used in errors and logs, e.g. "client-id". */
  readonly name: string;
  /** Throws Option6Error when the value cannot be represented. */
  encode(value: T): Buffer;
  /** Throws Option6Error when the payload is malformed. */
  decode(payload: Buffer): T;
}

/** One option as it is on the wire: the payload is raw, nested options included. */
export interface Dhcp6Option {
  code: number;
  data: Buffer;
}

/** Stable counter labels for what is wrong with an option's payload. */
export type Option6Reason = 'bad-length' | 'nested-overrun' | 'bad-duid' | 'bad-name';

export class Option6Error extends Error {
  override readonly name = 'Option6Error';
  constructor(
    readonly code: number,
    readonly optionName: string,
    readonly op: 'encode' | 'decode',
    readonly detail: string,
    /** Counter label when decoding; 'bad-length' unless the option says otherwise. */
    readonly reason: Option6Reason = 'bad-length',
  ) {
    super(`${op} DHCPv6 option ${code} (${optionName}): ${detail}`);
  }
}

/** The largest payload the 16-bit option-len field can describe. */
export const MAX_OPTION_DATA = 0xffff;

/**
 * Splits `buf[start..]` into options. `overrun` is called (and must throw) when an option's
 * header or payload runs past the end, with a detail naming the offset. Payloads are copies:
 * a decoded message must not pin the receive buffer.
 */
export function splitOptions(buf: Buffer, start: number, overrun: (detail: string) => never): Dhcp6Option[] {
  const out: Dhcp6Option[] = [];
  let i = start;
  while (i < buf.length) {
    if (i + 4 > buf.length) overrun(`option header at offset ${i} is cut off (${buf.length - i} of 4 bytes)`);
    const code = buf.readUInt16BE(i);
    const len = buf.readUInt16BE(i + 2);
    if (i + 4 + len > buf.length) overrun(`option ${code} (length ${len}) at offset ${i} runs past the end (${buf.length - i - 4} bytes left)`);
    out.push({ code, data: Buffer.from(buf.subarray(i + 4, i + 4 + len)) });
    i += 4 + len;
  }
  return out;
}

/** The wire form of options in the given order; `bad` is called (and must throw) for a code or payload out of range. */
export function joinOptions(options: readonly Dhcp6Option[], bad: (detail: string) => never): Buffer {
  let size = 0;
  for (const o of options) {
    if (!Number.isInteger(o.code) || o.code < 0 || o.code > 0xffff) bad(`option code ${o.code} is not 0..65535`);
    if (o.data.length > MAX_OPTION_DATA) bad(`option ${o.code} is ${o.data.length} bytes, more than ${MAX_OPTION_DATA}`);
    size += 4 + o.data.length;
  }
  const out = Buffer.alloc(size);
  let pos = 0;
  for (const o of options) {
    out.writeUInt16BE(o.code, pos);
    out.writeUInt16BE(o.data.length, pos + 2);
    o.data.copy(out, pos + 4);
    pos += 4 + o.data.length;
  }
  return out;
}

/** The IPv6 address at `off` (16 bytes), RFC 5952 text. */
export function ip6At(buf: Buffer, off: number): string {
  return bytesToIp(buf, off, 16);
}

/** Writes an IPv6 address's 16 bytes at `off`; throws Option6Error on text that is not one. */
export function writeIp6(out: Buffer, off: number, ip: string, code: number, name: string): void {
  const parsed = typeof ip === 'string' ? parseIp(ip) : null;
  if (!parsed || parsed.family !== 6) throw new Option6Error(code, name, 'encode', `${JSON.stringify(ip)} is not an IPv6 address`);
  let v = parsed.value;
  for (let i = 15; i >= 0; i--) {
    out[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Checks a fixed payload length. */
export function expectLength(code: number, name: string, p: Buffer, len: number): void {
  if (p.length !== len) throw new Option6Error(code, name, 'decode', `length ${p.length}, expected ${len}`);
}

export function checkUint(code: number, name: string, v: number, bits: 8 | 16 | 24 | 32, what = 'value'): void {
  const max = 2 ** bits - 1;
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Option6Error(code, name, 'encode', `${what} ${v} is not an integer in 0..${max}`);
}

export function uintCodec(code: number, name: string, bytes: 1 | 2 | 4): Option6Codec<number> {
  const bits = (bytes * 8) as 8 | 16 | 32;
  return {
    code,
    name,
    encode(v) {
      checkUint(code, name, v, bits);
      const b = Buffer.alloc(bytes);
      b.writeUIntBE(v, 0, bytes);
      return b;
    },
    decode(p) {
      expectLength(code, name, p, bytes);
      return p.readUIntBE(0, bytes);
    },
  };
}

/** Splits the nested options of container option `outer` (IA_NA, IA Address) at `start`. */
export function splitNested(p: Buffer, start: number, outer: { code: number; name: string }): Dhcp6Option[] {
  return splitOptions(p, start, (detail) => {
    throw new Option6Error(outer.code, outer.name, 'decode', `nested ${detail}`, 'nested-overrun');
  });
}

/** The nested options' wire form; a payload too long for its length field names the container. */
export function joinNested(options: readonly Dhcp6Option[], outer: { code: number; name: string }): Buffer {
  return joinOptions(options, (detail) => {
    throw new Option6Error(outer.code, outer.name, 'encode', `nested ${detail}`);
  });
}

/**
 * Decodes a nested option. Its error is reworded to name the container it sits in and keeps
 * its reason (a bad Status Code inside an IA Address is still 'bad-length').
 */
export function decodeNested<T>(o: Dhcp6Option, codec: Option6Codec<T>, outer: { code: number; name: string }): T {
  try {
    return codec.decode(o.data);
  } catch (err) {
    if (!(err instanceof Option6Error)) throw err;
    throw new Option6Error(outer.code, outer.name, 'decode', `nested option ${err.code} (${err.optionName}): ${err.detail}`, err.reason);
  }
}
