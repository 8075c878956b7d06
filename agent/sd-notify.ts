// systemd's notify protocol: one datagram per message to $NOTIFY_SOCKET (a path, or an
// abstract name written with a leading '@'). Node has no AF_UNIX datagram sockets, so the
// socket(2)/sendto(2) calls go through koffi. Without NOTIFY_SOCKET (not run by systemd)
// every call does nothing.
import koffi from 'koffi';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;

interface Libc {
  socket: (d: number, t: number, p: number) => number;
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number) => number;
  close: (fd: number) => number;
}

let libc: Libc | null = null;
function bind(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int domain, int type, int protocol)') as Libc['socket'],
    sendto: lib.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t alen)') as Libc['sendto'],
    close: lib.func('int close(int fd)') as Libc['close'],
  };
  return libc;
}

/** struct sockaddr_un for a path or an abstract name ('@' -> leading NUL). */
export function sockaddrUn(target: string): Buffer {
  const name = target.startsWith('@') ? Buffer.concat([Buffer.from([0]), Buffer.from(target.slice(1))]) : Buffer.from(target);
  if (name.length > 107) throw new Error(`sd_notify: socket name ${target} is too long`);
  const addr = Buffer.alloc(2 + name.length + (target.startsWith('@') ? 0 : 1));
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  return addr;
}

/** Sends `message` (e.g. "READY=1") to systemd; false when not under systemd. */
export function sdNotify(message: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const target = env['NOTIFY_SOCKET'];
  if (!target) return false;
  const c = bind();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`sd_notify ${message}: socket failed (errno ${koffi.errno()})`);
  try {
    const addr = sockaddrUn(target);
    const buf = Buffer.from(message);
    if (c.sendto(fd, buf, buf.length, MSG_NOSIGNAL, addr, addr.length) < 0) {
      throw new Error(`sd_notify ${message} to ${target}: sendto failed (errno ${koffi.errno()})`);
    }
  } finally {
    c.close(fd);
  }
  return true;
}

/** WATCHDOG=1 every WATCHDOG_USEC/2 when systemd asks for it; returns the stop function. */
export function startWatchdog(env: NodeJS.ProcessEnv = process.env, onError?: (err: unknown) => void): () => void {
  const usec = Number(env['WATCHDOG_USEC'] ?? 0);
  const pid = env['WATCHDOG_PID'];
  if (!env['NOTIFY_SOCKET'] || !(usec > 0) || (pid && Number(pid) !== process.pid)) return () => undefined;
  const timer = setInterval(() => {
    try {
      sdNotify('WATCHDOG=1', env);
    } catch (err) {
      onError?.(err);
    }
  }, Math.max(1, Math.floor(usec / 2000)));
  return () => clearInterval(timer);
}
