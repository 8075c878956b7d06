// Address sets of the firewall: addresses and CIDRs merged into disjoint spans (interval sets
// refuse overlaps), the same input always giving the same elements.
import { describe, expect, it } from 'vitest';
import { addressElements, mergedSpans, raw128Elements } from '../../../agent/firewall/address-set.js';

const spans = (texts: string[]): Array<[bigint, bigint]> => mergedSpans(texts).map((s) => [s.first, s.last]);
const v4 = (t: string): bigint => t.split('.').reduce((acc, o) => acc * 256n + BigInt(o), 0n);

describe('mergedSpans', () => {
  it('keeps disjoint addresses apart, sorted', () => {
    expect(spans(['10.0.0.9', '10.0.0.1'])).toEqual([[v4('10.0.0.1'), v4('10.0.0.1')], [v4('10.0.0.9'), v4('10.0.0.9')]]);
  });
  it('merges an address inside a CIDR into the CIDR (containment)', () => {
    expect(spans(['10.0.0.0/24', '10.0.0.7'])).toEqual([[v4('10.0.0.0'), v4('10.0.0.255')]]);
    expect(spans(['10.0.0.7', '10.0.0.0/24'])).toEqual([[v4('10.0.0.0'), v4('10.0.0.255')]]);
  });
  it('merges overlapping CIDRs and keeps the wider end', () => {
    expect(spans(['10.0.0.0/25', '10.0.0.0/24', '10.0.0.64/26'])).toEqual([[v4('10.0.0.0'), v4('10.0.0.255')]]);
  });
  it('merges adjacent addresses and ranges (touching ends)', () => {
    expect(spans(['10.0.0.1', '10.0.0.2', '10.0.0.3'])).toEqual([[v4('10.0.0.1'), v4('10.0.0.3')]]);
    expect(spans(['10.0.0.0/25', '10.0.0.128/25'])).toEqual([[v4('10.0.0.0'), v4('10.0.0.255')]]);
    expect(spans(['10.0.0.255', '10.0.1.0/24'])).toEqual([[v4('10.0.0.255'), v4('10.0.1.255')]]);
  });
  it('does not merge across a one-address gap', () => {
    expect(spans(['10.0.0.1', '10.0.0.3'])).toHaveLength(2);
  });
  it('drops what does not parse, keeps duplicates as one', () => {
    expect(spans(['nonsense', '10.0.0.1', '10.0.0.1', '10.0.0.0/33'])).toEqual([[v4('10.0.0.1'), v4('10.0.0.1')]]);
  });
  it('IPv6: containment and adjacency', () => {
    expect(mergedSpans(['2001:db8::/64', '2001:db8::5'])).toHaveLength(1);
    expect(mergedSpans(['2001:db8::1', '2001:db8::2'])).toHaveLength(1);
    expect(mergedSpans(['2001:db8::1', 'fe80::1'])).toHaveLength(2);
  });
  it('gives the same spans whatever the order of the input', () => {
    const a = ['10.0.0.5', '10.0.0.0/30', '10.0.0.4', '192.168.1.0/24', '192.168.1.9'];
    expect(spans([...a].reverse())).toEqual(spans(a));
  });
});

describe('addressElements', () => {
  it('single addresses as text, spans as ranges', () => {
    expect(addressElements(4, ['10.0.0.9', '10.0.0.0/30', '10.0.0.4'])).toEqual([
      { range: ['10.0.0.0', '10.0.0.4'] }, '10.0.0.9',
    ]);
  });
  it('a /0 covers every address of the family', () => {
    expect(addressElements(4, ['0.0.0.0/0', '10.0.0.1'])).toEqual([{ range: ['0.0.0.0', '255.255.255.255'] }]);
  });
  it('IPv6 addresses in canonical text', () => {
    expect(addressElements(6, ['2001:DB8::1', 'fe80::1'])).toEqual(['2001:db8::1', 'fe80::1']);
    expect(addressElements(6, ['2001:db8::/127'])).toEqual([{ range: ['2001:db8::', '2001:db8::1'] }]);
  });
  it('nothing for nothing', () => {
    expect(addressElements(4, [])).toEqual([]);
  });
});

describe('raw128Elements', () => {
  it('IPv6 addresses as 128-bit hex, ranges as hex ranges', () => {
    expect(raw128Elements(['::1'])).toEqual([`0x${'0'.repeat(31)}1`]);
    expect(raw128Elements(['::2', '::3'])).toEqual([{ range: [`0x${'0'.repeat(31)}2`, `0x${'0'.repeat(31)}3`] }]);
  });
});
