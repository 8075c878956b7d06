// The libc calls and constants the DHCP transport needs beyond the dataplane's bindings:
// socket options for a UDP socket pinned to one device, and sockaddr_in encoding.
export { socket, bind, setsockopt, close, errno } from '../../dataplane/netlink/libc.js';

export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_BROADCAST = 6;
export const SO_BINDTODEVICE = 25;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;

/** struct sockaddr_in for `ip:port` (16 bytes, port and address in network order). */
export function sockaddrIn(ip: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  const parts = ip.split('.').map(Number);
  for (let i = 0; i < 4; i++) b[4 + i] = parts[i] ?? 0;
  return b;
}

/** An int option value as setsockopt wants it. */
export function intOpt(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  return b;
}
