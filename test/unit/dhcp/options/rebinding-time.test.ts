import { describe, expect, it } from 'vitest';
import { rebindingTime } from '../../../../dhcp/options/rebinding-time.js';

describe('option 59 rebinding-time', () => {
  it('has code 59', () => expect(rebindingTime.code).toBe(59));
  it('is a 32-bit big-endian number of seconds, up to infinite (0xffffffff)', () => {
    expect(rebindingTime.encode(3600).toString('hex')).toBe('00000e10');
    expect(rebindingTime.decode(Buffer.from('ffffffff', 'hex'))).toBe(0xffffffff);
    expect(rebindingTime.decode(rebindingTime.encode(0))).toBe(0);
  });
  it('refuses negative, fractional, too large values and wrong lengths', () => {
    expect(() => rebindingTime.encode(-1)).toThrow(/not a 32-bit/);
    expect(() => rebindingTime.encode(1.5)).toThrow(/not a 32-bit/);
    expect(() => rebindingTime.encode(2 ** 32)).toThrow(/not a 32-bit/);
    expect(() => rebindingTime.decode(Buffer.alloc(2))).toThrow(/length 2/);
  });
});
