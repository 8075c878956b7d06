// One network's DHCPv6 server instance: a socket bound to the network's bridge, the pure core
// (codec, handler, lease store) and the order that makes leases durable: receive -> decode ->
// handle -> commit (await fsync) -> send. Nothing here is global: two instances on two bridges
// share nothing but the process.
import { LeaseStore } from '../lease-store.js';
import type { DhcpLog } from '../server.js';
import { Dhcp6Handler, type Counters6, type Dhcp6Result } from './handler.js';
import { lease6Format } from './lease-record.js';
import { Dhcp6DecodeError, decodeDhcp6, encodeDhcp6, type Dhcp6Message } from './packet.js';
import { openDhcp6Socket, type Dhcp6Sender, type Dhcp6Socket } from './socket.js';
import type { Dhcp6Config, Lease6 } from './types.js';

export interface Dhcp6ServerOptions {
  /** Named netns or path holding `device`; null: the process's own. */
  netns: string | null;
  /** The network's bridge. */
  device: string;
  config: Dhcp6Config;
  /** Lease file (the store's journal). */
  leaseFile: string;
  log?: DhcpLog;
  now?: () => number;
  /** Replies waiting for their commit or send; beyond it requests are dropped and counted. */
  maxInFlight?: number;
  /** Kernel receive buffer of the socket, bytes. */
  recvBufferBytes?: number;
  /** UDP port to listen on (tests); default 547. */
  port?: number;
  /**
   * Called with each lease committed for a reply, after it is durable and before the reply goes
   * out (an agent lets port security allow the address here). A rejection is logged; the reply
   * still goes out.
   */
  onCommitted?: (lease: Lease6) => Promise<void> | void;
}

export interface Dhcp6ServerCounters {
  received: number;
  /** Malformed packets dropped by the codec (by reason in decodeReasons). */
  decodeErrors: number;
  /** Decoded but not answered (by reason in handler.dropped). */
  ignored: number;
  /** Dropped because too many replies were already waiting (flood protection). */
  overloadDrops: number;
  handlerErrors: number;
  commitErrors: number;
  encodeErrors: number;
  sent: number;
  sendErrors: number;
}

const MAX_DECODE_REASONS = 64;
const silent: DhcpLog = { debug() {}, info() {}, warn() {}, error() {} };

export class Dhcp6Server {
  private readonly c: Dhcp6ServerCounters = {
    received: 0, decodeErrors: 0, ignored: 0, overloadDrops: 0, handlerErrors: 0, commitErrors: 0, encodeErrors: 0, sent: 0, sendErrors: 0,
  };
  private readonly decodeReasons = new Map<string, number>();
  private readonly log: DhcpLog;
  private readonly maxInFlight: number;
  private config: Dhcp6Config;
  private store: LeaseStore<Lease6> | null = null;
  private handler: Dhcp6Handler | null = null;
  /** The handler's counts when it was closed: a stopped instance still reports what it did. */
  private finalHandlerCounters: Counters6 | null = null;
  private socket: Dhcp6Socket | null = null;
  private inFlight = 0;
  private stopping = false;
  private idle: (() => void) | null = null;
  private starting: Promise<void> | null = null;
  private readonly warned = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly options: Dhcp6ServerOptions) {
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
    const store = await LeaseStore.open<Lease6>(this.options.leaseFile, { format: lease6Format, ...(now ? { now } : {}) });
    try {
      this.handler = new Dhcp6Handler(this.config, store, now ? { now } : {});
      this.store = store;
      const socket = await openDhcp6Socket({
        netns: this.options.netns,
        device: this.options.device,
        ...(this.options.port ? { port: this.options.port } : {}),
        recvBufferBytes: this.options.recvBufferBytes ?? 1024 * 1024,
      });
      socket.listen((buf, from) => this.onMessage(buf, from), (err) => this.logLimited('error', 'socket', { err: String(err) }, 'DHCPv6 socket error'));
      this.socket = socket;
    } catch (err) {
      this.handler = null;
      this.store = null;
      await store.close();
      throw err;
    }
    this.log.info({ network: this.network, netns: this.options.netns, device: this.options.device, leases: store.all().length }, 'DHCPv6 server started');
  }

  /** New pools, options, reservations: the lease store and socket stay. Throws Dhcp6ConfigError (the old config stays). */
  reconfigure(config: Dhcp6Config): void {
    this.handler?.reconfigure(config);
    this.config = config;
    this.log.info({ network: config.network }, 'DHCPv6 server reconfigured');
  }

  /** Stops receiving, lets replies in flight finish (their leases are committed), closes the store. */
  async stop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => {});
    const socket = this.socket;
    if (!socket || this.stopping) return;
    this.stopping = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.socket = null;
    await socket.close();
    this.stopping = false;
    await this.store?.close();
    this.finalHandlerCounters = this.handler ? structuredClone({ ...this.handler.counters }) : null;
    const final = this.counters;
    this.store = null;
    this.handler = null;
    this.log.info({ network: this.network, counters: final }, 'DHCPv6 server stopped');
  }

  leases(): Lease6[] {
    return this.handler?.leases() ?? [];
  }

  get ignoredReservations(): Dhcp6Handler['ignoredReservations'] {
    return this.handler?.ignoredReservations ?? [];
  }

  /** Totals, the codec's reasons, and the handler's counts (per type, drops by reason, statuses). */
  get counters(): Dhcp6ServerCounters & { decodeReasons: Record<string, number>; handler: Counters6 | null } {
    const h = this.handler ? this.handler.counters : this.finalHandlerCounters;
    return { ...this.c, decodeReasons: Object.fromEntries(this.decodeReasons), handler: h && structuredClone({ ...h }) };
  }

  private onMessage(buf: Buffer, from: Dhcp6Sender): void {
    this.c.received++;
    const handler = this.handler;
    if (!handler || this.stopping) return;
    if (this.inFlight >= this.maxInFlight) {
      this.c.overloadDrops++;
      this.logLimited('warn', 'overload', { inFlight: this.inFlight, dropped: this.c.overloadDrops }, 'DHCPv6 server overloaded: dropping requests');
      return;
    }
    let req: Dhcp6Message;
    try {
      req = decodeDhcp6(buf);
    } catch (err) {
      this.c.decodeErrors++;
      const reason = err instanceof Dhcp6DecodeError ? err.reason : 'unexpected decoder error';
      if (this.decodeReasons.has(reason) || this.decodeReasons.size < MAX_DECODE_REASONS) {
        this.decodeReasons.set(reason, (this.decodeReasons.get(reason) ?? 0) + 1);
      }
      return;
    }
    let result: Dhcp6Result | null;
    try {
      result = handler.handle(req);
    } catch (err) {
      this.c.handlerErrors++;
      this.logLimited('warn', 'handler', { xid: req.transactionId, from: from.address, err: String(err) }, 'DHCPv6 handler failed');
      return;
    }
    if (!result) {
      this.c.ignored++;
      return;
    }
    this.inFlight++;
    void this.complete(result, from).finally(() => {
      this.inFlight--;
      if (this.inFlight === 0 && this.idle) {
        const idle = this.idle;
        this.idle = null;
        idle();
      }
    });
  }

  private async complete(result: Dhcp6Result, from: Dhcp6Sender): Promise<void> {
    const store = this.store;
    if (result.commits.length > 0 && store) {
      try {
        // Issued together: one group commit, one fsync.
        await Promise.all(result.commits.map((l) => store.commit(l)));
      } catch (err) {
        // Never Reply with what is not durable: the client retransmits.
        this.c.commitErrors++;
        this.logLimited('error', 'commit', { ips: result.commits.map((l) => l.ip), err: String(err) }, 'DHCPv6 lease commit failed; reply not sent');
        return;
      }
      if (this.options.onCommitted) {
        for (const l of result.commits.filter((x) => x.state === 'bound')) {
          try {
            await this.options.onCommitted(l);
          } catch (err) {
            this.logLimited('warn', 'onCommitted', { ip: l.ip, err: String(err) }, 'DHCPv6 lease listener failed');
          }
        }
      }
    }
    let buf: Buffer;
    try {
      buf = encodeDhcp6(result.reply);
    } catch (err) {
      this.c.encodeErrors++;
      this.logLimited('error', 'encode', { xid: result.reply.transactionId, err: String(err) }, 'DHCPv6 reply encoding failed');
      return;
    }
    const socket = this.socket;
    if (!socket) return;
    try {
      // RFC 8415 18.3: to the address and port the client's message came from.
      await socket.send(buf, from.address, from.port);
      this.c.sent++;
    } catch (err) {
      this.c.sendErrors++;
      this.logLimited('warn', 'send', { to: from.address, err: String(err) }, 'DHCPv6 send failed');
    }
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
}
