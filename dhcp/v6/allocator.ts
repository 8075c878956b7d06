// Chooses IPv6 addresses from one network's pools, as bigints: a pool may be a whole /64, so
// nothing here walks a pool end to end unless it is (nearly) all in use, which only a small
// pool can be. Whether an address is in use is asked of the caller (who sees leases and
// advertised addresses). Fresh addresses (never leased) go first, lowest first, so a client
// coming back tends to find its old address still free.
import type { AddressPlan6, Reservation6 } from './address-plan.js';

export type Occupancy6 = 'fresh' | 'reusable' | 'taken';

/** Who asks: the reservation check needs the DUID and (from a DUID-LL/LLT) the MAC. */
export interface Client6 {
  duid: string;
  mac?: string;
}

export class Allocator6 {
  /** Every pool address below this one was seen non-fresh; reset whenever that may change. */
  private freshHint = 0n;

  constructor(readonly plan: AddressPlan6) {}

  /** The reservation that is this client's, if any (by DUID first, then by MAC). */
  reservationOf(client: Client6): Reservation6 | undefined {
    return this.plan.reservationByDuid.get(client.duid) ?? (client.mac ? this.plan.reservationByMac.get(client.mac) : undefined);
  }

  /** Whether `ip` may be this client's at all (ignoring who holds it). */
  permits(ip: bigint, client: Client6): boolean {
    const p = this.plan;
    if (p.ranges.length === 0) return false; // not stateful
    if (ip < p.prefix.first || ip > p.prefix.last) return false;
    const res = p.reservationByIp.get(ip);
    if (res) return (res.duid !== undefined && res.duid === client.duid) || (res.mac !== undefined && res.mac === client.mac);
    return this.inPool(ip);
  }

  inPool(ip: bigint): boolean {
    for (const r of this.plan.ranges) if (ip >= r.start && ip <= r.end) return true;
    return false;
  }

  /** The lowest fresh pool address, else the lowest reusable one, else undefined. */
  pick(occupancy: (ip: bigint) => Occupancy6): bigint | undefined {
    const p = this.plan;
    let reusable: bigint | undefined;
    for (const r of p.ranges) {
      if (r.end < this.freshHint) continue;
      for (let ip = r.start > this.freshHint ? r.start : this.freshHint; ip <= r.end; ip++) {
        if (p.reservationByIp.has(ip)) continue;
        const o = occupancy(ip);
        if (o === 'fresh') {
          this.freshHint = ip;
          return ip;
        }
        if (o === 'reusable') reusable ??= ip;
      }
    }
    // Nothing fresh above the hint: the pools are small and nearly used up; look below it too.
    for (const r of p.ranges) {
      for (let ip = r.start; ip <= r.end && ip < this.freshHint; ip++) {
        if (p.reservationByIp.has(ip)) continue;
        const o = occupancy(ip);
        if (o === 'fresh') return ip;
        if (o === 'reusable') reusable ??= ip;
      }
    }
    return reusable;
  }

  /**
   * Call when an address may have become fresh again (an advertisement lapsed, a lease
   * released): the next search starts no later than it. Without one (a new plan): from the start.
   */
  forgetHint(freed?: bigint): void {
    if (freed === undefined) this.freshHint = 0n;
    else if (freed < this.freshHint) this.freshHint = freed;
  }
}
