// A raw ICMPv6 socket that sends Router Advertisements on exactly one device (a network's bridge)
// and hears the Router Solicitations that arrive on it. Made with libc inside the namespace
// (Node has no raw sockets), non-blocking, read when koffi.node.poll says it is readable.
//
// What the kernel does for us: computes the ICMPv6 checksum of what we send and verifies it on
// what we receive (raw ICMPv6 sockets always do, RFC 3542 3.1); filters types (ICMP6_FILTER:
// only RS reaches us); tells each packet's hop limit (IPV6_RECVHOPLIMIT), since RFC 4861 6.1.1
// requires 255 (a packet from off-link arrives with less).
import { DataplaneError } from '../../dataplane/errors.js';
import { bytesToIp, ipToBytes } from '../../dataplane/ip.js';
import { inNetns } from '../../dataplane/netlink/netns.js';
import * as libc from '../transport/libc.js';
import { ICMPV6_ROUTER_SOLICITATION } from './message.js';

export interface RaSocketOptions {
  /** Named netns or path; null: the caller's own namespace. */
  netns: string | null;
  /** The device to advertise on (the network's bridge). */
  device: string;
  /** Kernel receive buffer: room for a burst of solicitations while the loop is busy. */
  recvBufferBytes?: number;
}

export interface ReceivedIcmp {
  /** A copy of the ICMPv6 message (no IPv6 header). */
  data: Buffer;
  /** IPv6 source address ("::" for a host without an address yet). */
  source: string;
  /** The IPv6 hop limit it arrived with; null if the kernel did not say. */
  hopLimit: number | null;
  /** The datagram was longer than the receive buffer. */
  truncated: boolean;
}

const ALL_ROUTERS = ipToBytes('ff02::2');
const RECV_DATA = 2048;
/** Messages read per readiness callback before yielding to the loop (the poll fires again). */
const DRAIN_MAX = 256;

function openFd(opts: RaSocketOptions): { fd: number; ifindex: number } {
  const op = 'open router advertisement socket';
  const object = `${opts.netns ?? 'own netns'}/${opts.device}`;
  return inNetns(opts.netns, op, () => {
    const fd = libc.socket(libc.AF_INET6, libc.SOCK_RAW | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, libc.IPPROTO_ICMPV6);
    if (fd < 0) throw DataplaneError.fromErrno(op, object, libc.errno());
    const fail = (what: string): never => {
      const err = libc.errno();
      libc.close(fd);
      throw DataplaneError.fromErrno(`${op}: ${what}`, object, err);
    };
    const int = (level: number, name: number, value: number, what: string): void => {
      if (libc.setsockopt(fd, level, name, libc.intOpt(value), 4) !== 0) fail(what);
    };
    const req = libc.ifreq(opts.device);
    if (libc.ioctlPtr(fd, libc.SIOCGIFINDEX, req) !== 0) fail('find interface index (SIOCGIFINDEX)');
    const ifindex = req.readInt32LE(16);
    const dev = Buffer.from(`${opts.device}\0`);
    if (libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_BINDTODEVICE, dev, dev.length) !== 0) fail('SO_BINDTODEVICE');
    // Hosts drop ND messages whose hop limit is not 255 (RFC 4861 6.1.2).
    int(libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_HOPS, 255, 'IPV6_MULTICAST_HOPS');
    int(libc.IPPROTO_IPV6, libc.IPV6_UNICAST_HOPS, 255, 'IPV6_UNICAST_HOPS');
    int(libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_IF, ifindex, 'IPV6_MULTICAST_IF');
    // Our own RAs must not loop back into this host's stack (it would treat them as a router's).
    int(libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_LOOP, 0, 'IPV6_MULTICAST_LOOP');
    int(libc.IPPROTO_IPV6, libc.IPV6_RECVHOPLIMIT, 1, 'IPV6_RECVHOPLIMIT');
    const filter = Buffer.alloc(32, 0xff); // block every type ...
    filter[ICMPV6_ROUTER_SOLICITATION >> 3]! &= ~(1 << (ICMPV6_ROUTER_SOLICITATION & 7)); // ... but RS
    if (libc.setsockopt(fd, libc.IPPROTO_ICMPV6, libc.ICMP6_FILTER, filter, filter.length) !== 0) fail('ICMP6_FILTER');
    // RSs go to ff02::2; the device joins it by itself only when the host forwards.
    const mreq = libc.in6AddrIfindex(ALL_ROUTERS, ifindex);
    if (libc.setsockopt(fd, libc.IPPROTO_IPV6, libc.IPV6_ADD_MEMBERSHIP, mreq, mreq.length) !== 0) fail('join ff02::2 (IPV6_ADD_MEMBERSHIP)');
    const rcv = opts.recvBufferBytes ?? 256 << 10;
    if (libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUFFORCE, libc.intOpt(rcv), 4) !== 0) {
      libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUF, libc.intOpt(rcv), 4);
    }
    return { fd, ifindex };
  });
}

export class RaSocket {
  private poll: libc.PollHandle | null = null;
  private closed = false;
  // Receive buffers, reused; the msghdr points into them (their memory does not move).
  private readonly rxName = Buffer.alloc(28);
  private readonly rxData = Buffer.alloc(RECV_DATA);
  private readonly rxControl = Buffer.alloc(libc.cmsgSpace(4) + libc.cmsgSpace(20));
  private readonly rxIov = Buffer.alloc(16);
  private readonly rxMsg: Buffer;

  private constructor(
    private readonly fd: number,
    /** The device's index when the socket was opened (scope of link-local addresses). */
    readonly ifindex: number,
    readonly device: string,
  ) {
    this.rxMsg = libc.msghdr(this.rxName, this.rxIov, this.rxData, RECV_DATA, this.rxControl, this.rxControl.length);
  }

  static open(options: RaSocketOptions): RaSocket {
    const { fd, ifindex } = openFd(options);
    return new RaSocket(fd, ifindex, options.device);
  }

  /**
   * Starts delivering received solicitations. `onError` hears receive errors other than "no more
   * data" (the socket keeps being watched).
   */
  listen(onMessage: (m: ReceivedIcmp) => void, onError: (err: DataplaneError) => void = () => {}): void {
    if (this.closed || this.poll) return;
    this.poll = libc.poll(this.fd, { readable: true }, () => {
      const failed = this.drain(onMessage, onError);
      if (failed && this.poll && !this.closed) {
        // libuv stops a poll handle on a socket error (POLLERR): replace it, or nothing more arrives.
        this.poll.close();
        this.poll = null;
        this.listen(onMessage, onError);
      }
    });
  }

  /** Stops delivering (the socket stays open, so a later listen() resumes). */
  pause(): void {
    this.poll?.close();
    this.poll = null;
  }

  /** Reads what is queued; true when recvmsg reported an error. */
  private drain(onMessage: (m: ReceivedIcmp) => void, onError: (err: DataplaneError) => void): boolean {
    for (let i = 0; i < DRAIN_MAX && !this.closed; i++) {
      // recvmsg writes the lengths back: reset them every time.
      this.rxMsg.writeUInt32LE(this.rxName.length, 8);
      this.rxMsg.writeBigUInt64LE(BigInt(this.rxControl.length), 40);
      const n = Number(libc.recvmsg(this.fd, this.rxMsg, libc.MSG_DONTWAIT));
      if (n < 0) {
        const err = libc.errno();
        if (err === libc.EAGAIN || err === libc.EINTR) return false;
        onError(DataplaneError.fromErrno('receive router solicitation', this.device, err));
        return true;
      }
      const flags = this.rxMsg.readInt32LE(48);
      onMessage({
        data: Buffer.from(this.rxData.subarray(0, Math.min(n, RECV_DATA))),
        source: bytesToIp(this.rxName, 8, 16),
        hopLimit: this.hopLimit(),
        truncated: (flags & libc.MSG_TRUNC) !== 0,
      });
    }
    return false;
  }

  /** The IPV6_HOPLIMIT control message of the last recvmsg, if present. */
  private hopLimit(): number | null {
    const controlLen = Number(this.rxMsg.readBigUInt64LE(40));
    for (let at = 0; at + libc.CMSG_HDR <= controlLen; ) {
      const len = Number(this.rxControl.readBigUInt64LE(at));
      if (len < libc.CMSG_HDR) break;
      const level = this.rxControl.readInt32LE(at + 8);
      const type = this.rxControl.readInt32LE(at + 12);
      if (level === libc.IPPROTO_IPV6 && type === libc.IPV6_HOPLIMIT && len >= libc.CMSG_HDR + 4) return this.rxControl.readInt32LE(at + libc.CMSG_HDR);
      at += libc.cmsgSpace(len - libc.CMSG_HDR);
    }
    return null;
  }

  /**
   * Sends one ICMPv6 message (checksum left zero: the kernel fills it) to `destination` on this
   * device. `source`: the address to send from (IPV6_PKTINFO), null to let the kernel choose.
   * Never blocks; throws DataplaneError when the kernel refuses (EAGAIN when the queue is full).
   */
  send(icmp: Buffer, destination: string, source: string | null): void {
    if (this.closed) throw new DataplaneError('send router advertisement', this.device, 'EBADF', 'socket is closed');
    const name = libc.sockaddrIn6(ipToBytes(destination), this.ifindex);
    const iov = Buffer.alloc(16);
    const control = source ? Buffer.alloc(libc.cmsgSpace(20)) : null;
    if (control && source) {
      control.writeBigUInt64LE(BigInt(libc.CMSG_HDR + 20), 0);
      control.writeInt32LE(libc.IPPROTO_IPV6, 8);
      control.writeInt32LE(libc.IPV6_PKTINFO, 12);
      libc.in6AddrIfindex(ipToBytes(source), this.ifindex).copy(control, libc.CMSG_HDR);
    }
    const msg = libc.msghdr(name, iov, icmp, icmp.length, control, control?.length ?? 0);
    const n = Number(libc.sendmsg(this.fd, msg, libc.MSG_DONTWAIT));
    libc.keepAlive([name, iov, control, icmp]);
    if (n < 0) throw DataplaneError.fromErrno('send router advertisement', `${this.device} to ${destination}${source ? ` from ${source}` : ''}`, libc.errno());
  }

  /** The device's MAC now (a bridge's changes as ports come and go); null if it has none. */
  hardwareAddress(): string | null {
    const req = libc.ifreq(this.device);
    if (libc.ioctlPtr(this.fd, libc.SIOCGIFHWADDR, req) !== 0) return null;
    const mac = req.subarray(18, 24);
    if (mac.every((x) => x === 0)) return null;
    return [...mac].map((x) => x.toString(16).padStart(2, '0')).join(':');
  }

  /** The device's index now; differs from `ifindex` when the device was deleted and made again. */
  currentIfindex(): number | null {
    const req = libc.ifreq(this.device);
    return libc.ioctlPtr(this.fd, libc.SIOCGIFINDEX, req) === 0 ? req.readInt32LE(16) : null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poll?.close();
    this.poll = null;
    libc.close(this.fd);
  }
}
