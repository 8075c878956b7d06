import { describe, expect, it } from 'vitest';
import { cidrContains, intToIp, ipToInt, parseCidr, prefixToMask, tryIpToInt } from '../../../dataplane/ip4.js';

describe('IPv4 arithmetic', () => {
  it('parses and prints dotted quads as unsigned numbers', () => {
    expect(ipToInt('255.255.255.255')).toBe(0xffffffff);
    expect(intToIp(ipToInt('192.168.10.1'))).toBe('192.168.10.1');
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.0.0.0', '01.2.3.4', '1.2.3.x', '', ' 1.2.3.4']) expect(tryIpToInt(bad), bad).toBeUndefined();
    expect(() => ipToInt('1.2.3')).toThrow(/parse IPv4 address "1.2.3"/);
  });
  it('masks and CIDRs, host bits cleared', () => {
    expect(prefixToMask(0)).toBe(0);
    expect(prefixToMask(32)).toBe(0xffffffff);
    expect(intToIp(prefixToMask(23))).toBe('255.255.254.0');
    const c = parseCidr('10.1.2.3/24');
    expect([intToIp(c.network), intToIp(c.broadcast), c.prefix]).toEqual(['10.1.2.0', '10.1.2.255', 24]);
    expect(cidrContains(c, ipToInt('10.1.2.200'))).toBe(true);
    expect(cidrContains(c, ipToInt('10.1.3.0'))).toBe(false);
    expect(parseCidr('0.0.0.0/0').broadcast).toBe(0xffffffff);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/parse CIDR/);
    expect(() => parseCidr('10.0.0.0')).toThrow(/no "\/prefix"/);
  });
});
