// Test helpers: DHCP requests as clients send them.
import { DHCP, type DhcpMessage } from '../../../dhcp/packet.js';

export function request(type: number, fields: Partial<DhcpMessage> & { opts?: [number, Buffer | number[]][] } = {}): DhcpMessage {
  const { opts = [], ...rest } = fields;
  const options = new Map<number, Buffer>([[53, Buffer.from([type])]]);
  for (const [code, v] of opts) options.set(code, Buffer.isBuffer(v) ? v : Buffer.from(v));
  return {
    op: 1, htype: 1, hlen: 6, hops: 0, xid: 0x1234abcd, secs: 0, flags: 0,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
    chaddr: '52:54:00:12:34:56', sname: '', file: '', options, ...rest,
  };
}

export const ip = (s: string): Buffer => Buffer.from(s.split('.').map(Number));

export { DHCP };
