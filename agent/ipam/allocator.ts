// Choosing auto addresses, pure: no files, no leases of its own. Given one network's pools,
// what is never handed out, every static address and reservation, the choices made earlier
// and who holds a DHCP lease, it keeps every earlier choice that is still possible and
// chooses the missing ones. A new choice starts at a hash of the attachment's name (and slot),
// so it does not depend on the order attachments arrive in, and probes from there; an earlier
// choice is never moved to make room for someone else (an address a workload uses stays its).
import { createHash } from 'node:crypto';
import { ipFromValue, type Family } from '../../dataplane/ip.js';

export interface AddressRange {
  start: bigint;
  end: bigint;
}

export interface PoolSpace {
  family: Family;
  /** Sorted, non-overlapping, inside the CIDR. */
  ranges: readonly AddressRange[];
  /** Never chosen: gateway, DHCP server, network and broadcast, explicit reservations, every static address. */
  taken: ReadonlySet<bigint>;
}

export interface AutoRequest {
  attachment: string;
  mac: string;
  /** How many auto addresses it asks for. */
  slots: number;
  /** Its earlier choices, slot by slot (may be shorter than `slots`). */
  previous: readonly bigint[];
}

export interface AutoChoice {
  attachment: string;
  /** One per slot that could be served, in slot order; shorter than asked when the pools ran out. */
  addresses: bigint[];
  /** Slots that could not be served (the pools are full). */
  missing: number;
}

/** How many candidates one slot may probe before the pools count as full (large IPv6 pools). */
const PROBE_LIMIT = 1 << 20;

export function poolSize(ranges: readonly AddressRange[]): bigint {
  return ranges.reduce((s, r) => s + (r.end - r.start + 1n), 0n);
}

function nth(ranges: readonly AddressRange[], k: bigint): bigint {
  for (const r of ranges) {
    const size = r.end - r.start + 1n;
    if (k < size) return r.start + k;
    k -= size;
  }
  throw new Error(`address index ${k} is outside the pools`);
}

function inRanges(ranges: readonly AddressRange[], ip: bigint): boolean {
  return ranges.some((r) => ip >= r.start && ip <= r.end);
}

/** Where slot `slot` of `attachment` starts probing: the same on every pass, restart and node. */
function startOf(attachment: string, slot: number, size: bigint): bigint {
  const key = slot === 0 ? `hostnet:auto-ip:${attachment}` : `hostnet:auto-ip:${attachment}#${slot}`;
  return BigInt(`0x${createHash('sha256').update(key).digest('hex').slice(0, 24)}`) % size;
}

/**
 * Auto addresses for every request of one network. `leases` maps an address DHCP has handed
 * out (bound or offered) to the MAC holding it: never chosen for anyone else. `heldBy` maps a
 * MAC to the address its lease holds: an attachment without an earlier choice gets that one
 * first (a guest keeps the address it already uses).
 */
export function chooseAutoAddresses(
  space: PoolSpace,
  requests: readonly AutoRequest[],
  leases: ReadonlyMap<bigint, string>,
  heldBy: ReadonlyMap<string, bigint>,
): AutoChoice[] {
  const taken = new Set<bigint>(space.taken);
  const usable = (ip: bigint): boolean => inRanges(space.ranges, ip) && !taken.has(ip);
  // Sorted by name: two new attachments probing for one address resolve the same way everywhere.
  const ordered = [...requests].sort((x, y) => (x.attachment < y.attachment ? -1 : x.attachment > y.attachment ? 1 : 0));
  const slots = new Map<string, Array<bigint | null>>();
  // Earlier choices first, all of them, so no new choice can take one.
  for (const r of ordered) {
    const got: Array<bigint | null> = [];
    for (let i = 0; i < r.slots; i++) {
      const prev = r.previous[i];
      if (prev !== undefined && usable(prev)) {
        got.push(prev);
        taken.add(prev);
      } else got.push(null);
    }
    slots.set(r.attachment, got);
  }
  // Then a lease the attachment's MAC already holds, for its first open slot.
  for (const r of ordered) {
    const got = slots.get(r.attachment)!;
    const open = got.indexOf(null);
    const held = heldBy.get(r.mac);
    if (open < 0 || held === undefined || !usable(held)) continue;
    got[open] = held;
    taken.add(held);
  }
  const size = poolSize(space.ranges);
  for (const r of ordered) {
    const got = slots.get(r.attachment)!;
    for (let i = 0; i < got.length; i++) {
      if (got[i] !== null || size === 0n) continue;
      const start = startOf(r.attachment, i, size);
      const limit = size < BigInt(PROBE_LIMIT) ? size : BigInt(PROBE_LIMIT);
      for (let k = 0n; k < limit; k++) {
        const ip = nth(space.ranges, (start + k) % size);
        const lessee = leases.get(ip);
        if (taken.has(ip) || (lessee !== undefined && lessee !== r.mac)) continue;
        got[i] = ip;
        taken.add(ip);
        break;
      }
    }
  }
  return ordered.map((r) => {
    const got = slots.get(r.attachment)!;
    const addresses = got.filter((x): x is bigint => x !== null);
    return { attachment: r.attachment, addresses, missing: got.length - addresses.length };
  });
}

export function addressText(family: Family, value: bigint): string {
  return ipFromValue(family, value);
}
