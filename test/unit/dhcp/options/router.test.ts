import { describe, expect, it } from 'vitest';
import { router } from '../../../../dhcp/options/router.js';

describe('option 3 router', () => {
  it('has code 3', () => expect(router.code).toBe(3));
  it('encodes a list of addresses, 4 bytes each, in order', () => {
    const b = router.encode(['10.0.0.1', '192.168.1.254']);
    expect(b.toString('hex')).toBe('0a000001c0a801fe');
    expect(router.decode(b)).toEqual(['10.0.0.1', '192.168.1.254']);
  });
  it('refuses empty lists, bad addresses and lengths not a multiple of 4', () => {
    expect(() => router.encode([])).toThrow(/empty/);
    expect(() => router.encode(['10.0.0.256'])).toThrow(/not an IPv4 address/);
    expect(() => router.decode(Buffer.alloc(0))).toThrow(/length 0/);
    expect(() => router.decode(Buffer.alloc(6))).toThrow(/length 6/);
  });
});
