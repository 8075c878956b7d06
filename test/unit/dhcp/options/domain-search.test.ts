// Option 119 (RFC 3397): compression checked against the RFC's own example.
import { describe, expect, it } from 'vitest';
import { domainSearch } from '../../../../dhcp/options/domain-search.js';

const label = (s: string) => [s.length, ...Buffer.from(s)];

describe('option 119 domain search list', () => {
  it('encodes the RFC 3397 section 2 example byte for byte (eng.apple.com, marketing.apple.com)', () => {
    const expected = [...label('eng'), ...label('apple'), ...label('com'), 0, ...label('marketing'), 0xc0, 0x04];
    const b = domainSearch.encode(['eng.apple.com', 'marketing.apple.com']);
    expect([...b]).toEqual(expected);
    expect(domainSearch.decode(b)).toEqual(['eng.apple.com', 'marketing.apple.com']);
  });

  it('reuses a whole earlier name and ignores a trailing dot; compares case-insensitively', () => {
    const b = domainSearch.encode(['example.org.', 'a.EXAMPLE.org']);
    expect([...b]).toEqual([...label('example'), ...label('org'), 0, ...label('a'), 0xc0, 0x00]);
    expect(domainSearch.decode(b)).toEqual(['example.org', 'a.example.org']);
  });

  it('decodes names without compression and a chain of pointers', () => {
    const plain = Buffer.from([...label('x'), 0, ...label('y'), ...label('x'), 0]);
    expect(domainSearch.decode(plain)).toEqual(['x', 'y.x']);
    const chain = Buffer.from([...label('b'), ...label('c'), 0, ...label('a'), 0xc0, 0x00]);
    expect(domainSearch.decode(chain)).toEqual(['b.c', 'a.b.c']);
  });

  it('refuses loops, forward pointers, truncation and bad labels', () => {
    expect(() => domainSearch.decode(Buffer.from([0xc0, 0x00]))).toThrow(/does not point backwards/);
    expect(() => domainSearch.decode(Buffer.from([1, 0x61, 0xc0, 0x05]))).toThrow(/does not point backwards/);
    expect(() => domainSearch.decode(Buffer.from([5, 0x61]))).toThrow(/runs past the end/);
    expect(() => domainSearch.decode(Buffer.from([1, 0x61]))).toThrow(/runs past the end/);
    expect(() => domainSearch.decode(Buffer.from([0x40, 0]))).toThrow(/not supported/);
    expect(() => domainSearch.encode(['a..b'])).toThrow(/empty label/);
    expect(() => domainSearch.encode(['x'.repeat(64) + '.com'])).toThrow(/longer than 63/);
    expect(() => domainSearch.encode([])).toThrow(/empty search list/);
  });

  it('a long list exceeds 255 bytes (the packet codec splits it) and still round-trips', () => {
    const names = Array.from({ length: 40 }, (_, i) => `zone${i}.svc${i}.example.internal`);
    const b = domainSearch.encode(names);
    expect(b.length).toBeGreaterThan(255);
    expect(domainSearch.decode(b)).toEqual(names);
  });
});
