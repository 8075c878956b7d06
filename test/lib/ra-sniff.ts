// An independent witness of the Router Advertisements a workload receives: an AF_PACKET socket
// in the workload namespace that sees every IPv6 packet there and picks out RAs, parsed by hand
// (not with the codec under test). Reads are non-blocking, driven by koffi.node.poll.
import { inNetns } from '../../dataplane/netlink/netns.js';
import * as libc from '../../dataplane/netlink/libc.js';
import { bytesToIp } from '../../dataplane/ip.js';

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const ETH_P_IPV6_BE = 0xdd86; // htons(0x86dd)

export interface SniffedRa {
  /** Date.now() when it was read. */
  at: number;
  source: string;
  destination: string;
  ipHopLimit: number;
  routerLifetimeSec: number;
  /** MTU option, if any. */
  mtu: number | null;
}

/** Parses an IPv6 packet; the RA it carries (no extension headers: RAs have none), if any. */
export function parseRa(b: Buffer, at: number): SniffedRa | null {
  if (b.length < 56 || b[0]! >> 4 !== 6 || b[6] !== 58 || b[40] !== 134) return null;
  let mtu: number | null = null;
  for (let i = 56; i + 8 <= b.length && b[i + 1]! > 0; i += b[i + 1]! * 8) if (b[i] === 5) mtu = b.readUInt32BE(i + 4);
  return { at, source: bytesToIp(b, 8, 16), destination: bytesToIp(b, 24, 16), ipHopLimit: b[7]!, routerLifetimeSec: b.readUInt16BE(46), mtu };
}

export class RaSniffer {
  readonly seen: SniffedRa[] = [];
  private readonly buf = Buffer.alloc(4096);
  private poll: libc.PollHandle | null;

  private constructor(private readonly fd: number) {
    this.poll = libc.poll(fd, { readable: true }, () => this.drain());
  }

  static open(netns: string): RaSniffer {
    const fd = inNetns(netns, 'open RA sniffer', () => libc.socket(AF_PACKET, SOCK_DGRAM | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, ETH_P_IPV6_BE));
    if (fd < 0) throw new Error(`open AF_PACKET socket in ${netns}: errno ${libc.errno()}`);
    libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUFFORCE, libc.u32(4 << 20), 4);
    return new RaSniffer(fd);
  }

  private drain(): void {
    for (;;) {
      const n = libc.recvfrom(this.fd, this.buf, this.buf.length, libc.MSG_DONTWAIT, null, null);
      if (n < 0) {
        if (libc.errno() === libc.EINTR) continue;
        return;
      }
      const ra = parseRa(this.buf.subarray(0, Number(n)), Date.now());
      if (ra) this.seen.push(ra);
    }
  }

  close(): void {
    if (!this.poll) return;
    this.drain();
    this.poll.close();
    this.poll = null;
    libc.close(this.fd);
  }
}
