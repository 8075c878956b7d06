// A UDP socket that sees the DHCPv6 traffic of exactly one device (a network's bridge) in one
// network namespace: port 547, bound to the device (SO_BINDTODEVICE), member of
// All_DHCP_Relay_Agents_and_Servers (ff02::1:2, RFC 8415 7.1) on it. Made with libc inside the
// namespace and read and written with libc too: Node's dgram names a link-local sender by its
// zone ("fe80::1%hn-web"), looking the index up in the agent's own namespace, where the bridge
// is not, and throws (ENXIO, uv_if_indextoiid) instead of delivering the message. Here the
// sender is plain address text, and replies go out with the device's index as scope.
import { DataplaneError } from '../../dataplane/errors.js';
import { bytesToIp, ipToBytes } from '../../dataplane/ip.js';
import { inNetns } from '../../dataplane/netlink/netns.js';
import * as libc from '../transport/libc.js';
import { DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT } from './packet.js';

export const ALL_DHCP_RELAY_AGENTS_AND_SERVERS = 'ff02::1:2';

export interface Dhcp6SocketOptions {
  /** Named netns or path; null: the caller's own namespace. */
  netns: string | null;
  /** The device to serve on (the network's bridge). */
  device: string;
  /** 547 for a server (tests may use another). */
  port?: number;
  /** Kernel receive buffer in bytes: room for bursts while the loop is busy. */
  recvBufferBytes?: number;
}

/** Where a message came from: the client's address (no zone) and port. */
export interface Dhcp6Sender {
  address: string;
  port: number;
}

export interface Dhcp6Socket {
  /** The device's index when the socket was opened. */
  readonly ifindex: number;
  /** Starts delivering messages; `onError` hears receive errors (the socket keeps being read). */
  listen(onMessage: (data: Buffer, from: Dhcp6Sender) => void, onError: (err: Error) => void): void;
  /** Sends a reply to a client (its link-local or other address, port 546 by default). */
  send(data: Buffer, address: string, port?: number): Promise<void>;
  close(): Promise<void>;
}

/** Messages read per readiness event before the event loop gets a turn. */
const DRAIN_MAX = 256;
/** RFC 8415 messages from clients are far smaller; a larger one is truncated and dropped by the codec. */
const RECV_BYTES = 4096;

function openBoundFd(opts: Required<Dhcp6SocketOptions>): { fd: number; ifindex: number } {
  const op = 'open DHCPv6 socket';
  const object = `${opts.netns ?? 'own netns'}/${opts.device}:${opts.port}`;
  return inNetns(opts.netns, op, () => {
    const fd = libc.socket(libc.AF_INET6, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC | libc.SOCK_NONBLOCK, 0);
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
    // REUSEADDR: a restarted server (or another bridge's server) can bind port 547 again.
    int(libc.SOL_SOCKET, libc.SO_REUSEADDR, 1, 'SO_REUSEADDR');
    int(libc.IPPROTO_IPV6, libc.IPV6_V6ONLY, 1, 'IPV6_V6ONLY');
    const dev = Buffer.from(`${opts.device}\0`);
    if (libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_BINDTODEVICE, dev, dev.length) !== 0) fail('SO_BINDTODEVICE');
    int(libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_IF, ifindex, 'IPV6_MULTICAST_IF');
    int(libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_LOOP, 0, 'IPV6_MULTICAST_LOOP');
    if (opts.recvBufferBytes > 0) {
      const v = libc.intOpt(opts.recvBufferBytes);
      if (libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUFFORCE, v, 4) !== 0) libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUF, v, 4);
    }
    const addr = libc.sockaddrIn6(Buffer.alloc(16), 0);
    addr.writeUInt16BE(opts.port, 2);
    if (libc.bind(fd, addr, addr.length) !== 0) fail('bind [::]');
    // Clients send everything to ff02::1:2 (we offer no Server Unicast option).
    const mreq = libc.in6AddrIfindex(ipToBytes(ALL_DHCP_RELAY_AGENTS_AND_SERVERS), ifindex);
    if (libc.setsockopt(fd, libc.IPPROTO_IPV6, libc.IPV6_ADD_MEMBERSHIP, mreq, mreq.length) !== 0) fail(`join ${ALL_DHCP_RELAY_AGENTS_AND_SERVERS} (IPV6_ADD_MEMBERSHIP)`);
    return { fd, ifindex };
  });
}

/** Opens the socket. Throws DataplaneError. */
export async function openDhcp6Socket(options: Dhcp6SocketOptions): Promise<Dhcp6Socket> {
  const port = options.port ?? DHCP6_SERVER_PORT;
  const { fd, ifindex } = openBoundFd({ netns: options.netns, device: options.device, port, recvBufferBytes: options.recvBufferBytes ?? 0 });
  const object = `${options.device}:${port}`;
  let closed = false;
  let poll: ReturnType<typeof libc.poll> | null = null;
  // recvmsg writes through the raw pointers rxMsg holds: every buffer it points to must stay
  // reachable for as long as the socket is read (a collected iov is a heap corruption).
  const rx: { name: Buffer; data: Buffer; iov: Buffer; msg: Buffer } = { name: Buffer.alloc(28), data: Buffer.alloc(RECV_BYTES), iov: Buffer.alloc(16), msg: Buffer.alloc(0) };
  rx.msg = libc.msghdr(rx.name, rx.iov, rx.data, RECV_BYTES, null, 0);
  const listen = (onMessage: (data: Buffer, from: Dhcp6Sender) => void, onError: (err: Error) => void): void => {
    if (closed || poll) return;
    poll = libc.poll(fd, { readable: true }, () => {
      for (let i = 0; i < DRAIN_MAX && !closed; i++) {
        rx.msg.writeUInt32LE(rx.name.length, 8); // recvmsg writes the name's length back
        const n = Number(libc.recvmsg(fd, rx.msg, libc.MSG_DONTWAIT));
        if (n < 0) {
          const err = libc.errno();
          if (err === libc.EAGAIN || err === libc.EINTR) return;
          onError(DataplaneError.fromErrno('receive DHCPv6 message', object, err));
          // libuv stops a poll handle on a socket error: watch again, or nothing more arrives.
          poll?.close();
          poll = null;
          listen(onMessage, onError);
          return;
        }
        onMessage(Buffer.from(rx.data.subarray(0, Math.min(n, RECV_BYTES))), { address: bytesToIp(rx.name, 8, 16), port: rx.name.readUInt16BE(2) });
      }
    });
  };
  return {
    ifindex,
    listen,
    send: async (data, address, toPort = DHCP6_CLIENT_PORT) => {
      if (closed) throw new DataplaneError('send DHCPv6 reply', object, 'EBADF', 'socket is closed');
      const dest = address.replace(/%.*$/, '');
      const name = libc.sockaddrIn6(ipToBytes(dest), ifindex);
      name.writeUInt16BE(toPort, 2);
      const tx = { name, iov: Buffer.alloc(16), data };
      const msg = libc.msghdr(tx.name, tx.iov, tx.data, data.length, null, 0);
      const n = Number(libc.sendmsg(fd, msg, libc.MSG_DONTWAIT));
      libc.keepAlive(tx); // the buffers msg points to, until the kernel has read them
      if (n < 0) throw DataplaneError.fromErrno('send DHCPv6 reply', `${options.device} to [${dest}]:${toPort}`, libc.errno());
    },
    close: async () => {
      if (closed) return;
      closed = true;
      poll?.close();
      poll = null;
      libc.close(fd);
      libc.keepAlive(rx);
    },
  };
}
