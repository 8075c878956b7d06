// Router advertisements on one bridge: periodic unsolicited RAs, answers to solicitations, a
// new RA at once when the configuration changes, and when the network goes away, final RAs
// with router lifetime 0. An agent restart stops without them (stop({ final: false })): a
// restart must never make workloads drop their default route.
//
// Every RA is multicast to ff02::1 from the bridge's link-local address (hosts ignore RAs from
// any other source, RFC 4861 6.1.2). While the bridge has no usable link-local address (no
// carrier yet, or DAD still running) nothing is sent; the advertiser looks again every
// linkLocalRetryMs and sends as soon as there is one. A bridge deleted and made again (drift
// repair) gets a new interface index, which the socket is not bound to: every deviceCheckMs the
// advertiser compares, and reopens the socket on the new device and advertises at once.
import { buildRouterAdvertisement } from './build.js';
import { RaConfigError, resolveRaConfig, type RaConfig, type ResolvedRaConfig } from './config.js';
import { readLinkLocal } from './link-local.js';
import { decodeRouterSolicitation, encodeRouterAdvertisement } from './message.js';
import { RaSchedule } from './schedule.js';
import { RaSocket, type ReceivedIcmp } from './socket.js';

const ALL_NODES = 'ff02::1';
/** An RA must fit the IPv6 minimum MTU (1280) less the IPv6 header; we never fragment. */
const MAX_RA_BYTES = 1280 - 40;

export interface RaCounters {
  /** RAs sent (unsolicited, solicited, after a change, final). */
  sent: number;
  /** Valid router solicitations received. */
  solicitations: number;
  /** Solicitations dropped as invalid: hop limit not 255, malformed, truncated. */
  invalidDropped: number;
  /** Sends the kernel refused. */
  sendErrors: number;
  /** Times an RA was due but the device did not exist or had no usable link-local address. */
  linkLocalWaits: number;
  /** Times the socket was reopened because the device had been made again. */
  reopened: number;
}

export interface RouterAdvertiserOptions {
  /** Named netns or path; null: the caller's own. */
  netns: string | null;
  config: RaConfig;
  /** Receive and send failures, and why an RS was dropped; the advertiser keeps going. */
  onError?: (err: Error) => void;
  /** Called when the state changes (e.g. advertising once the link-local address appears). */
  onStateChange?: (state: AdvertiserState) => void;
  /** Tests: a clock and a random source. */
  now?: () => number;
  random?: () => number;
}

/** 'waiting-for-link-local' also covers a device that does not exist (no address either). */
export type AdvertiserState = 'idle' | 'waiting-for-link-local' | 'advertising' | 'stopping' | 'stopped';

export class RouterAdvertiser {
  readonly counters: RaCounters = { sent: 0, solicitations: 0, invalidDropped: 0, sendErrors: 0, linkLocalWaits: 0, reopened: 0 };
  private cfg: ResolvedRaConfig;
  private socket: RaSocket | null = null;
  private schedule: RaSchedule | null = null;
  private timer: NodeJS.Timeout | null = null;
  private deviceTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  /** Set as soon as stop() is called (before its promise exists). */
  private stopRequested = false;
  private current: AdvertiserState = 'idle';
  /** The link-local address of the last RA sent, for status. */
  private _source: string | null = null;
  private readonly netns: string | null;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly onError: (err: Error) => void;
  private readonly onStateChange: (state: AdvertiserState) => void;

  constructor(options: RouterAdvertiserOptions) {
    this.netns = options.netns;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.onError = options.onError ?? (() => {});
    this.onStateChange = options.onStateChange ?? (() => {});
    this.cfg = checkedConfig(options.config);
  }

  get state(): AdvertiserState {
    return this.current;
  }

  private set _state(next: AdvertiserState) {
    if (next === this.current) return;
    this.current = next;
    this.onStateChange(next);
  }

  private get _state(): AdvertiserState {
    return this.current;
  }

  /** The address RAs were last sent from (the bridge's link-local), null before the first. */
  get source(): string | null {
    return this._source;
  }

  get config(): ResolvedRaConfig {
    return this.cfg;
  }

  /** Opens the socket on the bridge and sends the first RA as soon as it can. Throws DataplaneError. */
  start(): void {
    if (this._state !== 'idle') throw new Error(`start router advertiser on ${this.cfg.device}: already ${this._state}`);
    this.socket = this.openSocket();
    this.schedule = new RaSchedule(this.cfg.intervals, this.random, this.now());
    this._state = 'advertising';
    this.arm();
    this.deviceTimer = setInterval(() => this.checkDevice(), this.cfg.intervals.deviceCheckMs);
    this.deviceTimer.unref?.();
  }

  /**
   * Takes a new configuration without closing the socket; sends an RA at once (within the rate
   * limit) when anything changed. Returns whether it did change. Throws RaConfigError for a
   * config that cannot be advertised (the old one stays).
   */
  reconfigure(config: RaConfig): boolean {
    const next = checkedConfig(config);
    if (next.device !== this.cfg.device) throw new RaConfigError(config.device, `the device is fixed for an advertiser (it advertises on ${this.cfg.device})`);
    if (JSON.stringify(next) === JSON.stringify(this.cfg)) return false;
    this.cfg = next;
    if (this.schedule && !this.stopRequested) {
      this.schedule.changed(this.now(), next.intervals);
      this.arm();
    }
    return true;
  }

  /**
   * Stops advertising. `final`: the network is going away, so up to finalCount RAs with router
   * lifetime 0 go out first (spaced by the rate limit); otherwise (agent restart, shutdown)
   * the socket just closes and hosts keep their default route until its lifetime runs out.
   */
  stop(opts: { final: boolean }): Promise<void> {
    this.stopRequested = true;
    this.stopping ??= this.doStop(opts.final);
    return this.stopping;
  }

  private async doStop(final: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.deviceTimer) clearInterval(this.deviceTimer);
    this.deviceTimer = null;
    if (!this.socket || !this.schedule) {
      this._state = 'stopped';
      return;
    }
    this._state = 'stopping';
    this.socket.pause(); // solicitations are no longer answered
    if (final) {
      for (let i = 0; i < this.cfg.intervals.finalCount; i++) {
        const wait = this.schedule.lastSent + this.cfg.intervals.minDelayBetweenRasMs - this.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (!this.trySend(true)) break;
      }
    }
    this.socket.close();
    this.socket = null;
    this._state = 'stopped';
  }

  private openSocket(): RaSocket {
    const s = RaSocket.open({ netns: this.netns, device: this.cfg.device });
    s.listen((m) => this.onPacket(m), (err) => this.onError(err));
    return s;
  }

  /** (Re)sets the one timer to the schedule's due time. */
  private arm(): void {
    if (!this.schedule || this.stopRequested) return;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(0, this.schedule.dueAt() - this.now());
    this.timer = setTimeout(() => this.fire(), wait);
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = null;
    if (!this.schedule || this.stopRequested) return;
    if (this.now() >= this.schedule.dueAt()) this.trySend(false);
    this.arm();
  }

  /** Sends one multicast RA now; false when it could not (and retries are scheduled). */
  private trySend(final: boolean): boolean {
    const schedule = this.schedule!;
    const now = this.now();
    try {
      const present = this.followDevice();
      const source = present ? readLinkLocal(this.netns, this.socket!.ifindex) : null;
      if (!source) {
        this.counters.linkLocalWaits++;
        if (!final) this._state = 'waiting-for-link-local';
        schedule.retryAfter(now, this.cfg.intervals.linkLocalRetryMs);
        return false;
      }
      const ra = encodeRouterAdvertisement(buildRouterAdvertisement(this.cfg, this.socket!.hardwareAddress(), final));
      this.socket!.send(ra, ALL_NODES, source);
      this.counters.sent++;
      this._source = source;
      if (!final) this._state = 'advertising';
      schedule.sent(now);
      return true;
    } catch (err) {
      this.counters.sendErrors++;
      this.onError(err instanceof Error ? err : new Error(String(err)));
      schedule.retryAfter(now, this.cfg.intervals.linkLocalRetryMs);
      return false;
    }
  }

  /**
   * A bridge deleted and made again (drift repair) has a new index; the socket is bound to the
   * old one and would never send or hear anything again. Reopens it on the new device; false
   * while the device does not exist.
   */
  private followDevice(): boolean {
    const current = this.socket!.currentIfindex();
    if (current === null) return false;
    if (current === this.socket!.ifindex) return true;
    const old = this.socket!;
    this.socket = this.openSocket();
    old.close();
    this.counters.reopened++;
    if (this.stopRequested) this.socket.pause();
    return true;
  }

  /** The periodic check: a new device is like an interface that just became advertising. */
  private checkDevice(): void {
    if (this.stopRequested || !this.socket || !this.schedule) return;
    const before = this.socket.ifindex;
    try {
      if (this.followDevice() && this.socket.ifindex !== before) {
        this.schedule.changed(this.now(), this.cfg.intervals);
        this.arm();
      }
    } catch (err) {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private onPacket(m: ReceivedIcmp): void {
    if (this.stopRequested || !this.schedule) return;
    // RFC 4861 6.1.1: hop limit 255 proves the sender is on this link; truncated cannot be checked.
    if (m.hopLimit !== 255 || m.truncated) {
      this.counters.invalidDropped++;
      return;
    }
    const rs = decodeRouterSolicitation(m.data, m.source === '::');
    if (!rs.ok) {
      this.counters.invalidDropped++;
      return;
    }
    this.counters.solicitations++;
    this.schedule.solicited(this.now());
    this.arm();
  }
}

/** Resolves and also checks that the RA fits the minimum MTU (we never fragment an RA). */
function checkedConfig(config: RaConfig): ResolvedRaConfig {
  const c = resolveRaConfig(config);
  const size = encodeRouterAdvertisement(buildRouterAdvertisement(c, '00:00:00:00:00:00')).length;
  if (size > MAX_RA_BYTES) throw new RaConfigError(c.device, `the RA would be ${size} bytes, more than the ${MAX_RA_BYTES} that fit IPv6's minimum MTU (fewer DNS servers, domains or routes)`);
  return c;
}
