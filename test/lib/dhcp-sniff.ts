// An independent witness of what a DHCP server answered: an AF_PACKET socket in the client
// namespace that sees every IPv4 packet there and picks out DHCP ACKs and NAKs, parsed by hand
// (not with the codec under test), read through packet-socket.ts.
import { ETH_P_IP_BE, PacketSocket } from './packet-socket.js';

export interface SniffedReply {
  type: 'ack' | 'nak' | 'offer';
  mac: string;
  ip: string;
  xid: number;
}

/** Parses an IPv4 packet; returns the DHCP reply it carries, if any. */
export function parseDhcpReply(b: Buffer): SniffedReply | null {
  if (b.length < 20 || b[0]! >> 4 !== 4 || b[9] !== 17) return null;
  const ihl = (b[0]! & 15) * 4;
  const udp = ihl;
  if (b.length < udp + 8) return null;
  const dport = b.readUInt16BE(udp + 2);
  if (dport !== 67 && dport !== 68) return null;
  const d = udp + 8;
  if (b.length < d + 240 || b[d] !== 2 || b.readUInt32BE(d + 236) !== 0x63825363) return null;
  let type = 0;
  for (let i = d + 240; i < b.length; ) {
    const code = b[i]!;
    if (code === 0) { i++; continue; }
    if (code === 255 || i + 1 >= b.length) break;
    const len = b[i + 1]!;
    if (code === 53 && len >= 1 && i + 2 < b.length) type = b[i + 2]!;
    i += 2 + len;
  }
  const kind = type === 5 ? 'ack' : type === 6 ? 'nak' : type === 2 ? 'offer' : null;
  if (!kind) return null;
  const mac = [...b.subarray(d + 28, d + 34)].map((x) => x.toString(16).padStart(2, '0')).join(':');
  return { type: kind, mac, ip: [...b.subarray(d + 16, d + 20)].join('.'), xid: b.readUInt32BE(d + 4) };
}

export class DhcpReplySniffer {
  /** Last ACKed address per client MAC. */
  readonly acked = new Map<string, string>();
  acks = 0;
  naks = 0;
  private readonly socket: PacketSocket;

  private constructor(netns: string) {
    // Bursts of thousands of replies must not overflow the default buffer.
    this.socket = PacketSocket.open(netns, 'open sniffer', ETH_P_IP_BE, 16 * 1024 * 1024, (b) => this.take(b));
  }

  static open(netns: string): DhcpReplySniffer {
    return new DhcpReplySniffer(netns);
  }

  private take(packet: Buffer): void {
    const r = parseDhcpReply(packet);
    if (!r) return;
    if (r.type === 'ack') {
      this.acks++;
      this.acked.set(r.mac, r.ip);
    } else if (r.type === 'nak') this.naks++;
  }

  /** Reads what is still queued, then closes. */
  close(): void {
    this.socket.close();
  }
}
