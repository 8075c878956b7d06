// Where a reply goes (RFC 2131 4.1): through the relay when there is one; a NAK is broadcast;
// a client with an address (ciaddr) gets unicast; otherwise the broadcast flag decides between
// broadcast and unicast to the new address at the client's MAC.
import { BROADCAST_FLAG, DHCP, type DhcpMessage } from '../packet.js';

export type Destination =
  | { kind: 'broadcast' }
  | { kind: 'unicast'; ip: string; mac: string }
  | { kind: 'relay'; ip: string };

const ZERO = '0.0.0.0';

export function replyDestination(req: DhcpMessage, reply: DhcpMessage, replyType: number): Destination {
  if (req.giaddr !== ZERO) return { kind: 'relay', ip: req.giaddr };
  if (replyType === DHCP.NAK) return { kind: 'broadcast' };
  if (req.ciaddr !== ZERO) return { kind: 'unicast', ip: req.ciaddr, mac: req.chaddr };
  if (req.flags & BROADCAST_FLAG || reply.yiaddr === ZERO) return { kind: 'broadcast' };
  return { kind: 'unicast', ip: reply.yiaddr, mac: req.chaddr };
}
