// Neighbour (ARP/NDP) entries: struct ndmsg and NDA_* attributes.
import { attr, parseAttrs } from './attributes.js';
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

export function decodeNeighbour(payload: Buffer): NeighMessage {
  const a = parseAttrs(payload, NDMSG_LEN);
  const dst = a.get(c.NDA_DST);
  const ll = a.get(c.NDA_LLADDR);
  return {
    family: payload.readUInt8(0),
    index: payload.readInt32LE(4),
    state: payload.readUInt16LE(8),
    ip: dst ? bytesToIp(dst) : null,
    mac: ll && ll.length === 6 ? bytesToMac(ll) : null,
  };
}
