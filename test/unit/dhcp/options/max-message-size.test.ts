import { describe, expect, it } from 'vitest';
import { maxMessageSize } from '../../../../dhcp/options/max-message-size.js';

describe('option 57 maximum message size', () => {
  it('is 16 bits big-endian, at least 576', () => {
    expect(maxMessageSize.encode(1500).toString('hex')).toBe('05dc');
    expect(maxMessageSize.decode(Buffer.from([0x02, 0x40]))).toBe(576);
  });
  it('refuses values under 576 and wrong lengths', () => {
    expect(() => maxMessageSize.decode(Buffer.from([0x02, 0x3f]))).toThrow(/below the minimum 576/);
    expect(() => maxMessageSize.encode(100)).toThrow(/576\.\.65535/);
    expect(() => maxMessageSize.decode(Buffer.from([1, 2, 3]))).toThrow(/length 3/);
  });
});
