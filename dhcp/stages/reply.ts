// The fixed fields of a reply to a request (RFC 2131 table 3).
import type { DhcpMessage } from '../packet.js';

export function replySkeleton(req: DhcpMessage, fields: { yiaddr?: string; ciaddr?: string }): DhcpMessage {
  return {
    op: 2,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags,
    ciaddr: fields.ciaddr ?? '0.0.0.0',
    yiaddr: fields.yiaddr ?? '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    sname: '',
    file: '',
    options: new Map(),
  };
}
