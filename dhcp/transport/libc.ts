// The DHCP transport's view of libc: the dataplane's bindings and socket constants (one set,
// in dataplane/netlink/libc.ts), plus sockaddr_in and int option encoding.
export {
  socket, bind, setsockopt, close, errno,
  AF_INET, SOCK_DGRAM, SOCK_CLOEXEC, SOL_SOCKET, SO_REUSEADDR, SO_BROADCAST, SO_BINDTODEVICE,
  SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE,
} from '../../dataplane/netlink/libc.js';
import { AF_INET } from '../../dataplane/netlink/libc.js';

/** struct sockaddr_in for `ip:port` (16 bytes, port and address in network order). */
export function sockaddrIn(ip: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  const parts = ip.split('.').map(Number);
  for (let i = 0; i < 4; i++) b[4 + i] = parts[i] ?? 0;
  return b;
}

/** An int option value as setsockopt wants it (a non-negative int: the dataplane's u32). */
export { u32 as intOpt } from '../../dataplane/netlink/libc.js';
