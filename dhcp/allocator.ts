// Chooses addresses from one network's pools. It knows the plan (pools, never-give-out
// addresses, reservations); whether an address is in use is asked of the caller, who sees
// leases and offers. Fresh addresses (no record at all) are preferred over reusing one that
// another client held before, so returning clients tend to find their old address free.
import { cidrContains } from '../dataplane/ip4.js';
import type { AddressPlan } from './address-plan.js';

/** How the caller sees an address right now. */
export type Occupancy =
  /** Never leased, not offered. */
  | 'fresh'
  /** Held before by another client, now released or expired: usable when nothing fresh is left. */
  | 'reusable'
  /** Bound, offered, or quarantined. */
  | 'taken';

/** While the pools are exhausted, rescan at most this often (a DISCOVER flood must stay cheap). */
const EXHAUSTED_RESCAN_MS = 1000;

export class Allocator {
  /** Every pool address below this one was seen non-fresh; reset whenever that may change. */
  private freshHint = 0;
  /** Where the next search for a reusable address starts (next-fit, wrapping around). */
  private reuseHint = 0;
  /** When a full scan last found nothing; undefined when not known to be exhausted. */
  private exhaustedAt: number | undefined;

  constructor(readonly plan: AddressPlan) {}

  /** Whether `ip` may be handed to the client with this MAC at all (ignoring who holds it). */
  permits(ip: number, mac: string): boolean {
    const p = this.plan;
    if (!cidrContains(p.cidr, ip) || p.never.has(ip)) return false;
    const reservedFor = p.reservationByIp.get(ip);
    if (reservedFor !== undefined) return reservedFor === mac;
    return this.inPool(ip);
  }

  inPool(ip: number): boolean {
    for (const r of this.plan.ranges) if (ip >= r.start && ip <= r.end) return true;
    return false;
  }

  /**
   * The lowest fresh pool address; else a reusable one (next-fit from the last reuse); undefined
   * when the pools are exhausted. `now` (ms) only paces rescans of an exhausted pool.
   */
  pick(occupancy: (ip: number) => Occupancy, now = 0): number | undefined {
    if (this.exhaustedAt !== undefined && now - this.exhaustedAt < EXHAUSTED_RESCAN_MS && now >= this.exhaustedAt) return undefined;
    const p = this.plan;
    for (const r of p.ranges) {
      for (let ip = Math.max(r.start, this.freshHint); ip <= r.end; ip++) {
        if (p.never.has(ip) || p.reservationByIp.has(ip)) continue;
        if (occupancy(ip) === 'fresh') {
          this.freshHint = ip;
          this.exhaustedAt = undefined;
          return ip;
        }
      }
    }
    // Nothing fresh above the hint: walk the whole ring once from the reuse hint.
    for (const ip of this.ring(this.reuseHint)) {
      if (p.never.has(ip) || p.reservationByIp.has(ip)) continue;
      const o = occupancy(ip);
      if (o === 'fresh' || o === 'reusable') {
        this.reuseHint = ip + 1;
        this.exhaustedAt = undefined;
        return ip;
      }
    }
    this.exhaustedAt = now;
    return undefined;
  }

  /** Call when an address may have become fresh or free again (an offer lapsed, a release, a new plan). */
  forgetHint(): void {
    this.freshHint = 0;
    this.exhaustedAt = undefined;
  }

  /** Number of addresses the pools can hand out to anyone (for reporting). */
  capacity(): number {
    let n = 0;
    for (const r of this.plan.ranges) {
      for (let ip = r.start; ip <= r.end; ip++) if (!this.plan.never.has(ip) && !this.plan.reservationByIp.has(ip)) n++;
    }
    return n;
  }

  /** Every pool address once, starting at `from` (or the next pool address after it) and wrapping. */
  private *ring(from: number): Generator<number> {
    const ranges = this.plan.ranges;
    for (const r of ranges) for (let ip = Math.max(r.start, from); ip <= r.end; ip++) yield ip;
    for (const r of ranges) for (let ip = r.start; ip <= Math.min(r.end, from - 1); ip++) yield ip;
  }
}
