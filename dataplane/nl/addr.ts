// Addresses: struct ifaddrmsg and IFA_* attributes.
import { attr } from './attributes.js';
import * as c from './constants.js';
import { bytesToIp, ipFamily, ipToBytes } from './inet.js';
import type { NlRequest } from './message.js';

export const IFADDRMSG_LEN = 8;

export interface AddrFields {
  index: number;
  ip: string;
  prefix: number;
  nodad?: boolean;
  /** IFA_PROTO: who added the address; sent only when set (0 is "unspecified"). */
  protocol?: number;
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
    attrs: [
      attr.bytes(c.IFA_LOCAL, bytes), attr.bytes(c.IFA_ADDRESS, bytes),
      ...(f.protocol ? [attr.u8(c.IFA_PROTO, f.protocol)] : []),
    ],
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
  /** IFA_PROTO; 0 when absent (unspecified, or a kernel before 5.18). */
  protocol: number;
}

export function decodeAddress(p: Buffer, start = 0, end = p.length): AddrMessage {
  const m: AddrMessage = {
    family: p.readUInt8(start),
    prefix: p.readUInt8(start + 1),
    flags: p.readUInt8(start + 2),
    scope: p.readUInt8(start + 3),
    index: p.readUInt32LE(start + 4),
    ip: null,
    protocol: 0,
  };
  let local: string | null = null;
  let address: string | null = null;
  let pos = start + IFADDRMSG_LEN;
  while (pos + 4 <= end) {
    const len = p.readUInt16LE(pos);
    if (len < 4 || pos + len > end) break;
    switch (p.readUInt16LE(pos + 2) & c.NLA_TYPE_MASK) {
      case c.IFA_LOCAL:
        local = bytesToIp(p, pos + 4, len - 4);
        break;
      case c.IFA_ADDRESS:
        address = bytesToIp(p, pos + 4, len - 4);
        break;
      case c.IFA_FLAGS:
        // IFA_FLAGS (u32) supersedes the 8-bit field.
        m.flags = p.readUInt32LE(pos + 4);
        break;
      case c.IFA_PROTO:
        m.protocol = p.readUInt8(pos + 4);
        break;
    }
    pos += (len + 3) & ~3;
  }
  // IFA_LOCAL is our own address; IFA_ADDRESS alone (IPv6) is too.
  m.ip = local ?? address;
  return m;
}
