// Links: struct ifinfomsg, IFLA_* attributes, IFLA_LINKINFO kinds (bridge, vlan, veth, vxlan).
// Builders return requests without a sequence number; the socket assigns it.
import { attr, parseAttrs, type Attr } from './attributes.js';
import { NLA_TYPE_MASK } from './constants.js';
import * as c from './constants.js';
import type { NlRequest } from './message.js';
import { bytesToMac, ipFamily, ipToBytes, macToBytes } from './inet.js';

export const IFINFOMSG_LEN = 16;

export interface IfInfoMsg {
  family?: number;
  type?: number;
  index?: number;
  flags?: number;
  change?: number;
}

export function encodeIfinfomsg(m: IfInfoMsg = {}): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(m.family ?? c.AF_UNSPEC, 0);
  b.writeUInt16LE(m.type ?? 0, 2);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE(m.flags ?? 0, 8);
  b.writeUInt32LE(m.change ?? 0, 12);
  return b;
}

/** Which link a request is about: by index when known, else by name (the kernel resolves it). */
export type LinkRef = { index: number } | { name: string };

/** Attributes shared by create and change requests, in the order iproute2 sends them. */
export interface LinkFields {
  /** IFLA_LINK: a VLAN's parent. */
  linkIndex?: number;
  mtu?: number;
  mac?: string;
  group?: number;
  /** 0 detaches from the current master. */
  masterIndex?: number;
  alias?: string;
  up?: boolean;
}

function fieldAttrs(f: LinkFields): Attr[] {
  const out: Attr[] = [];
  if (f.linkIndex !== undefined) out.push(attr.u32(c.IFLA_LINK, f.linkIndex));
  if (f.mtu !== undefined) out.push(attr.u32(c.IFLA_MTU, f.mtu));
  if (f.mac !== undefined) out.push(attr.bytes(c.IFLA_ADDRESS, macToBytes(f.mac)));
  if (f.group !== undefined) out.push(attr.u32(c.IFLA_GROUP, f.group));
  if (f.masterIndex !== undefined) out.push(attr.u32(c.IFLA_MASTER, f.masterIndex));
  if (f.alias !== undefined) out.push(attr.chars(c.IFLA_IFALIAS, f.alias));
  return out;
}

function upFlags(up: boolean | undefined): Pick<IfInfoMsg, 'flags' | 'change'> {
  return up === undefined ? {} : { flags: up ? c.IFF_UP : 0, change: c.IFF_UP };
}

export type LinkInfo =
  | { kind: 'bridge'; forwardDelayCentis?: number; stp?: boolean; vlanFiltering?: boolean; vlanDefaultPvid?: number }
  | { kind: 'vlan'; id: number; protocol?: '802.1Q' | '802.1ad' }
  | { kind: 'vxlan'; vni: number; device?: number; ttl?: number; local?: string; remote?: string; learning?: boolean; port?: number }
  | { kind: 'veth'; peer: { name: string; netnsFd?: number; mtu?: number; mac?: string; up?: boolean } };

function infoData(info: LinkInfo): Attr[] {
  switch (info.kind) {
    case 'bridge': {
      const d: Attr[] = [];
      if (info.forwardDelayCentis !== undefined) d.push(attr.u32(c.IFLA_BR_FORWARD_DELAY, info.forwardDelayCentis));
      if (info.stp !== undefined) d.push(attr.u32(c.IFLA_BR_STP_STATE, info.stp ? 1 : 0));
      if (info.vlanFiltering !== undefined) d.push(attr.u8(c.IFLA_BR_VLAN_FILTERING, info.vlanFiltering ? 1 : 0));
      if (info.vlanDefaultPvid !== undefined) d.push(attr.u16(c.IFLA_BR_VLAN_DEFAULT_PVID, info.vlanDefaultPvid));
      return d;
    }
    case 'vlan': {
      const d: Attr[] = [];
      if (info.protocol) {
        d.push(attr.u16be(c.IFLA_VLAN_PROTOCOL, info.protocol === '802.1ad' ? c.ETH_P_8021AD : c.ETH_P_8021Q));
      }
      d.push(attr.u16(c.IFLA_VLAN_ID, info.id));
      return d;
    }
    case 'vxlan': {
      const d: Attr[] = [];
      if (info.device !== undefined) d.push(attr.u32(c.IFLA_VXLAN_LINK, info.device));
      if (info.ttl !== undefined) d.push(attr.u8(c.IFLA_VXLAN_TTL, info.ttl));
      d.push(attr.u32(c.IFLA_VXLAN_ID, info.vni));
      if (info.local !== undefined) {
        d.push(attr.bytes(ipFamily(info.local) === 4 ? c.IFLA_VXLAN_LOCAL : c.IFLA_VXLAN_LOCAL6, ipToBytes(info.local)));
      }
      if (info.remote !== undefined) {
        d.push(attr.bytes(ipFamily(info.remote) === 4 ? c.IFLA_VXLAN_GROUP : c.IFLA_VXLAN_GROUP6, ipToBytes(info.remote)));
      }
      if (info.learning !== undefined) d.push(attr.u8(c.IFLA_VXLAN_LEARNING, info.learning ? 1 : 0));
      if (info.port !== undefined) d.push(attr.u16be(c.IFLA_VXLAN_PORT, info.port));
      return d;
    }
    case 'veth': {
      const p = info.peer;
      // VETH_INFO_PEER carries a whole ifinfomsg followed by the peer's own IFLA_* attributes.
      const peerAttrs: Attr[] = [];
      if (p.mtu !== undefined) peerAttrs.push(attr.u32(c.IFLA_MTU, p.mtu));
      if (p.mac !== undefined) peerAttrs.push(attr.bytes(c.IFLA_ADDRESS, macToBytes(p.mac)));
      if (p.netnsFd !== undefined) peerAttrs.push(attr.u32(c.IFLA_NET_NS_FD, p.netnsFd));
      peerAttrs.push(attr.str(c.IFLA_IFNAME, p.name));
      return [attr.nested(c.VETH_INFO_PEER, [{ raw: encodeIfinfomsg(upFlags(p.up)) }, ...peerAttrs])];
    }
  }
}

/** RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: fails with EEXIST if the name is taken. */
export function createLinkRequest(name: string, info: LinkInfo, fields: LinkFields = {}): NlRequest {
  const { alias: _ignoredOnCreate, up, linkIndex, ...rest } = fields;
  const attrs = [
    ...fieldAttrs({ linkIndex }),
    ...fieldAttrs(rest),
    attr.str(c.IFLA_IFNAME, name),
    attr.nested(c.IFLA_LINKINFO, [attr.chars(c.IFLA_INFO_KIND, info.kind), ...wrapData(infoData(info))]),
  ];
  return {
    type: c.RTM_NEWLINK,
    flags: c.NLM_F_REQUEST | c.NLM_F_ACK | c.NLM_F_CREATE | c.NLM_F_EXCL,
    family: encodeIfinfomsg(upFlags(up)),
    attrs,
  };
}

function wrapData(data: Attr[]): Attr[] {
  return data.length ? [attr.nested(c.IFLA_INFO_DATA, data)] : [];
}

/** RTM_NEWLINK without NLM_F_CREATE: changes an existing link. */
export function changeLinkRequest(ref: LinkRef, fields: LinkFields, info?: LinkInfo): NlRequest {
  const attrs = fieldAttrs(fields);
  if ('name' in ref) attrs.push(attr.str(c.IFLA_IFNAME, ref.name));
  if (info) attrs.push(attr.nested(c.IFLA_LINKINFO, [attr.chars(c.IFLA_INFO_KIND, info.kind), ...wrapData(infoData(info))]));
  return {
    type: c.RTM_NEWLINK,
    flags: c.NLM_F_REQUEST | c.NLM_F_ACK,
    family: encodeIfinfomsg({ index: 'index' in ref ? ref.index : 0, ...upFlags(fields.up) }),
    attrs,
  };
}

export function deleteLinkRequest(ref: LinkRef): NlRequest {
  return {
    type: c.RTM_DELLINK,
    flags: c.NLM_F_REQUEST | c.NLM_F_ACK,
    family: encodeIfinfomsg({ index: 'index' in ref ? ref.index : 0 }),
    attrs: 'name' in ref ? [attr.str(c.IFLA_IFNAME, ref.name)] : [],
  };
}

/** One RTM_DELLINK for every link in a group: the kernel unregisters them in one batch. */
export function deleteLinkGroupRequest(group: number): NlRequest {
  return {
    type: c.RTM_DELLINK,
    flags: c.NLM_F_REQUEST | c.NLM_F_ACK,
    family: encodeIfinfomsg(),
    attrs: [attr.u32(c.IFLA_GROUP, group)],
  };
}

export function getLinkRequest(ref: LinkRef): NlRequest {
  return {
    type: c.RTM_GETLINK,
    flags: c.NLM_F_REQUEST,
    family: encodeIfinfomsg({ index: 'index' in ref ? ref.index : 0 }),
    attrs: [
      attr.u32(c.IFLA_EXT_MASK, c.RTEXT_FILTER_SKIP_STATS),
      ...('name' in ref ? [attr.str(c.IFLA_IFNAME, ref.name)] : []),
    ],
  };
}

export function dumpLinksRequest(): NlRequest {
  return {
    type: c.RTM_GETLINK,
    flags: c.NLM_F_REQUEST | c.NLM_F_DUMP,
    family: encodeIfinfomsg(),
    attrs: [attr.u32(c.IFLA_EXT_MASK, c.RTEXT_FILTER_SKIP_STATS)],
  };
}

/** A link as rtnetlink describes it (RTM_NEWLINK payload). */
export interface LinkMessage {
  index: number;
  flags: number;
  name: string;
  mtu: number;
  mac: string | null;
  alias: string | null;
  group: number;
  masterIndex: number | null;
  linkIndex: number | null;
  /** IFLA_LINK_NETNSID: the namespace of `linkIndex`, when it is another one. */
  linkNetnsId: number | null;
  operState: number;
  kind: string | null;
  /** IFLA_INFO_DATA attributes by type, when the kind has any. */
  data: Map<number, Buffer> | null;
}

// Decoders walk attributes by offset and read values in place: a dump of thousands of links
// must not allocate a Map and a view per attribute.
export function decodeLink(p: Buffer, start = 0, end = p.length): LinkMessage {
  const m: LinkMessage = {
    index: p.readInt32LE(start + 4),
    flags: p.readUInt32LE(start + 8),
    name: '',
    mtu: 0,
    mac: null,
    alias: null,
    group: 0,
    masterIndex: null,
    linkIndex: null,
    linkNetnsId: null,
    operState: 0,
    kind: null,
    data: null,
  };
  let pos = start + IFINFOMSG_LEN;
  while (pos + 4 <= end) {
    const len = p.readUInt16LE(pos);
    if (len < 4 || pos + len > end) break;
    const v = pos + 4;
    const vlen = len - 4;
    switch (p.readUInt16LE(pos + 2) & NLA_TYPE_MASK) {
      case c.IFLA_IFNAME:
        m.name = cstring(p, v, pos + len);
        break;
      case c.IFLA_MTU:
        m.mtu = p.readUInt32LE(v);
        break;
      case c.IFLA_ADDRESS:
        if (vlen === 6) m.mac = bytesToMac(p, v, 6);
        break;
      case c.IFLA_IFALIAS:
        m.alias = cstring(p, v, pos + len) || null;
        break;
      case c.IFLA_GROUP:
        m.group = p.readUInt32LE(v);
        break;
      case c.IFLA_MASTER:
        m.masterIndex = p.readUInt32LE(v);
        break;
      case c.IFLA_LINK:
        m.linkIndex = p.readUInt32LE(v);
        break;
      case c.IFLA_LINK_NETNSID:
        m.linkNetnsId = p.readInt32LE(v);
        break;
      case c.IFLA_OPERSTATE:
        m.operState = p.readUInt8(v);
        break;
      case c.IFLA_LINKINFO:
        decodeLinkInfo(p, v, pos + len, m);
        break;
    }
    pos += (len + 3) & ~3;
  }
  return m;
}

function decodeLinkInfo(p: Buffer, start: number, end: number, m: LinkMessage): void {
  let pos = start;
  while (pos + 4 <= end) {
    const len = p.readUInt16LE(pos);
    if (len < 4 || pos + len > end) break;
    const type = p.readUInt16LE(pos + 2) & NLA_TYPE_MASK;
    if (type === c.IFLA_INFO_KIND) m.kind = cstring(p, pos + 4, pos + len);
    else if (type === c.IFLA_INFO_DATA) m.data = parseAttrs(p, pos + 4, pos + len);
    pos += (len + 3) & ~3;
  }
}

/** A NUL-terminated (or unterminated) string inside [start, end). */
export function cstring(p: Buffer, start: number, end: number): string {
  const nul = p.indexOf(0, start);
  return p.toString('utf8', start, nul >= 0 && nul < end ? nul : end);
}
