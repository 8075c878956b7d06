// Option 24 (RFC 3646): the search list as uncompressed DNS names; text that round-trips.
import { describe, expect, it } from 'vitest';
import { domainSearch, Option6Error } from '../../../dhcp/v6/options/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('DHCPv6 domain search list', () => {
  it('encodes names label by label, each ending in a zero byte (a trailing dot is the same name)', () => {
    const wire = '027636076578616d706c6500076578616d706c65036f726700';
    expect(domainSearch.encode(['v6.example', 'example.org.']).toString('hex')).toBe(wire);
    expect(domainSearch.decode(hex(wire))).toEqual(['v6.example', 'example.org']);
    expect(domainSearch.decode(hex('0141014200'))).toEqual(['A.B']);
  });

  it('takes names up to 255 bytes on the wire and labels up to 63', () => {
    const label63 = 'a'.repeat(63);
    const longest = [label63, label63, label63, 'a'.repeat(61)].join('.'); // 64*3 + 62 + 1 = 255
    expect(domainSearch.decode(domainSearch.encode([longest]))).toEqual([longest]);
    expect(() => domainSearch.encode([`${longest}a`])).toThrow(/256 bytes on the wire, more than 255/);
    expect(() => domainSearch.encode(['a'.repeat(64)])).toThrow(/longer than 63 bytes/);
  });

  it('refuses what is not an uncompressed list of names, as bad-name', () => {
    const bad: [string, RegExp][] = [
      ['', /empty search list/],
      ['00', /empty name \(the root\) at offset 0/],
      ['0276', /label at offset 0 \(length 2\) runs past the end/],
      ['02763600c000', /compression pointer at offset 4/],
      ['0276360765', /label at offset 3 \(length 7\) runs past the end/],
      ['02763607', /label at offset 3 \(length 7\) runs past the end/],
      ['027636', /name at offset 0 has no terminating zero byte/],
      ['4100', /label length 65 at offset 0 is over 63/],
      ['03612e6200', /not printable ASCII without dots/],
      ['02612000', /not printable ASCII/],
      ['0161', /name at offset 0 has no terminating zero byte/],
    ];
    for (const [wire, text] of bad) {
      let err: unknown;
      try {
        domainSearch.decode(hex(wire));
      } catch (e) {
        err = e;
      }
      expect(err, wire).toBeInstanceOf(Option6Error);
      expect((err as Option6Error).reason, wire).toBe('bad-name');
      expect((err as Option6Error).message, wire).toMatch(/^decode DHCPv6 option 24 \(domain-search\): /);
      expect((err as Option6Error).message, wire).toMatch(text);
    }
    expect(() => domainSearch.encode([])).toThrow(/empty search list/);
    expect(() => domainSearch.encode(['a..b'])).toThrow(/empty label/);
    expect(() => domainSearch.encode(['bücher.example'])).toThrow(/not printable ASCII/);
    expect(() => domainSearch.encode(['a b.example'])).toThrow(/not printable ASCII/);
  });
});
