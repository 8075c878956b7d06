// One network's DHCP decisions (RFC 2131 4.3): pure, no sockets and no timers. The clock is
// injected; offers live in memory for a short hold; leases come from and go to the LeaseStore,
// but the transport commits ACKed leases (awaiting durability before it sends), so handle()
// stays synchronous. RELEASE and DECLINE have no reply: the handler commits those itself.
import { planAddresses, type AddressPlan } from './address-plan.js';
import { Allocator, type Occupancy } from './allocator.js';
import { CounterSet, type Counters } from './counters.js';
import { cidrContains, intToIp, tryIpToInt } from '../dataplane/ip4.js';
import type { LeaseStore } from './lease-store.js';
import { OPT, messageType, readOption, requestedIp, serverId } from './options/index.js';
import { BROADCAST_FLAG, DHCP, type DhcpMessage } from './packet.js';
import { identifyClient, isClientsLease, type ClientIdentity } from './stages/client-identity.js';
import { replyDestination, type Destination } from './stages/destination.js';
import { networkOptions, replyOptions } from './stages/reply-options.js';
import { replySkeleton } from './stages/reply.js';
import type { Lease, NetworkDhcpConfig } from './types.js';

export type { Destination } from './stages/destination.js';
export type { Counters } from './counters.js';

export interface HandlerResult {
  reply: DhcpMessage;
  destination: Destination;
  /** The transport awaits store.commit(commit) BEFORE sending the reply. */
  commit?: Lease;
}

export interface DhcpHandlerOptions {
  now?: () => number;
  /** How long an OFFER keeps its address for the client (default 30 s). */
  offerHoldSeconds?: number;
  /** How long a DECLINEd address stays out of use (default 600 s). */
  declineQuarantineSeconds?: number;
}

interface Offer {
  ip: number;
  /** ClientIdentity.key of the client it is held for. */
  key: string;
  mac: string;
  clientId?: string;
  expiresAt: number;
}

const ZERO = '0.0.0.0';

export class DhcpHandler {
  private readonly tally = new CounterSet();
  /** Per message type received/sent, drops (and NAKs) by reason. */
  readonly counters: Counters = this.tally;
  private config!: NetworkDhcpConfig;
  private plan!: AddressPlan;
  private allocator!: Allocator;
  private options!: Map<number, Buffer>;
  private readonly offersByIp = new Map<number, Offer>();
  private readonly offersByKey = new Map<string, Offer>();
  private readonly now: () => number;
  private readonly offerHoldMs: number;
  private readonly quarantineMs: number;
  private sized: { allocator: Allocator; size: number } | undefined;

  constructor(config: NetworkDhcpConfig, private readonly store: LeaseStore, options: DhcpHandlerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.offerHoldMs = (options.offerHoldSeconds ?? 30) * 1000;
    this.quarantineMs = (options.declineQuarantineSeconds ?? 600) * 1000;
    this.reconfigure(config);
  }

  /** New pools, options, reservations. Leases stay; a lease no longer allowed is NAKed when its client asks. */
  reconfigure(config: NetworkDhcpConfig): void {
    if (!Number.isInteger(config.leaseSeconds) || config.leaseSeconds <= 0) {
      throw new Error(`configure DHCP for network ${config.network}: leaseSeconds: ${config.leaseSeconds} is not a positive integer`);
    }
    const plan = planAddresses(config);
    const options = networkOptions(config, plan.cidr);
    this.config = config;
    this.plan = plan;
    this.allocator = new Allocator(plan);
    this.options = options;
    this.offersByIp.clear();
    this.offersByKey.clear();
  }

  /** Reservations that the current configuration could not honour, with why. */
  get ignoredReservations(): AddressPlan['ignoredReservations'] {
    return this.plan.ignoredReservations;
  }

  handle(req: DhcpMessage): HandlerResult | null {
    const type = readOption(req.options, messageType);
    if (req.op !== 1 || type === undefined) return this.drop('not-a-request');
    this.tally.countReceived(type);
    if (req.giaddr !== ZERO) {
      const relay = tryIpToInt(req.giaddr);
      // A relay serving another subnet is asking for another network's server.
      if (relay === undefined || !cidrContains(this.plan.cidr, relay)) return this.drop('foreign-relay');
    }
    const client = identifyClient(req);
    switch (type) {
      case DHCP.DISCOVER:
        return this.discover(req, client);
      case DHCP.REQUEST:
        return this.request(req, client);
      case DHCP.RELEASE:
        return this.release(req, client);
      case DHCP.DECLINE:
        return this.decline(req, client);
      case DHCP.INFORM:
        return this.inform(req);
      default:
        return this.drop('unsupported-type');
    }
  }

  /**
   * The pools for reporting: how many addresses they can hand to anyone (reserved and excluded
   * ones not counted) and how many of those are bound, offered or quarantined right now.
   */
  poolUsage(): { size: number; used: number } {
    // capacity() walks the pools: computed once per configuration.
    if (this.sized?.allocator !== this.allocator) this.sized = { allocator: this.allocator, size: this.allocator.capacity() };
    const p = this.plan;
    let used = 0;
    for (const l of this.leases()) {
      if (l.state !== 'bound' && l.state !== 'offered' && l.state !== 'declined') continue;
      const ip = tryIpToInt(l.ip);
      if (ip !== undefined && this.allocator.inPool(ip) && !p.never.has(ip) && !p.reservationByIp.has(ip)) used++;
    }
    return { size: this.sized.size, used };
  }

  /** Leases (lapsed ones shown as 'expired'), live offers, and quarantined ('declined') addresses. */
  leases(): Lease[] {
    const now = this.now();
    const byIp = new Map<string, Lease>();
    for (const l of this.store.all()) {
      const lapsed = (l.state === 'bound' || l.state === 'offered' || l.state === 'declined') && l.expiresAt <= now;
      byIp.set(l.ip, lapsed ? { ...l, state: 'expired' } : { ...l });
    }
    for (const o of this.offersByIp.values()) {
      if (o.expiresAt <= now) continue;
      const ip = intToIp(o.ip);
      const held = byIp.get(ip);
      if (held && (held.state === 'bound' || held.state === 'declined')) continue;
      byIp.set(ip, {
        network: this.config.network, ip, mac: o.mac, ...(o.clientId ? { clientId: o.clientId } : {}),
        state: 'offered', expiresAt: o.expiresAt, updatedAt: o.expiresAt - this.offerHoldMs,
      });
    }
    return [...byIp.values()];
  }

  // --- message types -------------------------------------------------------------------

  private discover(req: DhcpMessage, client: ClientIdentity): HandlerResult | null {
    const ip = this.chooseAddress(req, client);
    if (ip === undefined) return this.drop('pool-exhausted');
    this.holdOffer(ip, client);
    return this.reply(req, DHCP.OFFER, { yiaddr: intToIp(ip) }, this.config.leaseSeconds);
  }

  private request(req: DhcpMessage, client: ClientIdentity): HandlerResult | null {
    const sid = req.options.get(OPT.SERVER_ID);
    const requested = readOption(req.options, requestedIp);
    if (sid !== undefined) {
      // SELECTING: the client picked one server's offer.
      if (readOption(req.options, serverId) !== this.config.serverAddress) {
        this.dropOffer(client.key);
        return this.drop('other-server');
      }
      const wanted = requested ?? (req.ciaddr !== ZERO ? req.ciaddr : undefined);
      if (wanted === undefined) return this.drop('request-without-address');
      return this.bindOrNak(req, client, wanted);
    }
    if (req.ciaddr === ZERO) {
      // INIT-REBOOT: the client checks the address it remembers.
      if (requested === undefined) return this.drop('request-without-address');
      return this.initReboot(req, client, requested);
    }
    // RENEWING (unicast) or REBINDING (broadcast): the client extends the lease it has.
    return this.bindOrNak(req, client, req.ciaddr);
  }

  private initReboot(req: DhcpMessage, client: ClientIdentity, requested: string): HandlerResult | null {
    const ip = tryIpToInt(requested);
    if (ip === undefined || !cidrContains(this.plan.cidr, ip)) return this.nak(req, 'wrong-network');
    const record = this.store.get(requested);
    const own = record !== undefined && record.state !== 'declined' && isClientsLease(record, client);
    if (own || !this.allocator.permits(ip, client.mac) || this.occupancy(ip, client) === 'taken') {
      return this.bindOrNak(req, client, requested);
    }
    // RFC 2131 4.3.2: no record of this client at all -> stay silent (another server may own it).
    if (this.store.byClient(client.mac, client.clientId) === undefined) return this.drop('init-reboot-unknown-client');
    return this.nak(req, 'not-clients-address');
  }

  /** ACK (and commit) when `wanted` may be this client's now, else NAK. */
  private bindOrNak(req: DhcpMessage, client: ClientIdentity, wanted: string): HandlerResult | null {
    const ip = tryIpToInt(wanted);
    if (ip === undefined || !cidrContains(this.plan.cidr, ip)) return this.nak(req, 'wrong-network');
    if (!this.allocator.permits(ip, client.mac)) return this.nak(req, 'address-not-allowed');
    if (this.occupancy(ip, client) === 'taken') return this.nak(req, 'address-taken');
    // A reservation added since the client got its address: move the client to it.
    const reserved = this.plan.reservationByMac.get(client.mac);
    if (reserved !== undefined && reserved !== ip && this.occupancy(reserved, client) !== 'taken') {
      return this.nak(req, 'reservation-differs');
    }
    const now = this.now();
    const lease: Lease = {
      network: this.config.network,
      ip: wanted,
      mac: client.mac,
      ...(client.clientId ? { clientId: client.clientId } : {}),
      ...(client.hostname ? { hostname: client.hostname } : {}),
      state: 'bound',
      expiresAt: now + this.config.leaseSeconds * 1000,
      updatedAt: now,
    };
    this.dropOffer(client.key, ip);
    const ciaddr = req.ciaddr;
    const result = this.reply(req, DHCP.ACK, { yiaddr: wanted, ciaddr }, this.config.leaseSeconds);
    result.commit = lease;
    return result;
  }

  private release(req: DhcpMessage, client: ClientIdentity): null {
    if (!this.fromUs(req)) return this.drop('other-server');
    const lease = this.store.get(req.ciaddr);
    if (!lease || lease.state !== 'bound' || !isClientsLease(lease, client)) return this.drop('release-unknown-lease');
    const now = this.now();
    // Keep who held it, so the same client gets the address back if it is still free.
    this.commitQuietly({ ...lease, state: 'released', expiresAt: now, updatedAt: now });
    this.allocator.forgetHint();
    return null;
  }

  private decline(req: DhcpMessage, client: ClientIdentity): null {
    if (!this.fromUs(req)) return this.drop('other-server');
    const declined = readOption(req.options, requestedIp);
    const ip = declined === undefined ? undefined : tryIpToInt(declined);
    if (declined === undefined || ip === undefined) return this.drop('decline-without-address');
    const lease = this.store.get(declined);
    const offered = this.offersByIp.get(ip);
    const ours = (lease !== undefined && lease.state !== 'declined' && isClientsLease(lease, client)) || offered?.key === client.key;
    // Only the client we gave the address to can take it out of use (no pool draining by others).
    if (!ours) return this.drop('decline-unknown-lease');
    this.dropOffer(client.key);
    const now = this.now();
    this.commitQuietly({
      network: this.config.network, ip: declined, mac: client.mac, ...(client.clientId ? { clientId: client.clientId } : {}),
      state: 'declined', expiresAt: now + this.quarantineMs, updatedAt: now,
    });
    return null;
  }

  private inform(req: DhcpMessage): HandlerResult {
    // RFC 2131 4.3.5: configuration only, no lease: no yiaddr, no lease times, unicast to ciaddr.
    return this.reply(req, DHCP.ACK, { ciaddr: req.ciaddr }, undefined);
  }

  // --- addresses -----------------------------------------------------------------------

  /** DISCOVER: reservation, current/previous lease, requested address, then the lowest free one. */
  private chooseAddress(req: DhcpMessage, client: ClientIdentity): number | undefined {
    const usable = (ip: number | undefined): ip is number =>
      ip !== undefined && this.allocator.permits(ip, client.mac) && this.occupancy(ip, client) !== 'taken';
    const reserved = this.plan.reservationByMac.get(client.mac);
    if (usable(reserved)) return reserved;
    const offered = this.offersByKey.get(client.key);
    if (offered && offered.expiresAt > this.now() && usable(offered.ip)) return offered.ip;
    const previous = this.store.byClient(client.mac, client.clientId);
    const prevIp = previous ? tryIpToInt(previous.ip) : undefined;
    if (usable(prevIp)) return prevIp;
    const requested = readOption(req.options, requestedIp);
    const reqIp = requested === undefined ? undefined : tryIpToInt(requested);
    if (usable(reqIp)) return reqIp;
    return this.allocator.pick((ip) => this.occupancy(ip), this.now());
  }

  /** How `ip` looks to `client` (or to a new client when absent). */
  private occupancy(ip: number, client?: ClientIdentity): Occupancy {
    const now = this.now();
    const offer = this.offersByIp.get(ip);
    if (offer) {
      if (offer.expiresAt <= now) {
        this.offersByIp.delete(ip);
        if (this.offersByKey.get(offer.key) === offer) this.offersByKey.delete(offer.key);
        this.allocator.forgetHint();
      } else if (offer.key !== client?.key) {
        return 'taken';
      }
    }
    const lease = this.store.get(intToIp(ip));
    if (!lease) return offer && offer.expiresAt > now ? 'reusable' : 'fresh';
    if (lease.state === 'declined') return lease.expiresAt > now ? 'taken' : 'reusable';
    const live = (lease.state === 'bound' || lease.state === 'offered') && lease.expiresAt > now;
    if (live && !(client && isClientsLease(lease, client))) return 'taken';
    return 'reusable';
  }

  private holdOffer(ip: number, client: ClientIdentity): void {
    this.dropOffer(client.key);
    const offer: Offer = {
      ip, key: client.key, mac: client.mac, ...(client.clientId ? { clientId: client.clientId } : {}), expiresAt: this.now() + this.offerHoldMs,
    };
    this.offersByIp.set(ip, offer);
    this.offersByKey.set(client.key, offer);
  }

  /** Forgets the client's offer; its address becomes fresh again unless it is `bindingIp`. */
  private dropOffer(key: string, bindingIp?: number): void {
    const offer = this.offersByKey.get(key);
    if (!offer) return;
    this.offersByKey.delete(key);
    if (this.offersByIp.get(offer.ip) === offer) this.offersByIp.delete(offer.ip);
    if (offer.ip !== bindingIp) this.allocator.forgetHint();
  }

  // --- replies -------------------------------------------------------------------------

  private reply(req: DhcpMessage, type: number, fields: { yiaddr?: string; ciaddr?: string }, leaseSeconds: number | undefined): HandlerResult {
    const reply = replySkeleton(req, fields);
    reply.options = replyOptions({
      type, serverAddress: this.config.serverAddress, network: this.options, req,
      ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
    });
    this.tally.countSent(type);
    return { reply, destination: replyDestination(req, reply, type) };
  }

  private nak(req: DhcpMessage, why: string): HandlerResult {
    this.tally.countNak(why);
    const result = this.reply(req, DHCP.NAK, {}, undefined);
    // RFC 2131 4.3.2: a relayed NAK asks the relay to broadcast it.
    if (req.giaddr !== ZERO) result.reply.flags |= BROADCAST_FLAG;
    return result;
  }

  private drop(reason: string): null {
    this.tally.countDrop(reason);
    return null;
  }

  /** RELEASE/DECLINE name our server id when they name one. */
  private fromUs(req: DhcpMessage): boolean {
    return !req.options.has(OPT.SERVER_ID) || readOption(req.options, serverId) === this.config.serverAddress;
  }

  private commitQuietly(lease: Lease): void {
    // No reply waits on it; a failed write is counted, the in-memory state already changed.
    this.store.commit(lease).catch(() => this.tally.countDrop('commit-failed'));
  }
}

