// A UDP socket that sees DHCP traffic of exactly one device (a network's bridge) in one
// network namespace. Node's dgram cannot set SO_BINDTODEVICE nor create a socket in another
// namespace, so the socket is made with libc inside the namespace and handed to dgram by fd.
// Binding to the bridge's address instead would miss DISCOVERs (sent to 255.255.255.255).
import dgram from 'node:dgram';
import { DataplaneError } from '../../dataplane/errors.js';
import { inNetns } from '../../dataplane/netlink/netns.js';
import * as libc from './libc.js';

export interface DhcpSocketOptions {
  /** Named netns or path; null: the caller's own namespace. */
  netns: string | null;
  /** The device to serve on (the network's bridge). */
  device: string;
  /** 67 for a server. */
  port?: number;
  /** Kernel receive buffer in bytes: room for bursts while the loop is busy. */
  recvBufferBytes?: number;
  /** Kernel send buffer in bytes. */
  sendBufferBytes?: number;
}

/** Creates, configures and binds the raw fd inside the namespace; returns the fd. */
function openBoundFd(opts: Required<DhcpSocketOptions>): number {
  const op = 'open DHCP socket';
  const object = `${opts.netns ?? 'own netns'}/${opts.device}:${opts.port}`;
  return inNetns(opts.netns, op, () => {
    const fd = libc.socket(libc.AF_INET, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC, 0);
    if (fd < 0) throw DataplaneError.fromErrno(op, object, libc.errno());
    const fail = (what: string): never => {
      const err = libc.errno();
      libc.close(fd);
      throw DataplaneError.fromErrno(`${op}: ${what}`, object, err);
    };
    const one = libc.intOpt(1);
    // REUSEADDR: a restarted server (or another bridge's server) can bind port 67 again.
    if (libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_REUSEADDR, one, 4) !== 0) fail('SO_REUSEADDR');
    if (libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_BROADCAST, one, 4) !== 0) fail('SO_BROADCAST');
    const dev = Buffer.from(`${opts.device}\0`);
    if (libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_BINDTODEVICE, dev, dev.length) !== 0) fail('SO_BINDTODEVICE');
    // Beyond net.core.rmem_max/wmem_max when we may (CAP_NET_ADMIN), else up to it.
    if (opts.recvBufferBytes > 0) setBuffer(fd, libc.SO_RCVBUFFORCE, libc.SO_RCVBUF, opts.recvBufferBytes);
    if (opts.sendBufferBytes > 0) setBuffer(fd, libc.SO_SNDBUFFORCE, libc.SO_SNDBUF, opts.sendBufferBytes);
    const addr = libc.sockaddrIn('0.0.0.0', opts.port);
    if (libc.bind(fd, addr, addr.length) !== 0) fail('bind');
    return fd;
  });
}

function setBuffer(fd: number, force: number, plain: number, bytes: number): void {
  const v = libc.intOpt(bytes);
  if (libc.setsockopt(fd, libc.SOL_SOCKET, force, v, 4) !== 0) libc.setsockopt(fd, libc.SOL_SOCKET, plain, v, 4);
}

/** Opens the socket; resolves once dgram owns the fd and is listening. */
export async function openDhcpSocket(options: DhcpSocketOptions): Promise<dgram.Socket> {
  const port = options.port ?? 67;
  const fd = openBoundFd({
    netns: options.netns, device: options.device, port,
    recvBufferBytes: options.recvBufferBytes ?? 0, sendBufferBytes: options.sendBufferBytes ?? 0,
  });
  const sock = dgram.createSocket({ type: 'udp4' });
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
    throw new DataplaneError('open DHCP socket: hand fd to dgram', `${options.device}:${port}`, 'EINVAL', String(cause));
  }
  return sock;
}
