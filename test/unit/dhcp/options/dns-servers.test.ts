import { describe, expect, it } from 'vitest';
import { dnsServers } from '../../../../dhcp/options/dns-servers.js';

describe('option 6 dns-servers', () => {
  it('has code 6', () => expect(dnsServers.code).toBe(6));
  it('encodes a list of addresses, 4 bytes each, in order', () => {
    const b = dnsServers.encode(['10.0.0.1', '192.168.1.254']);
    expect(b.toString('hex')).toBe('0a000001c0a801fe');
    expect(dnsServers.decode(b)).toEqual(['10.0.0.1', '192.168.1.254']);
  });
  it('refuses empty lists, bad addresses and lengths not a multiple of 4', () => {
    expect(() => dnsServers.encode([])).toThrow(/empty/);
    expect(() => dnsServers.encode(['10.0.0.256'])).toThrow(/not an IPv4 address/);
    expect(() => dnsServers.decode(Buffer.alloc(0))).toThrow(/length 0/);
    expect(() => dnsServers.decode(Buffer.alloc(6))).toThrow(/length 6/);
  });
});
