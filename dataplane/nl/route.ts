// Routes: struct rtmsg and RTA_* attributes.
import { attr, type Attr } from './attributes.js';
import * as c from './constants.js';
import { bytesToIp, ipToBytes } from './inet.js';
import type { NlRequest } from './message.js';

export const RTMSG_LEN = 12;

export interface RouteFields {
  family: 4 | 6;
  /** Destination prefix; null for the default route. */
  dst: string | null;
  dstLen: number;
  gateway?: string;
  oif?: number;
  protocol: number;
  table: number;
  metric?: number;
}

function rtmsg(f: { family: number; dstLen: number; table: number; protocol: number; scope: number; type: number }): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  b.writeUInt8(f.family, 0);
  b.writeUInt8(f.dstLen, 1);
  b.writeUInt8(f.table, 4);
  b.writeUInt8(f.protocol, 5);
  b.writeUInt8(f.scope, 6);
  b.writeUInt8(f.type, 7);
  return b;
}

function routeAttrs(f: RouteFields): Attr[] {
  const attrs: Attr[] = [];
  if (f.dst !== null) attrs.push(attr.bytes(c.RTA_DST, ipToBytes(f.dst)));
  if (f.gateway) attrs.push(attr.bytes(c.RTA_GATEWAY, ipToBytes(f.gateway)));
  if (f.metric !== undefined) attrs.push(attr.u32(c.RTA_PRIORITY, f.metric));
  // Tables above 255 do not fit rtm_table: they go in RTA_TABLE, as iproute2 does.
  if (f.table > 255) attrs.push(attr.u32(c.RTA_TABLE, f.table));
  if (f.oif !== undefined) attrs.push(attr.u32(c.RTA_OIF, f.oif));
  return attrs;
}

const familyOf = (f: RouteFields): number => (f.family === 4 ? c.AF_INET : c.AF_INET6);
const tableField = (t: number): number => (t > 255 ? c.RT_TABLE_UNSPEC : t);

/** NLM_F_REPLACE: converges whatever route holds this destination to ours. */
export function replaceRouteRequest(f: RouteFields): NlRequest {
  return {
    type: c.RTM_NEWROUTE,
    flags: c.NLM_F_REQUEST | c.NLM_F_ACK | c.NLM_F_CREATE | c.NLM_F_REPLACE,
    family: rtmsg({
      family: familyOf(f),
      dstLen: f.dstLen,
      table: tableField(f.table),
      protocol: f.protocol,
      // A route without a gateway reaches its destination directly on the link.
      scope: f.gateway ? c.RT_SCOPE_UNIVERSE : c.RT_SCOPE_LINK,
      type: c.RTN_UNICAST,
    }),
    attrs: routeAttrs(f),
  };
}

export function addRouteRequest(f: RouteFields): NlRequest {
  return { ...replaceRouteRequest(f), flags: c.NLM_F_REQUEST | c.NLM_F_ACK | c.NLM_F_CREATE | c.NLM_F_EXCL };
}

export function deleteRouteRequest(f: RouteFields): NlRequest {
  return {
    type: c.RTM_DELROUTE,
    flags: c.NLM_F_REQUEST | c.NLM_F_ACK,
    family: rtmsg({
      family: familyOf(f),
      dstLen: f.dstLen,
      table: tableField(f.table),
      protocol: f.protocol,
      scope: c.RT_SCOPE_NOWHERE,
      type: c.RTN_UNSPEC,
    }),
    attrs: routeAttrs(f),
  };
}

export function dumpRoutesRequest(): NlRequest {
  return { type: c.RTM_GETROUTE, flags: c.NLM_F_REQUEST | c.NLM_F_DUMP, family: Buffer.alloc(RTMSG_LEN), attrs: [] };
}

export interface RouteMessage {
  family: number;
  dst: string | null;
  dstLen: number;
  gateway: string | null;
  oif: number | null;
  protocol: number;
  table: number;
  metric: number;
  scope: number;
  type: number;
}

export function decodeRoute(p: Buffer, start = 0, end = p.length): RouteMessage {
  const m: RouteMessage = {
    family: p.readUInt8(start),
    dstLen: p.readUInt8(start + 1),
    table: p.readUInt8(start + 4),
    protocol: p.readUInt8(start + 5),
    scope: p.readUInt8(start + 6),
    type: p.readUInt8(start + 7),
    dst: null,
    gateway: null,
    oif: null,
    metric: 0,
  };
  let pos = start + RTMSG_LEN;
  while (pos + 4 <= end) {
    const len = p.readUInt16LE(pos);
    if (len < 4 || pos + len > end) break;
    const v = pos + 4;
    switch (p.readUInt16LE(pos + 2) & c.NLA_TYPE_MASK) {
      case c.RTA_DST:
        m.dst = bytesToIp(p, v, len - 4);
        break;
      case c.RTA_GATEWAY:
        m.gateway = bytesToIp(p, v, len - 4);
        break;
      case c.RTA_OIF:
        m.oif = p.readUInt32LE(v);
        break;
      case c.RTA_PRIORITY:
        m.metric = p.readUInt32LE(v);
        break;
      case c.RTA_TABLE:
        m.table = p.readUInt32LE(v);
        break;
    }
    pos += (len + 3) & ~3;
  }
  return m;
}
