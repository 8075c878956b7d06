// Neighbour (ARP/NDP) entries: struct ndmsg and NDA_* attributes.
import { attr } from './attributes.js';
import * as c from './constants.js';
import { bytesToIp, bytesToMac, ipFamily, ipToBytes, macToBytes } from './inet.js';
import type { NlRequest } from './message.js';

export const NDMSG_LEN = 12;

function ndmsg(family: number, index: number, state: number): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt16LE(state, 8);
  return b;
}

const familyOf = (ip: string): number => (ipFamily(ip) === 4 ? c.AF_INET : c.AF_INET6);

export function replaceNeighbourRequest(f: { index: number; ip: string; mac: string; state: number }): NlRequest {
  return {
    type: c.RTM_NEWNEIGH,
    flags: c.NLM_F_REQUEST | c.NLM_F_ACK | c.NLM_F_CREATE | c.NLM_F_REPLACE,
    family: ndmsg(familyOf(f.ip), f.index, f.state),
    attrs: [attr.bytes(c.NDA_DST, ipToBytes(f.ip)), attr.bytes(c.NDA_LLADDR, macToBytes(f.mac))],
  };
}

export function deleteNeighbourRequest(f: { index: number; ip: string }): NlRequest {
  return {
    type: c.RTM_DELNEIGH,
    flags: c.NLM_F_REQUEST | c.NLM_F_ACK,
    // iproute2 sends NUD_PERMANENT here too; the kernel ignores the state on delete.
    family: ndmsg(familyOf(f.ip), f.index, c.NUD_PERMANENT),
    attrs: [attr.bytes(c.NDA_DST, ipToBytes(f.ip))],
  };
}

export function dumpNeighboursRequest(): NlRequest {
  return { type: c.RTM_GETNEIGH, flags: c.NLM_F_REQUEST | c.NLM_F_DUMP, family: Buffer.alloc(NDMSG_LEN), attrs: [] };
}

export interface NeighMessage {
  family: number;
  index: number;
  state: number;
  ip: string | null;
  mac: string | null;
}

export function decodeNeighbour(p: Buffer, start = 0, end = p.length): NeighMessage {
  const m: NeighMessage = {
    family: p.readUInt8(start),
    index: p.readInt32LE(start + 4),
    state: p.readUInt16LE(start + 8),
    ip: null,
    mac: null,
  };
  let pos = start + NDMSG_LEN;
  while (pos + 4 <= end) {
    const len = p.readUInt16LE(pos);
    if (len < 4 || pos + len > end) break;
    const type = p.readUInt16LE(pos + 2) & c.NLA_TYPE_MASK;
    if (type === c.NDA_DST) m.ip = bytesToIp(p, pos + 4, len - 4);
    else if (type === c.NDA_LLADDR && len - 4 === 6) m.mac = bytesToMac(p, pos + 4, 6);
    pos += (len + 3) & ~3;
  }
  return m;
}
