// What every Neighbor Discovery option module provides (RFC 4861 4.6): a type, a name for
// errors, and an encoder/decoder of the option's body. The option header (type, length in
// units of 8 bytes) and the walk over a message's options are shared here.
import { ipToBytes, parseIp } from '../../../dataplane/ip.js';

export interface NdOptionCodec<T> {
  readonly type: number;
  /** Short name used in errors, e.g. "prefix-information". */
  readonly name: string;
  /** The whole option: type, length and the body padded to a multiple of 8 bytes. */
  encode(value: T): Buffer;
  /** `option` is the whole option as found in the message (type and length included). */
  decode(option: Buffer): T;
}

export class NdOptionError extends Error {
  override readonly name = 'NdOptionError';
  constructor(readonly type: number, readonly optionName: string, readonly op: 'encode' | 'decode', readonly detail: string) {
    super(`${op} ND option ${type} (${optionName}): ${detail}`);
  }
}

/** A zeroed option of `units` * 8 bytes with its type and length filled in. */
export function optionBuffer(type: number, units: number): Buffer {
  const b = Buffer.alloc(units * 8);
  b[0] = type;
  b[1] = units;
  return b;
}

/** The 16 bytes of an IPv6 address; throws NdOptionError for anything else. */
export function ipv6Bytes(type: number, name: string, text: string): Buffer {
  const ip = parseIp(text);
  if (!ip || ip.family !== 6) throw new NdOptionError(type, name, 'encode', `${JSON.stringify(text)} is not an IPv6 address`);
  return ipToBytes(ip.text);
}

/** The 16 bytes of an IPv6 address given as its 128-bit number (a CIDR's `first`). */
export function addressBytes(value: bigint): Buffer {
  const b = Buffer.alloc(16);
  let v = value;
  for (let i = 15; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

/** Lifetimes are 32-bit seconds; 0xffffffff means infinity (RFC 4861 4.6.2). */
export const INFINITE_LIFETIME = 0xffffffff;

export function checkU32(type: number, name: string, what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new NdOptionError(type, name, 'encode', `${what} ${v} is not a 32-bit unsigned integer`);
  return v;
}

/** Where one option sits in a message. */
export interface RawNdOption {
  type: number;
  /** The whole option (header included), a view into the message. */
  bytes: Buffer;
}

export class NdOptionsError extends Error {
  override readonly name = 'NdOptionsError';
}

/**
 * Splits `buf` from `start` into options. RFC 4861 4.6 and 6.1: an option with length 0, or
 * one that runs past the end, makes the whole message invalid.
 */
export function walkOptions(buf: Buffer, start: number): RawNdOption[] {
  const out: RawNdOption[] = [];
  let pos = start;
  while (pos < buf.length) {
    if (pos + 2 > buf.length) throw new NdOptionsError(`decode ND options: ${buf.length - pos} stray byte(s) at offset ${pos}`);
    const type = buf[pos]!;
    const units = buf[pos + 1]!;
    if (units === 0) throw new NdOptionsError(`decode ND options: option ${type} at offset ${pos} has length 0`);
    const end = pos + units * 8;
    if (end > buf.length) throw new NdOptionsError(`decode ND options: option ${type} at offset ${pos} runs ${end - buf.length} byte(s) past the end`);
    out.push({ type, bytes: buf.subarray(pos, end) });
    pos = end;
  }
  return out;
}
