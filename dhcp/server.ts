// One network's DHCP server instance: a socket bound to the network's bridge, the pure core
// (codec, handler, lease store) and the order that makes leases durable: receive -> decode ->
// handle -> commit (await durability) -> send. Nothing here is global: two instances on two
// bridges share nothing but the process.
// A network without a bridge (a routed network: each workload on a device of its own) is served
// through one socket per device (addDevice/removeDevice), all sharing the one handler and lease
// store, so an address is never handed out twice across the network's devices; a reply leaves
// through the device its request came in on.
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
  /**
   * The network's bridge, served from start(); "" for none: a network without a bridge gets
   * its devices with addDevice() once started.
   */
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

/** One served device: its bound socket and the sender that answers through it. */
interface Port {
  device: string;
  socket: dgram.Socket;
  sender: DhcpSender;
}

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
  /** The devices served, by name. */
  private readonly ports = new Map<string, Port>();
  /** Devices whose socket is being opened (concurrent addDevice calls share one). */
  private readonly opening = new Map<string, Promise<void>>();
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

  /** Started and not stopped: the lease store is open (a bridgeless network may serve no device yet). */
  get running(): boolean {
    return this.handler !== null;
  }

  /** The devices served now. */
  get devices(): string[] {
    return [...this.ports.keys()];
  }

  /** Opens the lease store, then the socket of `device` if any; concurrent calls share one start. */
  start(): Promise<void> {
    if (this.handler) return Promise.resolve();
    this.starting ??= this.open().finally(() => (this.starting = null));
    return this.starting;
  }

  private async open(): Promise<void> {
    const now = this.options.now;
    const store = await LeaseStore.open(this.options.leaseFile, now ? { now } : {});
    try {
      this.handler = new DhcpHandler(this.config, store, now ? { now } : {});
      this.store = store;
      if (this.options.device) this.ports.set(this.options.device, await this.openPort(this.options.device));
    } catch (err) {
      this.handler = null;
      this.store = null;
      await store.close();
      throw err;
    }
    this.log.info({ network: this.network, netns: this.options.netns, device: this.options.device, leases: store.all().length }, 'DHCP server started');
  }

  private async openPort(device: string): Promise<Port> {
    const socket = await openDhcpSocket({
      netns: this.options.netns,
      device,
      port: 67,
      recvBufferBytes: this.options.recvBufferBytes ?? 4 * 1024 * 1024,
    });
    const sender = new DhcpSender(socket, device, this.options.neighbours ?? null, this.options.now ?? Date.now, (op, err) =>
      this.logLimited('warn', op, { op, device, err: String(err) }, 'DHCP send problem'));
    const port: Port = { device, socket, sender };
    socket.on('message', (buf) => this.onMessage(buf, port));
    socket.on('error', (err) => this.logLimited('error', 'socket', { device, err: String(err) }, 'DHCP socket error'));
    return port;
  }

  /**
   * Serves one more device (a bridgeless network's workload device) with the same leases;
   * throws (naming the device) when its socket cannot be opened. Started servers only.
   */
  async addDevice(device: string): Promise<void> {
    if (this.ports.has(device)) return;
    const pending = this.opening.get(device);
    if (pending) return pending;
    if (!this.handler || this.stopping) throw new Error(`DHCP server of network ${this.network}: add device ${device}: the server is not running`);
    const p = this.openPort(device).then(async (port) => {
      if (!this.handler || this.stopping) {
        // Stopped while the socket was being opened: it must not outlive the server.
        await new Promise<void>((resolve) => port.socket.close(() => resolve()));
        return;
      }
      this.ports.set(device, port);
      this.log.info({ network: this.network, device }, 'DHCP server serves a device');
    }).finally(() => this.opening.delete(device));
    this.opening.set(device, p);
    return p;
  }

  /** Stops serving one device (it went away); the leases stay. Replies in flight through it are counted as send errors. */
  async removeDevice(device: string): Promise<void> {
    const port = this.ports.get(device);
    if (!port) return;
    this.ports.delete(device);
    this.retire(port);
    await new Promise<void>((resolve) => port.socket.close(() => resolve()));
    this.log.info({ network: this.network, device }, 'DHCP server no longer serves a device');
  }

  /** Keeps a closing port's send figures in the instance's counters. */
  private retire(port: Port): void {
    const s = port.sender.counters;
    this.c.sent += s.sent;
    this.c.sendErrors += s.sendErrors;
    this.c.neighbourFallbacks += s.neighbourFallbacks;
    this.c.relayDrops += s.relayDrops;
    // The sender's own counters must not be added again by the counters getter.
    port.sender.counters.sent = 0;
    port.sender.counters.sendErrors = 0;
    port.sender.counters.neighbourFallbacks = 0;
    port.sender.counters.relayDrops = 0;
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
    if (!this.handler || this.stopping) return;
    // Stop taking requests, let the ones in flight commit and send, then close.
    this.stopping = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await Promise.all([...this.opening.values()].map((p) => p.catch(() => {})));
    const ports = [...this.ports.values()];
    this.ports.clear();
    // The senders go with the sockets; their figures stay in the instance's counters.
    for (const port of ports) this.retire(port);
    await Promise.all(ports.map((port) => new Promise<void>((resolve) => port.socket.close(() => resolve()))));
    this.stopping = false;
    await this.store?.close();
    const final = this.counters;
    this.finalHandlerCounters = final.handler;
    this.store = null;
    this.handler = null;
    this.log.info({ network: this.network, counters: final }, 'DHCP server stopped');
  }

  leases(): Lease[] {
    return this.handler?.leases() ?? [];
  }

  get counters(): ServerCounters & { decodeReasons: Record<string, number>; handler: HandlerCounters | null } {
    const s = { sent: 0, sendErrors: 0, neighbourFallbacks: 0, relayDrops: 0 };
    for (const { sender } of this.ports.values()) {
      s.sent += sender.counters.sent;
      s.sendErrors += sender.counters.sendErrors;
      s.neighbourFallbacks += sender.counters.neighbourFallbacks;
      s.relayDrops += sender.counters.relayDrops;
    }
    return {
      ...this.c,
      sent: this.c.sent + s.sent,
      sendErrors: this.c.sendErrors + s.sendErrors,
      neighbourFallbacks: this.c.neighbourFallbacks + s.neighbourFallbacks,
      relayDrops: this.c.relayDrops + s.relayDrops,
      decodeReasons: Object.fromEntries(this.decodeReasons),
      handler: this.handler ? copyCounters(this.handler.counters) : this.finalHandlerCounters && copyCounters(this.finalHandlerCounters),
    };
  }

  /** Pool size and addresses in use (see DhcpHandler.poolUsage); null while not running. */
  poolUsage(): { size: number; used: number } | null {
    return this.handler?.poolUsage() ?? null;
  }

  /** Synchronous up to the commit: a bad packet costs one decode attempt and nothing else. */
  private onMessage(buf: Buffer, port: Port): void {
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
    void this.complete(req, result, port).finally(() => {
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

  private async complete(req: DhcpMessage, result: HandlerResult, port: Port): Promise<void> {
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
    // Through the device the request came in on (a reply on a removed device fails to send and is counted).
    await port.sender.send(buf, dest, dest.kind === 'unicast' && dest.ip === req.ciaddr);
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
