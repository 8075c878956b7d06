// One network's DHCPv6 decisions (RFC 8415 18.3): pure, no sockets and no timers. The clock is
// injected; advertised addresses live in memory for a short hold; leases come from the lease
// store, and every lease a reply stands for is returned in `commits`: the transport makes them
// durable BEFORE it sends the reply, so handle() stays synchronous. Unlike DHCPv4, Release and
// Decline are answered (with a Reply), so they commit the same way.
//
// Not served (dropped, counted): relay messages (the codec refuses them), Reconfigure, and
// unicast (no Server Unicast option is offered, so every client message arrives multicast).
import { parseIp, ipFromValue } from '../../dataplane/ip.js';
import { planAddresses6, type AddressPlan6 } from './address-plan.js';
import { Allocator6, type Client6, type Occupancy6 } from './allocator.js';
import { CounterSet6, type Counters6 } from './counters.js';
import {
  OPT6, STATUS, clientId, duidHex, iaNa, macFromDuid, option6, preference, rapidCommit, readOption6, readOptions6, serverId,
  type Dhcp6Option, type IaNa,
} from './options/index.js';
import { DHCP6, type Dhcp6Message } from './packet.js';
import { configOptions, iaOption, identifiers, status } from './stages/reply.js';
import { iaKey, type Dhcp6Config, type Lease6 } from './types.js';

export type { Counters6 } from './counters.js';

/** What the handler reads of the lease store (dhcp/lease-store.ts with lease6Format). */
export interface Lease6View {
  get(ip: string): Lease6 | undefined;
  byKey(key: string): Lease6 | undefined;
  all(): Lease6[];
}

export interface Dhcp6Result {
  reply: Dhcp6Message;
  /** The transport awaits store.commit() of each BEFORE sending the reply. */
  commits: Lease6[];
}

export interface Dhcp6HandlerOptions {
  now?: () => number;
  /** How long an Advertise keeps its address for the client (default 60 s). */
  advertiseHoldSeconds?: number;
  /** How long a Declined address stays out of use (default 600 s). */
  declineQuarantineSeconds?: number;
}

interface Held {
  ip: bigint;
  key: string;
  expiresAt: number;
}

/** A client as the handler keys it: DUID hex, and the MAC its DUID-LL/LLT names. */
type Client = Client6;

/** One IA's answer before it is encoded. */
interface IaAnswer {
  iaid: number;
  addresses: { address: string; preferredLifetime: number; validLifetime: number }[];
  status?: { code: number; message: string };
}

/**
 * At most this many IA_NAs of one message are served, and at most this many addresses of one
 * IA are looked at: one packet must not hold a whole pool (254 empty IA_NAs would) nor cost a
 * hundred times a normal one (an IA listing 140 addresses). Real clients send one or two.
 */
export const MAX_IAS_PER_MESSAGE = 8;
export const MAX_ADDRESSES_PER_IA = 8;

function iasOf(req: Dhcp6Message) {
  return readOptions6(req.options, iaNa).slice(0, MAX_IAS_PER_MESSAGE)
    .map((ia) => (ia.addresses.length > MAX_ADDRESSES_PER_IA ? { ...ia, addresses: ia.addresses.slice(0, MAX_ADDRESSES_PER_IA) } : ia));
}

export class Dhcp6Handler {
  private readonly tally = new CounterSet6();
  readonly counters: Counters6 = this.tally;
  private config!: Dhcp6Config;
  private plan!: AddressPlan6;
  private allocator!: Allocator6;
  private serverDuidHex!: string;
  private readonly heldByIp = new Map<bigint, Held>();
  private readonly heldByKey = new Map<string, Held>();
  private readonly now: () => number;
  private readonly holdMs: number;
  private readonly quarantineMs: number;

  constructor(config: Dhcp6Config, private readonly store: Lease6View, options: Dhcp6HandlerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.holdMs = (options.advertiseHoldSeconds ?? 60) * 1000;
    this.quarantineMs = (options.declineQuarantineSeconds ?? 600) * 1000;
    this.reconfigure(config);
  }

  /** New pools, reservations, options. Leases stay; one no longer allowed is not renewed. Throws Dhcp6ConfigError. */
  reconfigure(config: Dhcp6Config): void {
    const plan = planAddresses6(config);
    const sid = duidHex(config.serverDuid); // throws on a DUID that cannot be encoded
    this.config = config;
    this.plan = plan;
    this.allocator = new Allocator6(plan);
    this.serverDuidHex = sid;
    this.heldByIp.clear();
    this.heldByKey.clear();
  }

  get ignoredReservations(): AddressPlan6['ignoredReservations'] {
    return this.plan.ignoredReservations;
  }

  /** Leases, lapsed ones shown as 'expired'. */
  leases(): Lease6[] {
    const now = this.now();
    return this.store.all().map((l) => ((l.state === 'bound' || l.state === 'declined') && l.expiresAt <= now ? { ...l, state: 'expired' } : { ...l }));
  }

  handle(req: Dhcp6Message): Dhcp6Result | null {
    this.tally.countReceived(req.msgType);
    const cid = readOption6(req.options, clientId);
    const client: Client | undefined = cid ? { duid: duidHex(cid), ...optionalMac(macFromDuid(cid)) } : undefined;
    const hasSid = req.options.some((o) => o.code === OPT6.SERVER_ID);
    const sidOurs = hasSid && (() => {
      const sid = readOption6(req.options, serverId);
      return sid !== undefined && duidHex(sid) === this.serverDuidHex;
    })();
    // RFC 8415 16: which messages must, may or must not name a server, and need a client id.
    const needClient = req.msgType !== DHCP6.INFORMATION_REQUEST;
    if (needClient && !client && isClientMessage(req.msgType)) return this.drop('missing-client-id');
    switch (req.msgType) {
      case DHCP6.SOLICIT:
        if (hasSid) return this.drop('server-id-in-solicit');
        return this.solicit(req, client!);
      case DHCP6.REQUEST:
      case DHCP6.RENEW:
      case DHCP6.RELEASE:
      case DHCP6.DECLINE: {
        if (!hasSid) return this.drop('missing-server-id');
        if (!sidOurs) return this.drop('other-server');
        if (req.msgType === DHCP6.REQUEST) return this.request(req, client!);
        if (req.msgType === DHCP6.RENEW) return this.extend(req, client!, 'renew');
        if (req.msgType === DHCP6.RELEASE) return this.release(req, client!, 'released');
        return this.release(req, client!, 'declined');
      }
      case DHCP6.REBIND:
        if (hasSid) return this.drop('server-id-in-rebind');
        return this.extend(req, client!, 'rebind');
      case DHCP6.CONFIRM:
        if (hasSid) return this.drop('server-id-in-confirm');
        return this.confirm(req);
      case DHCP6.INFORMATION_REQUEST:
        if (hasSid && !sidOurs) return this.drop('other-server');
        if (req.options.some((o) => o.code === OPT6.IA_NA)) return this.drop('ia-in-information-request');
        return this.reply(req, DHCP6.REPLY, [], []);
      default:
        return this.drop('unsupported-type');
    }
  }

  // --- message types -------------------------------------------------------------------

  /** Advertise what a Request would get; with Rapid Commit, bind it now and Reply. */
  private solicit(req: Dhcp6Message, client: Client): Dhcp6Result {
    const rapid = this.config.rapidCommit !== false && req.options.some((o) => o.code === OPT6.RAPID_COMMIT);
    const now = this.now();
    const answers: IaAnswer[] = [];
    const commits: Lease6[] = [];
    for (const ia of iasOf(req)) {
      const ip = this.choose(client, ia);
      if (ip === undefined) {
        answers.push({ iaid: ia.iaid, addresses: [], status: { code: STATUS.NO_ADDRS_AVAIL, message: 'no addresses available' } });
        continue;
      }
      if (rapid) commits.push(...this.bind(client, ia.iaid, ip, now));
      else this.hold(ip, iaKey(client.duid, ia.iaid), now);
      answers.push(this.granted(ia.iaid, ip));
    }
    const extra: Dhcp6Option[] = [];
    const iaCount = answers.length;
    if (iaCount > 0 && answers.every((a) => a.status)) {
      // RFC 8415 18.3.1: nothing for any IA -> only a NoAddrsAvail status, no IAs.
      answers.length = 0;
      extra.push(this.status(STATUS.NO_ADDRS_AVAIL, 'no addresses available'));
      commits.length = 0;
    }
    if (rapid) {
      extra.push(option6(rapidCommit, true));
      return this.reply(req, DHCP6.REPLY, answers, extra, commits);
    }
    extra.push(option6(preference, this.config.preference ?? 255));
    return this.reply(req, DHCP6.ADVERTISE, answers, extra);
  }

  private request(req: Dhcp6Message, client: Client): Dhcp6Result {
    const now = this.now();
    const answers: IaAnswer[] = [];
    const commits: Lease6[] = [];
    for (const ia of iasOf(req)) {
      const ip = this.choose(client, ia);
      if (ip === undefined) {
        answers.push({ iaid: ia.iaid, addresses: [], status: { code: STATUS.NO_ADDRS_AVAIL, message: 'no addresses available' } });
        continue;
      }
      commits.push(...this.bind(client, ia.iaid, ip, now));
      answers.push(this.granted(ia.iaid, ip));
    }
    return this.reply(req, DHCP6.REPLY, answers, [], commits);
  }

  /**
   * Renew and Rebind (RFC 8415 18.3.4, 18.3.5): extend the IA's binding. With no binding (lost,
   * or given by a server that had no durable store), an address the client names is bound again
   * when it is still allowed and free. Addresses that are not (or no longer) the client's are
   * returned with lifetimes 0 so the client stops using them.
   */
  private extend(req: Dhcp6Message, client: Client, kind: 'renew' | 'rebind'): Dhcp6Result {
    const now = this.now();
    const answers: IaAnswer[] = [];
    const commits: Lease6[] = [];
    for (const ia of iasOf(req)) {
      const key = iaKey(client.duid, ia.iaid);
      const binding = this.store.byKey(key);
      let ip: bigint | undefined;
      if (binding && binding.state !== 'declined') {
        const v = parseIp(binding.ip)?.value;
        if (v !== undefined && this.usable(v, client, key)) ip = v;
      }
      // A reservation made since the client got its address: move the client to it.
      const reserved = this.allocator.reservationOf(client)?.ip;
      if (reserved !== undefined && reserved !== ip && this.usable(reserved, client, key)) ip = reserved;
      if (ip === undefined) {
        for (const a of ia.addresses) {
          const v = parseIp(a.address)?.value;
          if (v !== undefined && this.usable(v, client, key)) {
            ip = v;
            break;
          }
        }
      }
      const zeroed = ia.addresses
        .filter((a) => parseIp(a.address)?.value !== ip)
        .map((a) => ({ address: a.address, preferredLifetime: 0, validLifetime: 0 }));
      if (ip === undefined) {
        if (zeroed.length > 0 && kind === 'rebind' && zeroed.every((a) => !this.onLink(a.address))) {
          answers.push({ iaid: ia.iaid, addresses: zeroed });
        } else {
          answers.push({ iaid: ia.iaid, addresses: zeroed, status: { code: STATUS.NO_BINDING, message: 'no binding for this IA' } });
        }
        continue;
      }
      commits.push(...this.bind(client, ia.iaid, ip, now));
      const g = this.granted(ia.iaid, ip);
      g.addresses.push(...zeroed);
      answers.push(g);
    }
    return this.reply(req, DHCP6.REPLY, answers, [], commits);
  }

  /** Release and Decline (RFC 8415 18.3.7, 18.3.8): only the IA's own addresses; the rest get NoBinding. */
  private release(req: Dhcp6Message, client: Client, state: 'released' | 'declined'): Dhcp6Result {
    const now = this.now();
    const answers: IaAnswer[] = [];
    const commits: Lease6[] = [];
    for (const ia of iasOf(req)) {
      const key = iaKey(client.duid, ia.iaid);
      const binding = this.store.byKey(key);
      const held = this.heldByKey.get(key);
      let done = false;
      for (const a of ia.addresses) {
        const text = parseIp(a.address)?.text;
        if (text === undefined) continue;
        if (binding && binding.ip === text && binding.state === 'bound') {
          commits.push(this.retire(binding, state, now));
          done = true;
        } else if (state === 'declined' && held && ipFromValue(6, held.ip) === text) {
          // An advertised address the client found in use (DAD) before it was bound.
          this.unhold(key);
          commits.push(this.retire({ network: this.config.network, ip: text, duid: client.duid, iaid: ia.iaid, ...optionalMac(client.mac), state: 'bound', expiresAt: now, updatedAt: now }, state, now));
          done = true;
        }
      }
      if (!done) answers.push({ iaid: ia.iaid, addresses: [], status: { code: STATUS.NO_BINDING, message: 'no binding for this IA' } });
    }
    const what = state === 'released' ? 'release' : 'decline';
    const extra = [this.status(STATUS.SUCCESS, `${what} received`)];
    return this.reply(req, DHCP6.REPLY, answers, extra, commits);
  }

  /** Confirm (RFC 8415 18.3.3): are the client's addresses still on this link? */
  private confirm(req: Dhcp6Message): Dhcp6Result | null {
    const addresses = iasOf(req).flatMap((ia) => ia.addresses.map((a) => a.address));
    // No addresses: nothing to confirm, and the RFC says not to reply.
    if (addresses.length === 0) return this.drop('confirm-without-addresses');
    const onLink = addresses.every((a) => this.onLink(a));
    const extra = [onLink ? this.status(STATUS.SUCCESS, 'all addresses on link') : this.status(STATUS.NOT_ON_LINK, 'not on link')];
    return this.reply(req, DHCP6.REPLY, [], extra);
  }

  // --- addresses -----------------------------------------------------------------------

  /** Solicit and Request: reservation, what was advertised, the current binding, the client's hint, then the pools. */
  private choose(client: Client, ia: IaNa): bigint | undefined {
    const key = iaKey(client.duid, ia.iaid);
    const ok = (ip: bigint | undefined): ip is bigint => ip !== undefined && this.usable(ip, client, key);
    const reserved = this.allocator.reservationOf(client)?.ip;
    if (ok(reserved)) return reserved;
    const held = this.heldByKey.get(key);
    if (held && held.expiresAt > this.now() && ok(held.ip)) return held.ip;
    const binding = this.store.byKey(key);
    const bound = binding && binding.state !== 'declined' ? parseIp(binding.ip)?.value : undefined;
    if (ok(bound)) return bound;
    for (const a of ia.addresses) {
      const hint = parseIp(a.address)?.value;
      if (ok(hint)) return hint;
    }
    return this.allocator.pick((ip) => this.occupancy(ip));
  }

  private usable(ip: bigint, client: Client, key: string): boolean {
    return this.allocator.permits(ip, client) && this.occupancy(ip, key) !== 'taken';
  }

  /** How `ip` looks to the IA `key` (or to a new IA when absent). */
  private occupancy(ip: bigint, key?: string): Occupancy6 {
    const now = this.now();
    const held = this.heldByIp.get(ip);
    if (held) {
      if (held.expiresAt <= now) this.unhold(held.key);
      else if (held.key !== key) return 'taken';
    }
    const lease = this.store.get(ipFromValue(6, ip));
    if (!lease) return 'fresh';
    if (lease.state === 'declined') return lease.expiresAt > now ? 'taken' : 'reusable';
    const mine = key !== undefined && iaKey(lease.duid, lease.iaid) === key;
    if (lease.state === 'bound' && lease.expiresAt > now && !mine) return 'taken';
    return 'reusable';
  }

  private onLink(address: string): boolean {
    const ip = parseIp(address);
    return ip !== null && ip.family === 6 && ip.value >= this.plan.prefix.first && ip.value <= this.plan.prefix.last;
  }

  /** The leases binding `ip` to the IA: the new one, and the IA's previous address released. */
  private bind(client: Client, iaid: number, ip: bigint, now: number): Lease6[] {
    const key = iaKey(client.duid, iaid);
    // The held address is being bound, or another one is and the held one goes back: either
    // way only a freed address may lower where the next search starts.
    const held = this.heldByKey.get(key);
    this.unhold(key, held !== undefined && held.ip !== ip);
    const text = ipFromValue(6, ip);
    const out: Lease6[] = [];
    const prev = this.store.byKey(key);
    if (prev && prev.ip !== text && prev.state === 'bound') out.push(this.retire(prev, 'released', now));
    out.push({
      network: this.config.network, ip: text, duid: client.duid, iaid, ...optionalMac(client.mac),
      state: 'bound', expiresAt: now + this.config.validLifetimeSec * 1000, updatedAt: now,
    });
    return out;
  }

  private retire(lease: Lease6, state: 'released' | 'declined', now: number): Lease6 {
    const freed = parseIp(lease.ip);
    if (freed) this.allocator.forgetHint(freed.value);
    // A released lease keeps who held it, so the same IA gets the address back if it is still free.
    return { ...lease, state, expiresAt: state === 'declined' ? now + this.quarantineMs : now, updatedAt: now };
  }

  private hold(ip: bigint, key: string, now: number): void {
    this.unhold(key);
    const h: Held = { ip, key, expiresAt: now + this.holdMs };
    this.heldByIp.set(ip, h);
    this.heldByKey.set(key, h);
  }

  /** `freed`: the address is free again (false when the IA is binding it). */
  private unhold(key: string, freed = true): void {
    const h = this.heldByKey.get(key);
    if (!h) return;
    this.heldByKey.delete(key);
    if (this.heldByIp.get(h.ip) === h) this.heldByIp.delete(h.ip);
    if (freed) this.allocator.forgetHint(h.ip);
  }

  private granted(iaid: number, ip: bigint): IaAnswer {
    return {
      iaid,
      addresses: [{ address: ipFromValue(6, ip), preferredLifetime: this.config.preferredLifetimeSec, validLifetime: this.config.validLifetimeSec }],
    };
  }

  // --- replies -------------------------------------------------------------------------

  private reply(req: Dhcp6Message, type: number, answers: IaAnswer[], extra: Dhcp6Option[], commits: Lease6[] = []): Dhcp6Result {
    // RFC 8415 21.4: T1 0.5 and T2 0.8 times the shortest preferred lifetime.
    const pref = this.config.preferredLifetimeSec;
    const t1 = Math.floor(pref * 0.5);
    const t2 = Math.floor(pref * 0.8);
    const options: Dhcp6Option[] = identifiers(req, this.config.serverDuid);
    for (const a of answers) {
      if (a.status) this.tally.countStatus(a.status.code);
      const timed = a.addresses.some((x) => x.validLifetime > 0);
      options.push(iaOption({ iaid: a.iaid, t1: timed ? t1 : 0, t2: timed ? t2 : 0, addresses: a.addresses, ...(a.status ? { status: a.status } : {}) }));
    }
    options.push(...extra);
    options.push(...configOptions(req, this.config.dnsServers ?? [], this.config.searchDomains ?? []));
    this.tally.countSent(type);
    return { reply: { msgType: type, transactionId: req.transactionId, options }, commits };
  }

  private status(code: number, message: string): Dhcp6Option {
    if (code !== STATUS.SUCCESS) this.tally.countStatus(code);
    return status(code, message);
  }

  private drop(reason: string): null {
    this.tally.countDrop(reason);
    return null;
  }
}

function isClientMessage(type: number): boolean {
  return type === DHCP6.SOLICIT || type === DHCP6.REQUEST || type === DHCP6.CONFIRM || type === DHCP6.RENEW ||
    type === DHCP6.REBIND || type === DHCP6.RELEASE || type === DHCP6.DECLINE;
}

function optionalMac(mac: string | undefined): { mac?: string } {
  return mac ? { mac } : {};
}
