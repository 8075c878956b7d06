// Conntrack zones by bridge: overlapping CIDRs apart, the rest in the default zone 0.
import { describe, expect, it } from 'vitest';
import { Network } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { bridgeZones } from '../../../agent/firewall/zones.js';

const net = (name: string, cidr: string): Network => Network.fromPartial({ name, cidr, ipFamily: cidr.includes(':') ? 6 : 4 });

describe('bridgeZones', () => {
  it('puts networks that do not overlap in the default zone', () => {
    expect([...bridgeZones([net('a', '10.0.0.0/24'), net('b', '10.0.1.0/24'), net('c', 'fd00::/64')]).values()]).toEqual([0, 0, 0]);
  });
  it('separates overlapping networks, lowest free zone first, in name order', () => {
    const z = bridgeZones([net('c', '10.0.0.0/16'), net('a', '10.0.0.0/24'), net('b', '10.0.0.0/24'), net('d', '10.1.0.0/24')]);
    expect(z.get('hn-a')).toBe(0);
    expect(z.get('hn-b')).toBe(1);
    expect(z.get('hn-c')).toBe(2); // overlaps a (zone 0) and b (zone 1)
    expect(z.get('hn-d')).toBe(0);
  });
  it('gives a network without a CIDR a zone of its own', () => {
    const z = bridgeZones([net('a', '10.0.0.0/24'), Network.fromPartial({ name: 'raw' }), Network.fromPartial({ name: 'raw2' })]);
    expect(new Set([z.get('hn-a'), z.get('hn-raw'), z.get('hn-raw2')]).size).toBe(3);
  });
});
