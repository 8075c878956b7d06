// RTM_GETNSID: the id another network namespace (given by an open fd) has in the socket's
// own. A veth reports its peer's namespace by that id (IFLA_LINK_NETNSID).
import { attr, parseAttrs } from './attributes.js';
import * as c from './constants.js';
import type { NlRequest } from './message.js';

/** struct rtgenmsg (family AF_UNSPEC), padded to 4 bytes as iproute2 sends it. */
const RTGENMSG = Buffer.alloc(4);

export function getNsidRequest(netnsFd: number): NlRequest {
  return { type: c.RTM_GETNSID, flags: c.NLM_F_REQUEST, family: RTGENMSG, attrs: [attr.u32(c.NETNSA_FD, netnsFd)] };
}

/** The id in an RTM_NEWNSID answer; null when the namespace has none here (NOT_ASSIGNED). */
export function decodeNsid(p: Buffer, start: number, end: number): number | null {
  const a = parseAttrs(p, start + RTGENMSG.length, end).get(c.NETNSA_NSID);
  const id = a && a.length >= 4 ? a.readInt32LE(0) : c.NETNSA_NSID_NOT_ASSIGNED;
  return id === c.NETNSA_NSID_NOT_ASSIGNED ? null : id;
}
