import { describe, expect, it } from 'vitest';
import { requestedIp } from '../../../../dhcp/options/requested-ip.js';

describe('option 50 requested-ip', () => {
  it('has code 50', () => expect(requestedIp.code).toBe(50));
  it('round-trips one address as 4 bytes', () => {
    expect(requestedIp.encode('192.168.10.255').toString('hex')).toBe('c0a80aff');
    expect(requestedIp.decode(Buffer.from([10, 0, 0, 1]))).toBe('10.0.0.1');
  });
  it('refuses other lengths and bad addresses', () => {
    expect(() => requestedIp.decode(Buffer.alloc(8))).toThrow(/length 8, expected 4/);
    expect(() => requestedIp.decode(Buffer.alloc(0))).toThrow(/length 0/);
    expect(() => requestedIp.encode('1.2.3')).toThrow(/not an IPv4 address/);
  });
});
