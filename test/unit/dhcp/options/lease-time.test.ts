import { describe, expect, it } from 'vitest';
import { leaseTime } from '../../../../dhcp/options/lease-time.js';

describe('option 51 lease-time', () => {
  it('has code 51', () => expect(leaseTime.code).toBe(51));
  it('is a 32-bit big-endian number of seconds, up to infinite (0xffffffff)', () => {
    expect(leaseTime.encode(3600).toString('hex')).toBe('00000e10');
    expect(leaseTime.decode(Buffer.from('ffffffff', 'hex'))).toBe(0xffffffff);
    expect(leaseTime.decode(leaseTime.encode(0))).toBe(0);
  });
  it('refuses negative, fractional, too large values and wrong lengths', () => {
    expect(() => leaseTime.encode(-1)).toThrow(/not a 32-bit/);
    expect(() => leaseTime.encode(1.5)).toThrow(/not a 32-bit/);
    expect(() => leaseTime.encode(2 ** 32)).toThrow(/not a 32-bit/);
    expect(() => leaseTime.decode(Buffer.alloc(2))).toThrow(/length 2/);
  });
});
