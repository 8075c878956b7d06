// DHCP Unique Identifiers (RFC 8415 11): what options 1 and 2 carry. A DUID is opaque for
// identity (compare its bytes: duidHex), but its parsed form gives the MAC address of a
// DUID-LL or DUID-LLT, which is what reservations key on: a reinstalled guest makes a new
// DUID-LLT (a new time), keeps its MAC. Unknown DUID types are kept as raw bytes.
import { Option6Error } from './codec.js';

export const DUID_TYPE = { LLT: 1, EN: 2, LL: 3, UUID: 4 } as const;

/** IANA hardware type 1 (Ethernet): the link-layer address is a 6-byte MAC. */
export const HW_ETHERNET = 1;

export type Duid =
  /** Link-layer address plus time (seconds since 2000-01-01 UTC, modulo 2^32). */
  | { type: 'llt'; hardwareType: number; time: number; linkLayerAddress: string }
  /** Vendor-assigned: IANA enterprise number and an identifier (lower-case hex). */
  | { type: 'en'; enterpriseNumber: number; identifier: string }
  | { type: 'll'; hardwareType: number; linkLayerAddress: string }
  /** RFC 6355: 16 bytes, as "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lower case. */
  | { type: 'uuid'; uuid: string }
  /** Any other DUID type, its bytes after the type code as lower-case hex. */
  | { type: 'unknown'; typeCode: number; data: string };

/** RFC 8415 11.1: at most 128 octets after the 2-byte type code. */
export const MAX_DUID = 130;
/** A type code and at least one byte: a bare type code identifies no one. */
const MIN_DUID = 3;

const HEX = /^(?:[0-9a-f]{2})+$/i;
const LLADDR = /^[0-9a-f]{2}(?::[0-9a-f]{2})*$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Decodes a DUID carried by option `code`; errors name that option. */
export function decodeDuid(p: Buffer, code: number, name: string): Duid {
  const fail = (detail: string): never => {
    throw new Option6Error(code, name, 'decode', detail, 'bad-duid');
  };
  if (p.length < MIN_DUID || p.length > MAX_DUID) fail(`DUID of ${p.length} bytes, expected ${MIN_DUID}..${MAX_DUID}`);
  const type = p.readUInt16BE(0);
  switch (type) {
    case DUID_TYPE.LLT:
      if (p.length < 9) fail(`DUID-LLT of ${p.length} bytes, expected at least 9 (type, hardware type, time, address)`);
      return { type: 'llt', hardwareType: p.readUInt16BE(2), time: p.readUInt32BE(4), linkLayerAddress: colonHex(p.subarray(8)) };
    case DUID_TYPE.EN:
      if (p.length < 7) fail(`DUID-EN of ${p.length} bytes, expected at least 7 (type, enterprise number, identifier)`);
      return { type: 'en', enterpriseNumber: p.readUInt32BE(2), identifier: p.subarray(6).toString('hex') };
    case DUID_TYPE.LL:
      if (p.length < 5) fail(`DUID-LL of ${p.length} bytes, expected at least 5 (type, hardware type, address)`);
      return { type: 'll', hardwareType: p.readUInt16BE(2), linkLayerAddress: colonHex(p.subarray(4)) };
    case DUID_TYPE.UUID: {
      if (p.length !== 18) fail(`DUID-UUID of ${p.length} bytes, expected 18 (type and 16-byte UUID)`);
      const h = p.subarray(2).toString('hex');
      return { type: 'uuid', uuid: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` };
    }
    default:
      return { type: 'unknown', typeCode: type, data: p.subarray(2).toString('hex') };
  }
}

/** The DUID's bytes; throws Option6Error (naming option `code`) when a field is out of range. */
export function encodeDuid(d: Duid, code: number, name: string): Buffer {
  const fail = (detail: string): never => {
    throw new Option6Error(code, name, 'encode', detail, 'bad-duid');
  };
  const u16 = (v: number, what: string): void => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) fail(`${what} ${v} is not 0..65535`);
  };
  const u32 = (v: number, what: string): void => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(`${what} ${v} is not a 32-bit unsigned integer`);
  };
  const lladdr = (s: string): Buffer => {
    if (typeof s !== 'string' || !LLADDR.test(s)) fail(`link-layer address ${JSON.stringify(s)} is not colon-separated hex bytes`);
    return Buffer.from(s.replace(/:/g, ''), 'hex');
  };
  const hex = (s: string, what: string): Buffer => {
    if (typeof s !== 'string' || !HEX.test(s)) fail(`${what} ${JSON.stringify(s)} is not hex of at least one byte`);
    return Buffer.from(s, 'hex');
  };
  let out: Buffer;
  switch (d.type) {
    case 'llt': {
      u16(d.hardwareType, 'hardware type');
      u32(d.time, 'time');
      const head = Buffer.alloc(8);
      head.writeUInt16BE(DUID_TYPE.LLT, 0);
      head.writeUInt16BE(d.hardwareType, 2);
      head.writeUInt32BE(d.time, 4);
      out = Buffer.concat([head, lladdr(d.linkLayerAddress)]);
      break;
    }
    case 'en': {
      u32(d.enterpriseNumber, 'enterprise number');
      const head = Buffer.alloc(6);
      head.writeUInt16BE(DUID_TYPE.EN, 0);
      head.writeUInt32BE(d.enterpriseNumber, 2);
      out = Buffer.concat([head, hex(d.identifier, 'identifier')]);
      break;
    }
    case 'll': {
      u16(d.hardwareType, 'hardware type');
      const head = Buffer.alloc(4);
      head.writeUInt16BE(DUID_TYPE.LL, 0);
      head.writeUInt16BE(d.hardwareType, 2);
      out = Buffer.concat([head, lladdr(d.linkLayerAddress)]);
      break;
    }
    case 'uuid': {
      if (typeof d.uuid !== 'string' || !UUID.test(d.uuid)) fail(`UUID ${JSON.stringify(d.uuid)} is not xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`);
      out = Buffer.concat([Buffer.from([0, DUID_TYPE.UUID]), Buffer.from(d.uuid.replace(/-/g, ''), 'hex')]);
      break;
    }
    case 'unknown': {
      u16(d.typeCode, 'DUID type');
      if (d.typeCode >= DUID_TYPE.LLT && d.typeCode <= DUID_TYPE.UUID) fail(`DUID type ${d.typeCode} is a known type, not 'unknown'`);
      const head = Buffer.alloc(2);
      head.writeUInt16BE(d.typeCode, 0);
      out = Buffer.concat([head, hex(d.data, 'data')]);
      break;
    }
    default:
      return fail(`DUID type ${JSON.stringify((d as { type: unknown }).type)} is not llt, en, ll, uuid or unknown`);
  }
  if (out.length > MAX_DUID) fail(`DUID of ${out.length} bytes, more than ${MAX_DUID}`);
  return out;
}

/** The MAC address a DUID-LL or DUID-LLT names when its hardware type is Ethernet; else undefined. */
export function macFromDuid(d: Duid): string | undefined {
  if (d.type !== 'll' && d.type !== 'llt') return undefined;
  if (d.hardwareType !== HW_ETHERNET || d.linkLayerAddress.length !== 17) return undefined;
  return d.linkLayerAddress.toLowerCase();
}

/** A DUID's bytes as lower-case hex: the stable key of a client (RFC 8415 11: compare DUIDs as opaque). */
export function duidHex(d: Duid): string {
  return encodeDuid(d, 0, 'duid').toString('hex');
}

function colonHex(b: Buffer): string {
  return b.toString('hex').replace(/(..)(?!$)/g, '$1:');
}
