// Bridge forwarding database entries: neighbour messages (struct ndmsg) of family AF_BRIDGE.
// On a VXLAN device an entry maps a MAC to a remote tunnel endpoint (NDA_DST, optionally
// NDA_PORT and NDA_VNI); the all-zeros MAC is the flood list, and NLM_F_APPEND lets several
// all-zeros entries (one per remote) coexist, as `bridge fdb append` does.
import { attr, type Attr } from './attributes.js';
import * as c from './constants.js';
import { bytesToIp, bytesToMac, ipToBytes, macToBytes } from './inet.js';
import type { NlRequest } from './message.js';

const NDMSG_LEN = 12;

function ndmsg(index: number, state: number, flags: number): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(c.AF_BRIDGE, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt16LE(state, 8);
  b.writeUInt8(flags, 10);
  return b;
}

export interface FdbFields {
  /** The device the entry is on (the VXLAN device, or a bridge port). */
  index: number;
  mac: string;
  /** Remote tunnel endpoint (VXLAN). */
  dst?: string;
  /** UDP port of the remote; the device's own when absent. */
  port?: number;
  /** VNI sent to the remote; the device's own when absent. */
  vni?: number;
}

function fdbAttrs(f: FdbFields): Attr[] {
  // The order iproute2's `bridge fdb` sends them in: lladdr, dst, port, vni.
  const attrs: Attr[] = [attr.bytes(c.NDA_LLADDR, macToBytes(f.mac))];
  if (f.dst !== undefined) attrs.push(attr.bytes(c.NDA_DST, ipToBytes(f.dst)));
  if (f.port !== undefined) attrs.push(attr.u16be(c.NDA_PORT, f.port));
  if (f.vni !== undefined) attrs.push(attr.u32(c.NDA_VNI, f.vni));
  return attrs;
}

/**
 * `bridge fdb append MAC dev DEV dst IP [port P] [vni N]`: a static entry of the device itself
 * (NTF_SELF), permanent. Appending one that is there already succeeds and changes nothing.
 */
export function appendFdbRequest(f: FdbFields): NlRequest {
  return {
    type: c.RTM_NEWNEIGH,
    flags: c.NLM_F_REQUEST | c.NLM_F_ACK | c.NLM_F_CREATE | c.NLM_F_APPEND,
    family: ndmsg(f.index, c.NUD_NOARP | c.NUD_PERMANENT, c.NTF_SELF),
    attrs: fdbAttrs(f),
  };
}

/**
 * `bridge fdb del MAC dev DEV dst IP [port P] [vni N]`: with a dst only that remote goes (the
 * MAC's other remotes stay). The kernel answers ENOENT when the MAC has no entry at all, and
 * succeeds without change when the MAC has entries but not this remote.
 */
export function deleteFdbRequest(f: FdbFields): NlRequest {
  return {
    type: c.RTM_DELNEIGH,
    flags: c.NLM_F_REQUEST | c.NLM_F_ACK,
    // iproute2 sends the add's state here too; the kernel ignores it on delete.
    family: ndmsg(f.index, c.NUD_NOARP | c.NUD_PERMANENT, c.NTF_SELF),
    attrs: fdbAttrs(f),
  };
}

/**
 * A dump of the bridge FDB. `index` asks for one device's entries; a socket without
 * NETLINK_GET_STRICT_CHK gets every device's (the kernel reads a bare ndmsg as no filter),
 * so callers filter by index as well, as iproute2 does.
 */
export function dumpFdbRequest(f: { index?: number } = {}): NlRequest {
  return { type: c.RTM_GETNEIGH, flags: c.NLM_F_REQUEST | c.NLM_F_DUMP, family: ndmsg(f.index ?? 0, 0, 0), attrs: [] };
}

export interface FdbMessage {
  family: number;
  index: number;
  state: number;
  /** ndm_flags: NTF_SELF, NTF_MASTER, NTF_EXT_LEARNED... */
  flags: number;
  mac: string | null;
  dst: string | null;
  port: number | null;
  vni: number | null;
  srcVni: number | null;
  vlan: number | null;
  /** NDA_MASTER: the bridge of a port's entry. */
  masterIndex: number | null;
  /** NDA_IFINDEX: the underlay device of a VXLAN remote. */
  viaIndex: number | null;
}

export function decodeFdb(p: Buffer, start = 0, end = p.length): FdbMessage {
  const m: FdbMessage = {
    family: p.readUInt8(start),
    index: p.readInt32LE(start + 4),
    state: p.readUInt16LE(start + 8),
    flags: p.readUInt8(start + 10),
    mac: null, dst: null, port: null, vni: null, srcVni: null, vlan: null, masterIndex: null, viaIndex: null,
  };
  let pos = start + NDMSG_LEN;
  while (pos + 4 <= end) {
    const len = p.readUInt16LE(pos);
    if (len < 4 || pos + len > end) break;
    const type = p.readUInt16LE(pos + 2) & c.NLA_TYPE_MASK;
    const at = pos + 4;
    const size = len - 4;
    switch (type) {
      case c.NDA_LLADDR: if (size === 6) m.mac = bytesToMac(p, at, 6); break;
      case c.NDA_DST: if (size === 4 || size === 16) m.dst = bytesToIp(p, at, size); break;
      case c.NDA_PORT: if (size >= 2) m.port = p.readUInt16BE(at); break;
      case c.NDA_VNI: if (size >= 4) m.vni = p.readUInt32LE(at); break;
      case c.NDA_SRC_VNI: if (size >= 4) m.srcVni = p.readUInt32LE(at); break;
      case c.NDA_VLAN: if (size >= 2) m.vlan = p.readUInt16LE(at); break;
      case c.NDA_MASTER: if (size >= 4) m.masterIndex = p.readUInt32LE(at); break;
      case c.NDA_IFINDEX: if (size >= 4) m.viaIndex = p.readUInt32LE(at); break;
    }
    pos += (len + 3) & ~3;
  }
  return m;
}
