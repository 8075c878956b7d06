import { describe, expect, it } from 'vitest';
import { broadcastAddress } from '../../../../dhcp/options/broadcast-address.js';

describe('option 28 broadcast-address', () => {
  it('has code 28', () => expect(broadcastAddress.code).toBe(28));
  it('round-trips one address as 4 bytes', () => {
    expect(broadcastAddress.encode('192.168.10.255').toString('hex')).toBe('c0a80aff');
    expect(broadcastAddress.decode(Buffer.from([10, 0, 0, 1]))).toBe('10.0.0.1');
  });
  it('refuses other lengths and bad addresses', () => {
    expect(() => broadcastAddress.decode(Buffer.alloc(8))).toThrow(/length 8, expected 4/);
    expect(() => broadcastAddress.decode(Buffer.alloc(0))).toThrow(/length 0/);
    expect(() => broadcastAddress.encode('1.2.3')).toThrow(/not an IPv4 address/);
  });
});
