// The few libc calls the dataplane needs, bound through koffi. Every call is non-blocking or
// instant: sockets are SOCK_NONBLOCK and readiness comes from koffi.node.poll on Node's loop.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

export const socket = libc.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number;
export const bind = libc.func('int bind(int fd, const void *addr, uint32_t len)') as (fd: number, addr: Buffer, len: number) => number;
export const getsockname = libc.func('int getsockname(int fd, void *addr, void *len)') as (
  fd: number,
  addr: Buffer,
  len: Buffer,
) => number;
export const setsockopt = libc.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)') as (
  fd: number,
  level: number,
  name: number,
  val: Buffer,
  len: number,
) => number;
export const sendto = libc.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t alen)') as (
  fd: number,
  buf: Buffer,
  len: number,
  flags: number,
  addr: Buffer | null,
  alen: number,
) => number;
export const recvfrom = libc.func('intptr_t recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *alen)') as (
  fd: number,
  buf: Buffer,
  len: number,
  flags: number,
  addr: null,
  alen: null,
) => number;
export const close = libc.func('int close(int fd)') as (fd: number) => number;
export const open = libc.func('int open(const char *path, int flags)') as (path: string, flags: number) => number;
export const setns = libc.func('int setns(int fd, int nstype)') as (fd: number, nstype: number) => number;
// ioctl is variadic in C; on x86_64 and aarch64 a fixed third argument is passed the same way.
export const ioctlPtr = libc.func('int ioctl(int fd, unsigned long req, void *arg)') as (fd: number, req: number, arg: Buffer) => number;
export const ioctlInt = libc.func('int ioctl(int fd, unsigned long req, unsigned long arg)') as (
  fd: number,
  req: number,
  arg: number,
) => number;

export const errno = (): number => koffi.errno();

export const poll = koffi.node.poll;
export type PollHandle = ReturnType<typeof koffi.node.poll>;

export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_BROADCAST = 6;
export const SO_BINDTODEVICE = 25;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;
export const CLONE_NEWNET = 0x40000000;
export const EINTR = 4;
export const EAGAIN = 11;
export const ENOBUFS = 105;

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}
