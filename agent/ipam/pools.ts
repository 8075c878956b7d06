// The addresses a host hands out on one subnet (by DHCP and as auto addresses): the subnet's
// pools, or every host address of its CIDR, and on a network that spans hosts only this host's
// slice of them. The control plane pushes the same network to every host and a different
// node.poolSlice index to each: the slices are disjoint, so no two hosts hand out one address.
import { ipFromValue, parseIp, type Cidr } from '../../dataplane/ip.js';
import type { Network, NodeSettings, PoolSlice } from '../api/gen/hostnet/v1/resources.js';
import type { Subnet } from '../desired/subnets.js';
import type { AddressRange } from './allocator.js';

/** A network spans hosts when it has an uplink: its segment reaches beyond this host's bridge. */
export function spansHosts(n: Network): boolean {
  const k = n.uplink?.kind?.$case;
  return k !== undefined && k !== 'none';
}

/** This host's slice of the network's pools, or undefined: all of them (a network of this host only). */
export function poolSliceOf(n: Network, node: NodeSettings | undefined): PoolSlice | undefined {
  return spansHosts(n) && node?.poolSlice && node.poolSlice.count > 0 ? node.poolSlice : undefined;
}

/** The subnet's pools (clipped to its host addresses), or all its host addresses; sorted. */
export function poolRanges(subnet: Subnet, cidr: Cidr): AddressRange[] {
  const hostsOnly = cidr.family === 4 ? cidr.prefix < 31 : cidr.prefix < 127;
  const first = hostsOnly ? cidr.first + 1n : cidr.first;
  const last = cidr.family === 4 && hostsOnly ? cidr.last - 1n : cidr.last;
  const pools = subnet.dhcp?.pools ?? [];
  if (pools.length === 0) return first <= last ? [{ start: first, end: last }] : [];
  const out: AddressRange[] = [];
  for (const p of pools) {
    const s = parseIp(p.start);
    const e = parseIp(p.end);
    if (!s || !e || s.family !== cidr.family || e.family !== cidr.family) continue;
    const start = s.value > first ? s.value : first;
    const end = e.value < last ? e.value : last;
    if (start <= end) out.push({ start, end });
  }
  return out.sort((x, y) => (x.start < y.start ? -1 : 1));
}

/**
 * Slice `index` of `count` equal, contiguous parts of the ranges (counted in addresses; the
 * last part takes the remainder). Empty when the ranges hold fewer addresses than parts.
 */
export function sliceRanges(ranges: readonly AddressRange[], slice: PoolSlice): AddressRange[] {
  const total = ranges.reduce((sum, r) => sum + (r.end - r.start + 1n), 0n);
  const count = BigInt(slice.count);
  const index = BigInt(slice.index);
  const size = total / count;
  if (size === 0n || index >= count) return [];
  const from = index * size;
  const to = index === count - 1n ? total - 1n : from + size - 1n;
  const out: AddressRange[] = [];
  let offset = 0n;
  for (const r of ranges) {
    const len = r.end - r.start + 1n;
    const lo = from > offset ? from - offset : 0n;
    const hi = to - offset < len - 1n ? to - offset : len - 1n;
    if (lo <= hi && hi >= 0n) out.push({ start: r.start + lo, end: r.start + hi });
    offset += len;
    if (offset > to) break;
  }
  return out;
}

/** What this host hands out on the subnet: its slice of the pools when it has one. */
export function servedRanges(subnet: Subnet, cidr: Cidr, slice: PoolSlice | undefined): AddressRange[] {
  const ranges = poolRanges(subnet, cidr);
  return slice ? sliceRanges(ranges, slice) : ranges;
}

/** The same, as DHCP pools of address texts. */
export function servedPools(subnet: Subnet, cidr: Cidr, slice: PoolSlice): Array<{ start: string; end: string }> {
  return servedRanges(subnet, cidr, slice).map((r) => ({ start: ipFromValue(cidr.family, r.start), end: ipFromValue(cidr.family, r.end) }));
}
