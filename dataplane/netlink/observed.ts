// Decoded kernel messages → the dataplane's observed types.
import { read } from '../nl/attributes.js';
import * as c from '../nl/constants.js';
import { bytesToIp, type AddrMessage, type LinkMessage, type NeighMessage, type RouteMessage } from '../nl/index.js';
import type { Address, Link, Neighbour, Route } from '../types.js';

export function toLink(m: LinkMessage): Link {
  const link: Link = {
    index: m.index,
    name: m.name,
    kind: m.kind ?? 'device',
    mtu: m.mtu,
    mac: m.mac,
    alias: m.alias,
    group: m.group,
    up: (m.flags & c.IFF_UP) !== 0,
    lowerUp: (m.flags & c.IFF_LOWER_UP) !== 0,
    operState: c.OPER_STATES[m.operState] ?? 'UNKNOWN',
    masterIndex: m.masterIndex || null,
    // A device's IFLA_LINK may be itself (meaning none); a peer in another namespace may share our number.
    linkIndex: m.linkIndex && (m.linkIndex !== m.index || m.linkNetnsId !== null) ? m.linkIndex : null,
  };
  if (m.linkNetnsId !== null && m.linkNetnsId >= 0) link.linkNetnsId = m.linkNetnsId;
  const d = m.data;
  if (!d) return link;
  switch (m.kind) {
    case 'bridge':
      link.bridge = {
        stp: (read.u32(d.get(c.IFLA_BR_STP_STATE)) ?? 0) !== 0,
        forwardDelayCentis: read.u32(d.get(c.IFLA_BR_FORWARD_DELAY)) ?? 0,
        vlanFiltering: (read.u8(d.get(c.IFLA_BR_VLAN_FILTERING)) ?? 0) !== 0,
      };
      break;
    case 'vlan':
      link.vlan = {
        id: read.u16(d.get(c.IFLA_VLAN_ID)) ?? 0,
        protocol: read.u16be(d.get(c.IFLA_VLAN_PROTOCOL)) === c.ETH_P_8021AD ? '802.1ad' : '802.1Q',
      };
      break;
    case 'vxlan': {
      const local = d.get(c.IFLA_VXLAN_LOCAL) ?? d.get(c.IFLA_VXLAN_LOCAL6);
      const remote = d.get(c.IFLA_VXLAN_GROUP) ?? d.get(c.IFLA_VXLAN_GROUP6);
      link.vxlan = {
        vni: read.u32(d.get(c.IFLA_VXLAN_ID)) ?? 0,
        port: read.u16be(d.get(c.IFLA_VXLAN_PORT)) ?? 0,
        learning: (read.u8(d.get(c.IFLA_VXLAN_LEARNING)) ?? 0) !== 0,
        local: local ? bytesToIp(local) : null,
        remote: remote ? bytesToIp(remote) : null,
      };
      const device = read.u32(d.get(c.IFLA_VXLAN_LINK));
      if (device) link.vxlan.device = device;
      break;
    }
    case 'tun': {
      const owner = read.u32(d.get(c.IFLA_TUN_OWNER));
      const group = read.u32(d.get(c.IFLA_TUN_GROUP));
      link.tun = {
        type: read.u8(d.get(c.IFLA_TUN_TYPE)) === c.IFF_TAP ? 'tap' : 'tun',
        multiQueue: (read.u8(d.get(c.IFLA_TUN_MULTI_QUEUE)) ?? 0) !== 0,
        vnetHdr: (read.u8(d.get(c.IFLA_TUN_VNET_HDR)) ?? 0) !== 0,
        persist: (read.u8(d.get(c.IFLA_TUN_PERSIST)) ?? 0) !== 0,
        // The kernel reports "no owner" as (uid_t)-1.
        owner: owner === undefined || owner === 0xffffffff ? null : owner,
        groupOwner: group === undefined || group === 0xffffffff ? null : group,
      };
      break;
    }
  }
  return link;
}

export function toAddress(m: AddrMessage, names: ReadonlyMap<number, string>): Address | null {
  if (!m.ip || (m.family !== c.AF_INET && m.family !== c.AF_INET6)) return null;
  return {
    index: m.index,
    dev: names.get(m.index) ?? '',
    family: m.family === c.AF_INET ? 4 : 6,
    cidr: `${m.ip}/${m.prefix}`,
    scope: m.scope,
    flags: m.flags,
    protocol: m.protocol,
  };
}

export function toRoute(m: RouteMessage, names: ReadonlyMap<number, string>): Route | null {
  if (m.family !== c.AF_INET && m.family !== c.AF_INET6) return null;
  const family = m.family === c.AF_INET ? 4 : 6;
  return {
    family,
    destination: m.dst === null && m.dstLen === 0 ? 'default' : `${m.dst ?? (family === 4 ? '0.0.0.0' : '::')}/${m.dstLen}`,
    via: m.gateway,
    dev: m.oif === null ? null : (names.get(m.oif) ?? null),
    protocol: m.protocol,
    table: m.table,
    metric: m.metric,
    scope: m.scope,
    type: m.type,
  };
}

export function toNeighbour(m: NeighMessage, names: ReadonlyMap<number, string>): Neighbour | null {
  if (!m.ip || (m.family !== c.AF_INET && m.family !== c.AF_INET6)) return null;
  return { index: m.index, dev: names.get(m.index) ?? '', family: m.family === c.AF_INET ? 4 : 6, ip: m.ip, mac: m.mac, state: m.state };
}
