// An independent witness of what a DHCP server answered: an AF_PACKET socket in the client
// namespace that sees every IPv4 packet there and picks out DHCP ACKs and NAKs, parsed by hand
// (not with the codec under test). Reads are non-blocking, driven by koffi.node.poll.
import { inNetns } from '../../dataplane/netlink/netns.js';
import * as libc from '../../dataplane/netlink/libc.js';

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const ETH_P_IP_BE = 0x0008; // htons(0x0800)

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
  private readonly buf = Buffer.alloc(4096);
  private poll: libc.PollHandle | null;

  private constructor(private readonly fd: number) {
    this.poll = libc.poll(fd, { readable: true }, () => this.drain());
  }

  static open(netns: string): DhcpReplySniffer {
    const fd = inNetns(netns, 'open sniffer', () => libc.socket(AF_PACKET, SOCK_DGRAM | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, ETH_P_IP_BE));
    if (fd < 0) throw new Error(`open AF_PACKET socket in ${netns}: errno ${libc.errno()}`);
    // Bursts of thousands of replies must not overflow the default buffer.
    libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUFFORCE, libc.u32(16 * 1024 * 1024), 4);
    return new DhcpReplySniffer(fd);
  }

  private drain(): void {
    for (;;) {
      const n = libc.recvfrom(this.fd, this.buf, this.buf.length, libc.MSG_DONTWAIT, null, null);
      if (n < 0) {
        if (libc.errno() === libc.EINTR) continue;
        return;
      }
      const r = parseDhcpReply(this.buf.subarray(0, Number(n)));
      if (!r) continue;
      if (r.type === 'ack') {
        this.acks++;
        this.acked.set(r.mac, r.ip);
      } else if (r.type === 'nak') this.naks++;
    }
  }

  /** Reads what is still queued, then closes. */
  close(): void {
    if (!this.poll) return;
    this.drain();
    this.poll.close();
    this.poll = null;
    libc.close(this.fd);
  }
}
