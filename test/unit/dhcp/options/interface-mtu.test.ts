import { describe, expect, it } from 'vitest';
import { interfaceMtu } from '../../../../dhcp/options/interface-mtu.js';

describe('option 26 interface MTU', () => {
  it('is 16 bits big-endian', () => {
    expect(interfaceMtu.encode(1450).toString('hex')).toBe('05aa');
    expect(interfaceMtu.decode(Buffer.from([0x23, 0x28]))).toBe(9000);
  });
  it('accepts 68 (the minimum) and refuses less or more than 16 bits', () => {
    expect(interfaceMtu.decode(interfaceMtu.encode(68))).toBe(68);
    expect(() => interfaceMtu.encode(67)).toThrow(/68\.\.65535/);
    expect(() => interfaceMtu.encode(70000)).toThrow(/68\.\.65535/);
    expect(() => interfaceMtu.decode(Buffer.from([0, 10]))).toThrow(/below the minimum 68/);
    expect(() => interfaceMtu.decode(Buffer.from([5]))).toThrow(/length 1/);
  });
});
