// What every DHCP option module provides, plus the small payload helpers they share.
// Options are raw payloads in DhcpMessage.options; these codecs turn them into values.
import { intToIp, ipToInt } from '../../dataplane/ip4.js';

export interface OptionCodec<T> {
  readonly code: number;
  /** Short name used in errors and logs, e.g. "router". */
  readonly name: string;
  /** Throws OptionError when the value cannot be represented. */
  encode(value: T): Buffer;
  /** Throws OptionError when the payload is malformed. */
  decode(payload: Buffer): T;
}

export class OptionError extends Error {
  override readonly name = 'OptionError';
  constructor(readonly code: number, readonly optionName: string, readonly op: 'encode' | 'decode', readonly detail: string) {
    super(`${op} DHCP option ${code} (${optionName}): ${detail}`);
  }
}

export function ipCodec(code: number, name: string): OptionCodec<string> {
  return {
    code,
    name,
    encode(ip) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(checkedIp(code, name, ip));
      return b;
    },
    decode(p) {
      if (p.length !== 4) throw new OptionError(code, name, 'decode', `length ${p.length}, expected 4`);
      return intToIp(p.readUInt32BE(0));
    },
  };
}

export function ipListCodec(code: number, name: string): OptionCodec<string[]> {
  return {
    code,
    name,
    encode(ips) {
      if (ips.length === 0) throw new OptionError(code, name, 'encode', 'empty address list');
      const b = Buffer.alloc(4 * ips.length);
      ips.forEach((ip, i) => b.writeUInt32BE(checkedIp(code, name, ip), 4 * i));
      return b;
    },
    decode(p) {
      if (p.length === 0 || p.length % 4 !== 0) {
        throw new OptionError(code, name, 'decode', `length ${p.length}, expected a non-zero multiple of 4`);
      }
      const out: string[] = [];
      for (let i = 0; i < p.length; i += 4) out.push(intToIp(p.readUInt32BE(i)));
      return out;
    },
  };
}

export function u32Codec(code: number, name: string): OptionCodec<number> {
  return {
    code,
    name,
    encode(v) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new OptionError(code, name, 'encode', `${v} is not a 32-bit unsigned integer`);
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v);
      return b;
    },
    decode(p) {
      if (p.length !== 4) throw new OptionError(code, name, 'decode', `length ${p.length}, expected 4`);
      return p.readUInt32BE(0);
    },
  };
}

export function u16Codec(code: number, name: string, min: number): OptionCodec<number> {
  return {
    code,
    name,
    encode(v) {
      if (!Number.isInteger(v) || v < min || v > 0xffff) throw new OptionError(code, name, 'encode', `${v} is not in ${min}..65535`);
      const b = Buffer.alloc(2);
      b.writeUInt16BE(v);
      return b;
    },
    decode(p) {
      if (p.length !== 2) throw new OptionError(code, name, 'decode', `length ${p.length}, expected 2`);
      const v = p.readUInt16BE(0);
      if (v < min) throw new OptionError(code, name, 'decode', `${v} is below the minimum ${min}`);
      return v;
    },
  };
}

/** NVT ASCII text (RFC 2132 2): no terminating NUL is sent; a trailing NUL from clients is dropped. */
export function textCodec(code: number, name: string): OptionCodec<string> {
  return {
    code,
    name,
    encode(s) {
      const b = Buffer.from(s, 'utf8');
      if (b.length === 0) throw new OptionError(code, name, 'encode', 'empty text');
      return b;
    },
    decode(p) {
      if (p.length === 0) throw new OptionError(code, name, 'decode', 'empty text');
      let end = p.length;
      while (end > 0 && p[end - 1] === 0) end--;
      return p.subarray(0, end).toString('utf8');
    },
  };
}

function checkedIp(code: number, name: string, ip: string): number {
  try {
    return ipToInt(ip);
  } catch {
    throw new OptionError(code, name, 'encode', `${JSON.stringify(ip)} is not an IPv4 address`);
  }
}
