// Addresses: struct ifaddrmsg and IFA_* attributes.
import { attr, parseAttrs, read } from './attributes.js';
import * as c from './constants.js';
import { bytesToIp, ipFamily, ipToBytes } from './inet.js';
import type { NlRequest } from './message.js';

export const IFADDRMSG_LEN = 8;

export interface AddrFields {
  index: number;
  ip: string;
  prefix: number;
  nodad?: boolean;
}

function ifaddrmsg(family: number, prefix: number, flags: number, index: number): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefix, 1);
  b.writeUInt8(flags, 2);
  b.writeUInt8(c.RT_SCOPE_UNIVERSE, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

function addrRequest(type: number, flags: number, f: AddrFields): NlRequest {
  const family = ipFamily(f.ip) === 4 ? c.AF_INET : c.AF_INET6;
  const bytes = ipToBytes(f.ip);
  return {
    type,
    flags,
    family: ifaddrmsg(family, f.prefix, f.nodad ? c.IFA_F_NODAD : 0, f.index),
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS the peer (same on broadcast links).
    attrs: [attr.bytes(c.IFA_LOCAL, bytes), attr.bytes(c.IFA_ADDRESS, bytes)],
  };
}

export function addAddressRequest(f: AddrFields): NlRequest {
  return addrRequest(c.RTM_NEWADDR, c.NLM_F_REQUEST | c.NLM_F_ACK | c.NLM_F_CREATE | c.NLM_F_EXCL, f);
}

export function deleteAddressRequest(f: AddrFields): NlRequest {
  return addrRequest(c.RTM_DELADDR, c.NLM_F_REQUEST | c.NLM_F_ACK, f);
}

export function dumpAddressesRequest(): NlRequest {
  return { type: c.RTM_GETADDR, flags: c.NLM_F_REQUEST | c.NLM_F_DUMP, family: Buffer.alloc(IFADDRMSG_LEN), attrs: [] };
}

export interface AddrMessage {
  family: number;
  prefix: number;
  flags: number;
  scope: number;
  index: number;
  ip: string | null;
}

export function decodeAddress(payload: Buffer): AddrMessage {
  const a = parseAttrs(payload, IFADDRMSG_LEN);
  const local = a.get(c.IFA_LOCAL) ?? a.get(c.IFA_ADDRESS);
  return {
    family: payload.readUInt8(0),
    prefix: payload.readUInt8(1),
    // IFA_FLAGS (u32) supersedes the 8-bit field when present.
    flags: read.u32(a.get(c.IFA_FLAGS)) ?? payload.readUInt8(2),
    scope: payload.readUInt8(3),
    index: payload.readUInt32LE(4),
    ip: local ? bytesToIp(local) : null,
  };
}
