import { describe, expect, it } from 'vitest';
import { renewalTime } from '../../../../dhcp/options/renewal-time.js';

describe('option 58 renewal-time', () => {
  it('has code 58', () => expect(renewalTime.code).toBe(58));
  it('is a 32-bit big-endian number of seconds, up to infinite (0xffffffff)', () => {
    expect(renewalTime.encode(3600).toString('hex')).toBe('00000e10');
    expect(renewalTime.decode(Buffer.from('ffffffff', 'hex'))).toBe(0xffffffff);
    expect(renewalTime.decode(renewalTime.encode(0))).toBe(0);
  });
  it('refuses negative, fractional, too large values and wrong lengths', () => {
    expect(() => renewalTime.encode(-1)).toThrow(/not a 32-bit/);
    expect(() => renewalTime.encode(1.5)).toThrow(/not a 32-bit/);
    expect(() => renewalTime.encode(2 ** 32)).toThrow(/not a 32-bit/);
    expect(() => renewalTime.decode(Buffer.alloc(2))).toThrow(/length 2/);
  });
});
