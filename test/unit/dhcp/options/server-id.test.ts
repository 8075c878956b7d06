import { describe, expect, it } from 'vitest';
import { serverId } from '../../../../dhcp/options/server-id.js';

describe('option 54 server-id', () => {
  it('has code 54', () => expect(serverId.code).toBe(54));
  it('round-trips one address as 4 bytes', () => {
    expect(serverId.encode('192.168.10.255').toString('hex')).toBe('c0a80aff');
    expect(serverId.decode(Buffer.from([10, 0, 0, 1]))).toBe('10.0.0.1');
  });
  it('refuses other lengths and bad addresses', () => {
    expect(() => serverId.decode(Buffer.alloc(8))).toThrow(/length 8, expected 4/);
    expect(() => serverId.decode(Buffer.alloc(0))).toThrow(/length 0/);
    expect(() => serverId.encode('1.2.3')).toThrow(/not an IPv4 address/);
  });
});
