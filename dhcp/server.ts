// One network's DHCP server instance: a socket bound to the network's bridge, the pure core
// (codec, handler, lease store) and the order that makes leases durable: receive -> decode ->
// handle -> commit (await durability) -> send. Nothing here is global: two instances on two
// bridges share nothing but the process.
import type dgram from 'node:dgram';
import { DhcpHandler, type Counters as HandlerCounters, type HandlerResult } from './handler.js';
import { LeaseStore } from './lease-store.js';
import { DhcpDecodeError, decodeDhcp, encodeDhcp, type DhcpMessage } from './packet.js';
import { openDhcpSocket } from './transport/socket.js';
import { DhcpSender } from './transport/sender.js';
import type { Lease, NeighbourWriter, NetworkDhcpConfig } from './types.js';

/** The subset of a pino logger the server uses. */
export interface DhcpLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DhcpServerOptions {
  /** Named netns or path holding `device`; null: the process's own. */
  netns: string | null;
  /** The network's bridge. */
  device: string;
  config: NetworkDhcpConfig;
  /** Lease file (the store's journal). */
  leaseFile: string;
  /** Needed to unicast to clients without an address; without it such replies are broadcast. */
  neighbours?: NeighbourWriter | null;
  log?: DhcpLog;
  now?: () => number;
  /** Replies waiting for their commit or send; beyond it requests are dropped and counted. */
  maxInFlight?: number;
  /** Kernel receive buffer of the socket, bytes. */
  recvBufferBytes?: number;
  /**
   * Called with each lease committed for a reply, after it is durable and before the reply
   * goes out: the client starts using the address only once this has resolved (an agent
   * lets port security allow it here). A rejection is logged; the reply still goes out.
   */
  onCommitted?: (lease: Lease) => Promise<void> | void;
}

export interface ServerCounters {
  received: number;
  /** Malformed packets dropped by the codec. */
  decodeErrors: number;
  /** Decoded but not answered (the handler returned null: not for us, wrong op, ...). */
  ignored: number;
  /** Dropped because too many replies were already waiting (flood protection). */
  overloadDrops: number;
  handlerErrors: number;
  commitErrors: number;
  encodeErrors: number;
  replies: number;
  sent: number;
  sendErrors: number;
  neighbourFallbacks: number;
  relayDrops: number;
}

export type { HandlerCounters };

const UDP_IP_HEADERS = 28;
const MIN_MAX_MESSAGE = 576;
const MAX_DECODE_REASONS = 64;

const silent: DhcpLog = { debug() {}, info() {}, warn() {}, error() {} };

export class DhcpServer {
  private readonly c: ServerCounters = {
    received: 0, decodeErrors: 0, ignored: 0, overloadDrops: 0, handlerErrors: 0, commitErrors: 0,
    encodeErrors: 0, replies: 0, sent: 0, sendErrors: 0, neighbourFallbacks: 0, relayDrops: 0,
  };
  /** Why packets were refused, by the codec's reason (bounded: reasons are a fixed set, capped anyway). */
  private readonly decodeReasons = new Map<string, number>();
  private readonly log: DhcpLog;
  private readonly maxInFlight: number;
  private config: NetworkDhcpConfig;
  private store: LeaseStore | null = null;
  private handler: DhcpHandler | null = null;
  /** The handler's counts when it was closed: a stopped instance still reports what it did. */
  private finalHandlerCounters: HandlerCounters | null = null;
  private socket: dgram.Socket | null = null;
  private sender: DhcpSender | null = null;
  private inFlight = 0;
  private stopping = false;
  private idle: (() => void) | null = null;
  private starting: Promise<void> | null = null;
  /** Rate limit for repeated warnings, by label: a flood must not become a log flood. */
  private readonly warned = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly options: DhcpServerOptions) {
    this.config = options.config;
    this.log = options.log ?? silent;
    this.maxInFlight = options.maxInFlight ?? 1024;
  }

  get network(): string {
    return this.config.network;
  }

  get running(): boolean {
    return this.socket !== null;
  }

  /** Opens the lease store, then the socket; concurrent calls share one start. */
  start(): Promise<void> {
    if (this.socket) return Promise.resolve();
    this.starting ??= this.open().finally(() => (this.starting = null));
    return this.starting;
  }

  private async open(): Promise<void> {
    const now = this.options.now;
    const store = await LeaseStore.open(this.options.leaseFile, now ? { now } : {});
    try {
      this.handler = new DhcpHandler(this.config, store, now ? { now } : {});
      this.store = store;
      const socket = await openDhcpSocket({
        netns: this.options.netns,
        device: this.options.device,
        port: 67,
        recvBufferBytes: this.options.recvBufferBytes ?? 4 * 1024 * 1024,
      });
      this.sender = new DhcpSender(socket, this.options.device, this.options.neighbours ?? null, now ?? Date.now, (op, err) =>
        this.logLimited('warn', op, { op, err: String(err) }, 'DHCP send problem'));
      socket.on('message', (buf) => this.onMessage(buf));
      socket.on('error', (err) => this.logLimited('error', 'socket', { err: String(err) }, 'DHCP socket error'));
      this.socket = socket;
    } catch (err) {
      this.handler = null;
      this.store = null;
      await store.close();
      throw err;
    }
    this.log.info({ network: this.network, netns: this.options.netns, device: this.options.device, leases: store.all().length }, 'DHCP server started');
  }

  /** New pools, options, reservations...: the lease store and socket stay as they are. */
  reconfigure(config: NetworkDhcpConfig): void {
    this.handler?.reconfigure(config); // throws on a config it cannot serve: the old one stays
    this.config = config;
    this.log.info({ network: config.network }, 'DHCP server reconfigured');
  }

  /** Stops receiving, lets replies in flight finish (their leases are committed), closes the store. */
  async stop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => {});
    const socket = this.socket;
    if (!socket || this.stopping) return;
    // Stop taking requests, let the ones in flight commit and send, then close.
    this.stopping = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.socket = null;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    this.stopping = false;
    await this.store?.close();
    const final = this.counters;
    // The sender goes with the socket; its figures stay in the instance's counters.
    this.c.sent = final.sent;
    this.c.sendErrors = final.sendErrors;
    this.c.neighbourFallbacks = final.neighbourFallbacks;
    this.c.relayDrops = final.relayDrops;
    this.finalHandlerCounters = final.handler;
    this.store = null;
    this.handler = null;
    this.sender = null;
    this.log.info({ network: this.network, counters: final }, 'DHCP server stopped');
  }

  leases(): Lease[] {
    return this.handler?.leases() ?? [];
  }

  get counters(): ServerCounters & { decodeReasons: Record<string, number>; handler: HandlerCounters | null } {
    const s = this.sender?.counters;
    return {
      ...this.c,
      sent: this.c.sent + (s?.sent ?? 0),
      sendErrors: this.c.sendErrors + (s?.sendErrors ?? 0),
      neighbourFallbacks: this.c.neighbourFallbacks + (s?.neighbourFallbacks ?? 0),
      relayDrops: this.c.relayDrops + (s?.relayDrops ?? 0),
      decodeReasons: Object.fromEntries(this.decodeReasons),
      handler: this.handler ? copyCounters(this.handler.counters) : this.finalHandlerCounters && copyCounters(this.finalHandlerCounters),
    };
  }

  /** Pool size and addresses in use (see DhcpHandler.poolUsage); null while not running. */
  poolUsage(): { size: number; used: number } | null {
    return this.handler?.poolUsage() ?? null;
  }

  /** Synchronous up to the commit: a bad packet costs one decode attempt and nothing else. */
  private onMessage(buf: Buffer): void {
    this.c.received++;
    const handler = this.handler;
    if (!handler || this.stopping) return;
    if (this.inFlight >= this.maxInFlight) {
      this.c.overloadDrops++;
      this.logLimited('warn', 'overload', { inFlight: this.inFlight, dropped: this.c.overloadDrops }, 'DHCP server overloaded: dropping requests');
      return;
    }
    let req: DhcpMessage;
    try {
      req = decodeDhcp(buf);
    } catch (err) {
      this.c.decodeErrors++;
      const reason = err instanceof DhcpDecodeError ? err.reason : 'unexpected decoder error';
      if (this.decodeReasons.has(reason) || this.decodeReasons.size < MAX_DECODE_REASONS) {
        this.decodeReasons.set(reason, (this.decodeReasons.get(reason) ?? 0) + 1);
      }
      if (!(err instanceof DhcpDecodeError)) this.logLimited('warn', 'decoder', { err: String(err) }, 'DHCP decoder threw unexpectedly');
      return;
    }
    let result: HandlerResult | null;
    try {
      result = handler.handle(req);
    } catch (err) {
      this.c.handlerErrors++;
      this.logLimited('warn', 'handler', { xid: req.xid, chaddr: req.chaddr, err: String(err) }, 'DHCP handler failed');
      return;
    }
    if (!result) {
      this.c.ignored++;
      return;
    }
    this.inFlight++;
    void this.complete(req, result).finally(() => {
      this.inFlight--;
      if (this.inFlight === 0 && this.idle) {
        const idle = this.idle;
        this.idle = null;
        idle();
      }
    });
  }

  /** At most one line per label every 10 s, saying how many were left out. */
  private logLimited(level: 'warn' | 'error', label: string, obj: object, msg: string): void {
    const t = Date.now();
    const w = this.warned.get(label);
    if (w && t - w.at < 10_000) {
      w.suppressed++;
      return;
    }
    this.warned.set(label, { at: t, suppressed: 0 });
    this.log[level]({ network: this.network, ...obj, ...(w?.suppressed ? { suppressed: w.suppressed } : {}) }, msg);
  }

  private async complete(req: DhcpMessage, result: HandlerResult): Promise<void> {
    const store = this.store;
    if (result.commit && store) {
      try {
        await store.commit(result.commit);
      } catch (err) {
        // Never ACK what is not durable: the client retries.
        this.c.commitErrors++;
        this.logLimited('error', 'commit', { ip: result.commit.ip, mac: result.commit.mac, err: String(err) }, 'DHCP lease commit failed; reply not sent');
        return;
      }
      if (this.options.onCommitted) {
        try {
          await this.options.onCommitted(result.commit);
        } catch (err) {
          this.logLimited('warn', 'onCommitted', { ip: result.commit.ip, mac: result.commit.mac, err: String(err) }, 'lease listener failed');
        }
      }
    }
    let buf: Buffer;
    try {
      buf = encodeDhcp(result.reply, maxReplySize(req));
    } catch (err) {
      this.c.encodeErrors++;
      this.logLimited('error', 'encode', { xid: req.xid, err: String(err) }, 'DHCP reply encoding failed');
      return;
    }
    this.c.replies++;
    const dest = result.destination;
    await this.sender?.send(buf, dest, dest.kind === 'unicast' && dest.ip === req.ciaddr);
  }
}

/** Option 57 counts the IP and UDP headers; the codec's limit is the DHCP message alone. */
function maxReplySize(req: DhcpMessage): number {
  const opt = req.options.get(57);
  const announced = opt && opt.length >= 2 ? opt.readUInt16BE(0) : MIN_MAX_MESSAGE;
  return Math.max(announced, MIN_MAX_MESSAGE) - UDP_IP_HEADERS;
}

/** A snapshot, so callers never hold the live records. */
function copyCounters(c: HandlerCounters): HandlerCounters {
  return structuredClone({ ...c });
}
