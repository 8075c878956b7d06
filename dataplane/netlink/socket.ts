// An rtnetlink socket: requests matched to answers by sequence number, dumps with
// NLM_F_DUMP_INTR retry, a timeout on every request, and multicast events.
//
// rtnetlink handles a request inside sendmsg(), so the answer is usually queued before
// sendto() returns: we read it at once with MSG_DONTWAIT. Whatever is not there yet is
// picked up when koffi.node.poll reports the fd readable, never by blocking a thread.
import { DataplaneError } from '../errors.js';
import * as c from '../nl/constants.js';
import { decodeError, decodeMessages, encodeRequest, type NlMessage, type NlRequest } from '../nl/message.js';
import * as libc from './libc.js';
import { inNetns } from './netns.js';

export interface RequestContext {
  /** e.g. "create bridge" */
  op: string;
  /** e.g. the device name */
  object: string;
}

export interface SocketOptions {
  /** Named netns or path; null or absent: the caller's own. */
  netns?: string | null;
  /** Multicast groups (RTNLGRP_*) to receive events from. */
  groups?: number[];
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Kernel receive buffer; large by default so event bursts are not dropped. */
  receiveBufferBytes?: number;
}

type Mode = 'ack' | 'get' | 'dump';

/** Turns one answer message into a value, or null to skip it. Runs while the receive buffer is valid. */
export type Decoder<T> = (msg: NlMessage) => T | null;

interface Pending {
  mode: Mode;
  ctx: RequestContext;
  decode: Decoder<unknown> | null;
  messages: unknown[];
  interrupted: boolean;
  resolve: (messages: unknown[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** The message is a view into the receive buffer: use it before returning. */
export type EventListener = (message: NlMessage) => void;
/** Called when the kernel dropped events (ENOBUFS): the listener must re-read everything. */
export type ResyncListener = () => void;

// sockios.h / if.h: struct ifreq is the name (IFNAMSIZ) then a union holding ifr_ifindex.
const SIOCGIFINDEX = 0x8933;
const SIOCGIFNAME = 0x8910;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
const ENODEV = 19;

const RECV_BUFFER = 64 << 10;
const SOCKET_BUFFER = 8 << 20;
const DUMP_RETRIES = 20; // with the pauses: about 1.5 s of trying

export class NetlinkSocket {
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly pending = new Map<number, Pending>();
  private readonly recvBuf = Buffer.alloc(RECV_BUFFER);
  private pollHandle: libc.PollHandle | null = null;
  /** Set by drain() when the kernel reported ENOBUFS (dropped messages). */
  private overflowed = false;
  private closed = false;
  private eventListener: EventListener | null = null;
  private resyncListener: ResyncListener | null = null;
  /** Requests sent since open, and those that asked the kernel to change something. */
  requestCount = 0;
  writeCount = 0;

  private constructor(
    private readonly fd: number,
    readonly portId: number,
    readonly netns: string | null,
    private readonly timeoutMs: number,
  ) {}

  static open(options: SocketOptions = {}): NetlinkSocket {
    const netns = options.netns ?? null;
    const op = 'open netlink socket';
    const fd = inNetns(netns, op, () =>
      libc.socket(c.AF_NETLINK, libc.SOCK_RAW | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, c.NETLINK_ROUTE),
    );
    if (fd < 0) throw DataplaneError.fromErrno(op, netns ?? 'own netns', libc.errno());
    try {
      const on = libc.u32(1);
      // Extended ack: the kernel says in words what it refused. Capped acks: it does not echo our request.
      libc.setsockopt(fd, c.SOL_NETLINK, c.NETLINK_EXT_ACK, on, 4);
      libc.setsockopt(fd, c.SOL_NETLINK, c.NETLINK_CAP_ACK, on, 4);
      // Large buffers so bursts of events do not overflow; FORCE works for root, else fall back.
      const sizes = [
        [libc.SO_RCVBUFFORCE, libc.SO_RCVBUF, options.receiveBufferBytes ?? SOCKET_BUFFER],
        [libc.SO_SNDBUFFORCE, libc.SO_SNDBUF, SOCKET_BUFFER],
      ] as const;
      for (const [force, plain, size] of sizes) {
        if (libc.setsockopt(fd, libc.SOL_SOCKET, force, libc.u32(size), 4) !== 0) {
          libc.setsockopt(fd, libc.SOL_SOCKET, plain, libc.u32(size), 4);
        }
      }
      const addr = Buffer.alloc(12);
      addr.writeUInt16LE(c.AF_NETLINK, 0);
      if (libc.bind(fd, addr, 12) !== 0) throw DataplaneError.fromErrno(op, 'bind', libc.errno());
      for (const group of options.groups ?? []) {
        if (libc.setsockopt(fd, c.SOL_NETLINK, c.NETLINK_ADD_MEMBERSHIP, libc.u32(group), 4) !== 0) {
          throw DataplaneError.fromErrno(op, `multicast group ${group}`, libc.errno());
        }
      }
      const len = libc.u32(12);
      if (libc.getsockname(fd, addr, len) !== 0) throw DataplaneError.fromErrno(op, 'getsockname', libc.errno());
      return new NetlinkSocket(fd, addr.readUInt32LE(4), netns, options.timeoutMs ?? 5000);
    } catch (err) {
      libc.close(fd);
      throw err;
    }
  }

  /** A request answered by an ACK (or an error). */
  async ack(req: NlRequest, ctx: RequestContext): Promise<void> {
    this.writeCount++;
    await this.send({ ...req, flags: req.flags | c.NLM_F_ACK }, 'ack', ctx, null);
  }

  /**
   * A request answered by an ACK, returning what the kernel sent before it (e.g. the new object
   * when the request carries NLM_F_ECHO; nothing on kernels that do not echo that request).
   */
  async ackCollect<T>(req: NlRequest, ctx: RequestContext, decode: Decoder<T>): Promise<T[]> {
    this.writeCount++;
    return (await this.send({ ...req, flags: req.flags | c.NLM_F_ACK }, 'ack', ctx, decode)) as T[];
  }

  /** A GET for one object: resolves with its message, rejects with the kernel's error. */
  async get<T>(req: NlRequest, ctx: RequestContext, decode: Decoder<T>): Promise<T> {
    const [msg] = (await this.send(req, 'get', ctx, decode)) as T[];
    if (msg === undefined) throw new DataplaneError(ctx.op, ctx.object, 'EPROTO', 'empty answer from the kernel');
    return msg;
  }

  /**
   * A dump; restarted when the kernel flags it as interrupted by concurrent changes (e.g.
   * IPv6 autoconfiguration on many links coming up), with a growing pause between tries.
   */
  async dump<T>(req: NlRequest, ctx: RequestContext, decode: Decoder<T>): Promise<T[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.send({ ...req, flags: req.flags | c.NLM_F_DUMP }, 'dump', ctx, decode)) as T[];
      } catch (err) {
        if (!(err instanceof DumpInterrupted)) throw err;
        if (attempt >= DUMP_RETRIES) {
          throw new DataplaneError(ctx.op, ctx.object, 'EINTR', `dump interrupted ${attempt} times by concurrent changes`);
        }
        await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, 100)));
      }
    }
  }

  /**
   * The index of device `name` in this socket's namespace, null when there is none: one
   * SIOCGIFINDEX on this socket (the kernel answers it for any socket, in the socket's
   * namespace), no message to build or decode: what an address or a route needs of its device.
   */
  indexOf(name: string, ctx: RequestContext): number | null {
    if (this.closed) throw new DataplaneError(ctx.op, ctx.object, 'EBADF', 'netlink socket closed');
    const ifr = Buffer.alloc(IFREQ_SIZE);
    ifr.write(name, 0, IFNAMSIZ - 1, 'utf8');
    if (libc.ioctlPtr(this.fd, SIOCGIFINDEX, ifr) === 0) return ifr.readInt32LE(IFNAMSIZ);
    const errno = libc.errno();
    if (errno === ENODEV) return null;
    throw DataplaneError.fromErrno(ctx.op, ctx.object, errno, `cannot look up the index of "${name}"`);
  }

  /** The name of device `index` in this socket's namespace, null when there is none (SIOCGIFNAME: no message either). */
  nameOf(index: number, ctx: RequestContext): string | null {
    if (this.closed) throw new DataplaneError(ctx.op, ctx.object, 'EBADF', 'netlink socket closed');
    const ifr = Buffer.alloc(IFREQ_SIZE);
    ifr.writeInt32LE(index, IFNAMSIZ);
    if (libc.ioctlPtr(this.fd, SIOCGIFNAME, ifr) === 0) {
      const end = ifr.indexOf(0);
      return ifr.toString('utf8', 0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end);
    }
    const errno = libc.errno();
    if (errno === ENODEV) return null;
    throw DataplaneError.fromErrno(ctx.op, ctx.object, errno, `cannot look up the name of ifindex ${index}`);
  }

  onEvent(listener: EventListener, resync: ResyncListener): void {
    this.eventListener = listener;
    this.resyncListener = resync;
    this.watch();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pollHandle?.close();
    this.pollHandle = null;
    libc.close(this.fd);
    for (const [seq, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new DataplaneError(p.ctx.op, p.ctx.object, 'ECANCELED', 'netlink socket closed'));
      this.pending.delete(seq);
    }
  }

  private send(req: NlRequest, mode: Mode, ctx: RequestContext, decode: Decoder<unknown> | null): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new DataplaneError(ctx.op, ctx.object, 'EBADF', 'netlink socket closed'));
    this.seq = (this.seq + 1) >>> 0 || 1;
    const seq = this.seq;
    const buf = encodeRequest(req, seq, this.portId);
    return new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        this.updateWatch();
        reject(new DataplaneError(ctx.op, ctx.object, 'ETIMEDOUT', `no answer from the kernel within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(seq, { mode, ctx, decode, messages: [], interrupted: false, resolve, reject, timer });
      this.requestCount++;
      let sent: number;
      do sent = libc.sendto(this.fd, buf, buf.length, 0, null, 0);
      while (sent < 0 && libc.errno() === libc.EINTR);
      if (sent < 0) {
        const err = libc.errno();
        this.settle(seq, DataplaneError.fromErrno(ctx.op, ctx.object, err));
        return;
      }
      this.drain();
      this.updateWatch();
    });
  }

  /**
   * Dispatches every message queued on the socket now, without waiting for the event loop:
   * the kernel queues a request's notifications before it answers the request, so after an
   * answer this delivers every event that request caused.
   */
  flushEvents(): void {
    if (!this.closed) this.drain();
  }

  /** Reads everything queued on the socket without blocking and dispatches it. */
  private drain(): void {
    for (;;) {
      const n = libc.recvfrom(this.fd, this.recvBuf, this.recvBuf.length, libc.MSG_DONTWAIT | libc.MSG_TRUNC, null, null);
      if (n < 0) {
        const err = libc.errno();
        if (err === libc.EINTR) continue;
        if (err === libc.EAGAIN) return;
        if (err === libc.ENOBUFS) {
          // The kernel dropped messages for us: events are lost, so observers must resync.
          this.overflowed = true;
          this.resyncListener?.();
          continue;
        }
        return;
      }
      if (n > this.recvBuf.length) {
        // Cannot happen: rtnetlink caps dump chunks at 32 KiB; be loud if it does.
        this.failAll(new DataplaneError('receive', 'netlink socket', 'EMSGSIZE', `datagram of ${n} bytes truncated`));
        continue;
      }
      // Payloads are views into recvBuf: dispatch decodes them before the next read reuses it.
      for (const msg of decodeMessages(this.recvBuf, n)) this.dispatch(msg);
    }
  }

  private dispatch(msg: NlMessage): void {
    const p = msg.seq !== 0 && msg.pid === this.portId ? this.pending.get(msg.seq) : undefined;
    if (!p) {
      // Notifications carry the seq/pid of whoever caused them (e.g. `ip addr add`), not zero.
      if (msg.type !== c.NLMSG_ERROR && msg.type !== c.NLMSG_DONE) this.eventListener?.(msg);
      return;
    }
    if (msg.type === c.NLMSG_ERROR) {
      const e = decodeError(msg);
      if (e.errno === 0) return this.settle(msg.seq, null, p.messages);
      return this.settle(msg.seq, DataplaneError.fromErrno(p.ctx.op, p.ctx.object, e.errno, e.message));
    }
    if (msg.flags & c.NLM_F_DUMP_INTR) p.interrupted = true;
    if (msg.type === c.NLMSG_DONE) {
      const errno = msg.end - msg.start >= 4 ? -msg.buf.readInt32LE(msg.start) : 0;
      if (errno > 0) return this.settle(msg.seq, DataplaneError.fromErrno(p.ctx.op, p.ctx.object, errno));
      if (p.interrupted) return this.settle(msg.seq, new DumpInterrupted());
      return this.settle(msg.seq, null, p.messages);
    }
    if (msg.type === c.NLMSG_NOOP) return;
    const value = p.decode ? p.decode(msg) : null;
    if (value !== null) p.messages.push(value);
    if (p.mode === 'get') this.settle(msg.seq, null, p.messages);
  }

  private settle(seq: number, err: Error | null, messages: unknown[] = []): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(messages);
  }

  private failAll(err: Error): void {
    for (const seq of [...this.pending.keys()]) this.settle(seq, err);
  }

  /** Keep the fd watched while answers are outstanding or events are wanted; idle otherwise. */
  private updateWatch(): void {
    if (this.pending.size > 0 || this.eventListener) this.watch();
    else if (this.pollHandle) {
      this.pollHandle.close();
      this.pollHandle = null;
    }
  }

  private watch(): void {
    if (this.pollHandle || this.closed) return;
    this.pollHandle = libc.poll(this.fd, { readable: true }, () => {
      this.overflowed = false;
      this.drain();
      if (this.overflowed && this.pollHandle) {
        // The overflow was a socket error (POLLERR): libuv stops a poll handle on error, so
        // this one would never fire again. Replace it, or every later event is missed.
        this.pollHandle.close();
        this.pollHandle = null;
      }
      this.updateWatch();
    });
  }
}

class DumpInterrupted extends Error {}
