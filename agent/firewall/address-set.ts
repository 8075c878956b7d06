// Addresses and CIDRs as nft set elements. Interval sets refuse overlapping elements (a
// workload's address inside its own address-pair CIDR, two members of a group sharing a
// VIP), so the addresses are merged into disjoint ranges first; the same addresses always
// give the same elements, which lets two rulesets be compared element by element.
import { ipFromValue, parseCidr, parseIp, type Family } from '../../dataplane/ip.js';
import { range, type NftExpr } from '../../dataplane/nftables/json.js';

interface Span {
  first: bigint;
  last: bigint;
}

function spanOf(text: string): Span | null {
  if (text.includes('/')) {
    const c = parseCidr(text);
    return c ? { first: c.first, last: c.last } : null;
  }
  const ip = parseIp(text);
  return ip ? { first: ip.value, last: ip.value } : null;
}

/** Disjoint, sorted spans covering the addresses (overlapping and touching ones merged). */
export function mergedSpans(texts: readonly string[]): Span[] {
  const spans = texts.map(spanOf).filter((s): s is Span => s !== null).sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: Span[] = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (last && s.first <= last.last + 1n) {
      if (s.last > last.last) last.last = s.last;
    } else out.push({ ...s });
  }
  return out;
}

/** Elements of an address set of `family` (single addresses or ranges). */
export function addressElements(family: Family, texts: readonly string[]): NftExpr[] {
  return mergedSpans(texts).map((s) => (s.first === s.last ? ipFromValue(family, s.first) : range(ipFromValue(family, s.first), ipFromValue(family, s.last))));
}

/** IPv6 addresses as the 128-bit integers a raw payload match compares with. */
export function raw128Elements(texts: readonly string[]): NftExpr[] {
  const hex = (v: bigint): string => `0x${v.toString(16).padStart(32, '0')}`;
  return mergedSpans(texts).map((s) => (s.first === s.last ? hex(s.first) : range(hex(s.first), hex(s.last))));
}
