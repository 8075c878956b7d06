// An AF_PACKET datagram socket in a test namespace that hands every packet of one ethertype
// (its IP header first) to a callback: the base of the hand-parsing sniffers (dhcp-sniff.ts,
// ra-sniff.ts), independent witnesses of what a server sent. Reads are non-blocking, driven by
// koffi.node.poll.
import { inNetns } from '../../dataplane/netlink/netns.js';
import * as libc from '../../dataplane/netlink/libc.js';

const AF_PACKET = 17;
const SOCK_DGRAM = 2;

/** htons(ETH_P_IP), htons(ETH_P_IPV6): the protocol as socket() takes it. */
export const ETH_P_IP_BE = 0x0008;
export const ETH_P_IPV6_BE = 0xdd86;

export class PacketSocket {
  private readonly buf = Buffer.alloc(4096);
  private poll: libc.PollHandle | null;

  private constructor(private readonly fd: number, private readonly onPacket: (packet: Buffer) => void) {
    this.poll = libc.poll(fd, { readable: true }, () => this.drain());
  }

  /** Opens the socket in `netns` (`what` names it in errors) with a receive buffer of `rcvbufBytes`. */
  static open(netns: string, what: string, protocolBe: number, rcvbufBytes: number, onPacket: (packet: Buffer) => void): PacketSocket {
    const fd = inNetns(netns, what, () => libc.socket(AF_PACKET, SOCK_DGRAM | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, protocolBe));
    if (fd < 0) throw new Error(`open AF_PACKET socket in ${netns}: errno ${libc.errno()}`);
    libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUFFORCE, libc.u32(rcvbufBytes), 4);
    return new PacketSocket(fd, onPacket);
  }

  private drain(): void {
    for (;;) {
      const n = libc.recvfrom(this.fd, this.buf, this.buf.length, libc.MSG_DONTWAIT, null, null);
      if (n < 0) {
        if (libc.errno() === libc.EINTR) continue;
        return;
      }
      this.onPacket(this.buf.subarray(0, Number(n)));
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
