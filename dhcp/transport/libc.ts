// The DHCP transport's view of libc: the dataplane's bindings and socket constants (one set,
// in dataplane/netlink/libc.ts), plus sockaddr_in and int option encoding; and for the raw
// ICMPv6 socket of router advertisements, sendmsg/recvmsg and the IPv6 structures.
export {
  socket, bind, setsockopt, close, errno,
  AF_INET, SOCK_DGRAM, SOCK_CLOEXEC, SOL_SOCKET, SO_REUSEADDR, SO_BROADCAST, SO_BINDTODEVICE,
  SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE,
} from '../../dataplane/netlink/libc.js';
import koffi from 'koffi';
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

// ---- IPv6 and raw ICMPv6 (router advertisements, dhcp/ra/socket.ts) ----
// sendmsg/recvmsg carry ancillary data (the hop limit of a received packet, the source address
// of a sent one), which the dataplane's bindings do not need; they are bound here.
export { SOCK_RAW, SOCK_NONBLOCK, ioctlPtr, poll, EAGAIN, EINTR, MSG_TRUNC, MSG_DONTWAIT } from '../../dataplane/netlink/libc.js';
export type { PollHandle } from '../../dataplane/netlink/libc.js';

const libc6 = koffi.load('libc.so.6');
/** `msg` is a struct msghdr laid out by hand in a Buffer (see msghdr()). */
export const sendmsg = libc6.func('intptr_t sendmsg(int fd, const void *msg, int flags)') as (fd: number, msg: Buffer, flags: number) => number;
export const recvmsg = libc6.func('intptr_t recvmsg(int fd, void *msg, int flags)') as (fd: number, msg: Buffer, flags: number) => number;

export const AF_INET6 = 10;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_ADD_MEMBERSHIP = 20;
export const IPV6_V6ONLY = 26;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
export const IPV6_PKTINFO = 50;
/** Level IPPROTO_ICMPV6: struct icmp6_filter, 256 bits, a set bit blocks that type. */
export const ICMP6_FILTER = 1;
export const SIOCGIFINDEX = 0x8933;
export const SIOCGIFHWADDR = 0x8927;

/** struct sockaddr_in6 (28 bytes); `addr` is 16 bytes; scope: the interface index for link-local. */
export function sockaddrIn6(addr: Buffer, scopeId: number): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  addr.copy(b, 8, 0, 16);
  b.writeUInt32LE(scopeId >>> 0, 24);
  return b;
}

/** struct ipv6_mreq / in6_pktinfo: 16 address bytes and an interface index (20 bytes). */
export function in6AddrIfindex(addr: Buffer, ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  addr.copy(b, 0, 0, 16);
  b.writeInt32LE(ifindex, 16);
  return b;
}

/** struct ifreq (40 bytes) with the name filled in; the kernel writes the answer from byte 16. */
export function ifreq(name: string): Buffer {
  const b = Buffer.alloc(40);
  b.write(name.slice(0, 15), 0, 'latin1');
  return b;
}

// struct msghdr and struct cmsghdr on LP64 Linux (x86_64, aarch64).
export const MSGHDR_SIZE = 56;
export const CMSG_HDR = 16;
/** CMSG_SPACE(n): header plus data rounded up to 8 bytes. */
export const cmsgSpace = (n: number): number => CMSG_HDR + ((n + 7) & ~7);

/**
 * Lays out a msghdr pointing at `name`, one iovec and `control`. The pointers are the Buffers'
 * own memory (koffi.address): the caller keeps the Buffers alive while the msghdr is used.
 */
export function msghdr(name: Buffer, iov: Buffer, data: Buffer, dataLen: number, control: Buffer | null, controlLen: number): Buffer {
  iov.writeBigUInt64LE(koffi.address(data), 0);
  iov.writeBigUInt64LE(BigInt(dataLen), 8);
  const m = Buffer.alloc(MSGHDR_SIZE);
  m.writeBigUInt64LE(koffi.address(name), 0);
  m.writeUInt32LE(name.length, 8);
  m.writeBigUInt64LE(koffi.address(iov), 16);
  m.writeBigUInt64LE(1n, 24);
  m.writeBigUInt64LE(control ? koffi.address(control) : 0n, 32);
  m.writeBigUInt64LE(BigInt(control ? controlLen : 0), 40);
  return m;
}

let sink: unknown = null;
/**
 * A use the optimiser cannot drop: buffers a msghdr points to by raw address stay reachable
 * until the call that reads them is done (a collected iov under sendmsg/recvmsg is a use after free).
 */
export function keepAlive(x: unknown): void {
  sink = x;
  sink = null;
}
