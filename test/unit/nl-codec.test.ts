// Decoding: what the codec reads back from bytes, checked against independent formatting.
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { bytesToIp, bytesToMac, ipToBytes, macToBytes } from '../../dataplane/nl/inet.js';

describe('inet formatting', () => {
  const v6 = ['::', '::1', '2001:db8::1', 'fe80::1:2:3:4', '2001:db8:0:0:1:0:0:1', '1:0:0:2:0:0:0:3', '1:2:3:4:5:6:7:8',
    'ff02::16', '2001:0:0:1::', '0:1::'];
  it.each(v6)('IPv6 %s prints as ipaddr.js prints it (RFC 5952)', (ip) => {
    expect(bytesToIp(ipToBytes(ip))).toBe(ipaddr.parse(ip).toString());
  });
  it('IPv4-mapped IPv6 prints with a dotted quad, as inet_ntop and iproute2 do', () => {
    expect(bytesToIp(ipToBytes('::ffff:192.0.2.1'))).toBe('::ffff:192.0.2.1');
  });
  it('IPv4 and offsets', () => {
    const b = Buffer.concat([Buffer.from([9, 9]), ipToBytes('192.0.2.254')]);
    expect(bytesToIp(b, 2, 4)).toBe('192.0.2.254');
  });
  it('MAC round trip', () => {
    expect(bytesToMac(macToBytes('02:0a:ff:00:10:01'))).toBe('02:0a:ff:00:10:01');
  });
});
