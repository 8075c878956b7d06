import { describe, expect, it } from 'vitest';
import { optionOverload } from '../../../../dhcp/options/option-overload.js';

describe('option 52 option overload', () => {
  it.each([1, 2, 3])('round-trips %i', (v) => expect(optionOverload.decode(optionOverload.encode(v))).toBe(v));
  it('refuses other values and lengths', () => {
    expect(() => optionOverload.decode(Buffer.from([0]))).toThrow(/one byte 1\.\.3/);
    expect(() => optionOverload.decode(Buffer.from([4]))).toThrow(/one byte 1\.\.3/);
    expect(() => optionOverload.decode(Buffer.from([1, 1]))).toThrow(/one byte 1\.\.3/);
    expect(() => optionOverload.encode(0)).toThrow(/not 1, 2 or 3/);
  });
});
