import { describe, expect, it } from 'vitest';
import { subnetMask } from '../../../../dhcp/options/subnet-mask.js';

describe('option 1 subnet mask', () => {
  it.each(['255.255.255.0', '255.255.255.255', '0.0.0.0', '255.255.254.0'])('round-trips %s', (m) => {
    expect(subnetMask.decode(subnetMask.encode(m))).toBe(m);
  });
  it('encodes 4 bytes', () => expect(subnetMask.encode('255.255.255.0').toString('hex')).toBe('ffffff00'));
  it('refuses non-contiguous masks and wrong lengths', () => {
    expect(() => subnetMask.encode('255.0.255.0')).toThrow(/contiguous/);
    expect(() => subnetMask.decode(Buffer.from([255, 0, 255, 0]))).toThrow(/contiguous/);
    expect(() => subnetMask.decode(Buffer.from([255, 255, 255]))).toThrow(/length 3/);
  });
});
