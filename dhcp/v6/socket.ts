// A UDP socket that sees the DHCPv6 traffic of exactly one device (a network's bridge) in one
// network namespace: port 547, bound to the device (SO_BINDTODEVICE), member of
// All_DHCP_Relay_Agents_and_Servers (ff02::1:2, RFC 8415 7.1) on it. Made with libc inside the
// namespace (Node's dgram can do neither the namespace nor the device) and handed to dgram by fd.
//
// Replies go to the client's link-local address, port 546. Link-local destinations need a
// scope: the socket is bound to the device, so the kernel sends on it; Node's zone syntax
// ("%name") would look the name up in the agent's own namespace, where the bridge is not.
import dgram from 'node:dgram';
import { DataplaneError } from '../../dataplane/errors.js';
import { ipToBytes } from '../../dataplane/ip.js';
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

export interface Dhcp6Socket {
  readonly socket: dgram.Socket;
  /** The device's index when the socket was opened. */
  readonly ifindex: number;
  /** Sends a reply to a client (its link-local or other address, port 546 by default). */
  send(data: Buffer, address: string, port?: number): Promise<void>;
  close(): Promise<void>;
}

function openBoundFd(opts: Required<Dhcp6SocketOptions>): { fd: number; ifindex: number } {
  const op = 'open DHCPv6 socket';
  const object = `${opts.netns ?? 'own netns'}/${opts.device}:${opts.port}`;
  return inNetns(opts.netns, op, () => {
    const fd = libc.socket(libc.AF_INET6, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC, 0);
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

/** Opens the socket; resolves once dgram owns the fd and is listening. Throws DataplaneError. */
export async function openDhcp6Socket(options: Dhcp6SocketOptions): Promise<Dhcp6Socket> {
  const port = options.port ?? DHCP6_SERVER_PORT;
  const { fd, ifindex } = openBoundFd({ netns: options.netns, device: options.device, port, recvBufferBytes: options.recvBufferBytes ?? 0 });
  const sock = dgram.createSocket({ type: 'udp6' });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ fd }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    sock.close();
    throw new DataplaneError('open DHCPv6 socket: hand fd to dgram', `${options.device}:${port}`, 'EINVAL', String(cause));
  }
  return {
    socket: sock,
    ifindex,
    send: (data, address, toPort = DHCP6_CLIENT_PORT) =>
      new Promise<void>((resolve, reject) => {
        // A zone from rinfo ("fe80::1%3") would be resolved by name in our namespace: drop it.
        const dest = address.replace(/%.*$/, '');
        sock.send(data, toPort, dest, (err) => (err ? reject(new DataplaneError('send DHCPv6 reply', `${options.device} to [${dest}]:${toPort}`, 'EIO', String(err))) : resolve()));
      }),
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
