// Neighbor Discovery options of a Router Advertisement, one by one, against bytes built by
// scapy 2.5, plus what each refuses. Each comment names the expression that made the bytes, run as
// /usr/bin/python3 -c 'from scapy.all import *; print(EXPR.hex())'.
import { describe, expect, it } from 'vitest';
import { walkOptions } from '../../../dhcp/ra/options/codec.js';
import { dnssl } from '../../../dhcp/ra/options/dnssl.js';
import { mtuOption } from '../../../dhcp/ra/options/mtu.js';
import { prefixInformation } from '../../../dhcp/ra/options/prefix-information.js';
import { rdnss } from '../../../dhcp/ra/options/rdnss.js';
import { routeInformation } from '../../../dhcp/ra/options/route-information.js';
import { sourceLinkLayer } from '../../../dhcp/ra/options/source-link-layer.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('source link-layer address (RFC 4861 4.6.1)', () => {
  // raw(ICMPv6NDOptSrcLLAddr(lladdr="02:4e:00:00:00:01"))
  const bytes = '0101024e00000001';
  it('round-trips', () => {
    expect(sourceLinkLayer.encode('02:4e:00:00:00:01').toString('hex')).toBe(bytes);
    expect(sourceLinkLayer.decode(hex(bytes))).toBe('02:4e:00:00:00:01');
  });
  it('refuses a bad MAC', () => {
    expect(() => sourceLinkLayer.encode('02:4e:00:00:00')).toThrow(/not a MAC/);
  });
});

describe('MTU (RFC 4861 4.6.4)', () => {
  // raw(ICMPv6NDOptMTU(mtu=1400))
  it('round-trips', () => {
    expect(mtuOption.encode(1400).toString('hex')).toBe('0501000000000578');
    expect(mtuOption.decode(hex('0501000000000578'))).toBe(1400);
  });
  it('refuses an MTU below IPv6\'s minimum', () => {
    expect(() => mtuOption.encode(1279)).toThrow(/MTU 1279/);
  });
});

describe('prefix information (RFC 4861 4.6.2)', () => {
  // raw(ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, validlifetime=86400, preferredlifetime=14400, prefix="fd00:77::"))
  const la = '030440c0000151800000384000000000fd000077000000000000000000000000';
  // raw(ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=0, validlifetime=0xffffffff, preferredlifetime=0xffffffff, prefix="2001:db8:1:2::"))
  const lOnly = '03044080ffffffffffffffff0000000020010db8000100020000000000000000';
  it('L and A flags, lifetimes', () => {
    const v = { prefix: 'fd00:77::/64', onLink: true, autonomous: true, validLifetimeSec: 86400, preferredLifetimeSec: 14400 };
    expect(prefixInformation.encode(v).toString('hex')).toBe(la);
    expect(prefixInformation.decode(hex(la))).toEqual(v);
    const inf = { prefix: '2001:db8:1:2::/64', onLink: true, autonomous: false, validLifetimeSec: 0xffffffff, preferredLifetimeSec: 0xffffffff };
    expect(prefixInformation.encode(inf).toString('hex')).toBe(lOnly);
  });
  it('clears host bits; refuses IPv4, preferred > valid and bad lengths', () => {
    const v = { onLink: true, autonomous: true, validLifetimeSec: 10, preferredLifetimeSec: 5 };
    expect(prefixInformation.encode({ ...v, prefix: 'fd00:77::1/64' }).toString('hex')).toBe(prefixInformation.encode({ ...v, prefix: 'fd00:77::/64' }).toString('hex'));
    expect(() => prefixInformation.encode({ ...v, prefix: '10.0.0.0/24' })).toThrow(/not an IPv6 prefix/);
    expect(() => prefixInformation.encode({ ...v, prefix: 'fd00::/64', preferredLifetimeSec: 11 })).toThrow(/exceeds valid lifetime/);
    expect(() => prefixInformation.decode(hex(la.slice(0, 48)))).toThrow(/expected 32/);
  });
});

describe('route information (RFC 4191 2.3)', () => {
  it('length follows the prefix length: 1 for ::/0, 2 up to /64, 3 beyond', () => {
    // raw(ICMPv6NDOptRouteInfo(plen=0, prf=3, rtlifetime=600))
    expect(routeInformation.encode({ prefix: '::/0', preference: 'low', lifetimeSec: 600 }).toString('hex')).toBe('1801001800000258');
    // raw(ICMPv6NDOptRouteInfo(len=2, plen=48, prf=1, rtlifetime=1800, prefix="fd00:99::"))
    expect(routeInformation.encode({ prefix: 'fd00:99::/48', preference: 'high', lifetimeSec: 1800 }).toString('hex')).toBe('1802300800000708fd00009900000000');
    // raw(ICMPv6NDOptRouteInfo(plen=96, prf=0, rtlifetime=600, prefix="fd00:1:2:3:4:5::"))
    const long = '1803600000000258fd000001000200030004000500000000';
    expect(routeInformation.encode({ prefix: 'fd00:1:2:3:4:5::/96', preference: 'medium', lifetimeSec: 600 }).toString('hex')).toBe(long);
    expect(routeInformation.decode(hex(long))).toEqual({ prefix: 'fd00:1:2:3:4:5::/96', preference: 'medium', lifetimeSec: 600 });
  });
  it('decodes the 3-unit form scapy picks by default for /48', () => {
    // raw(ICMPv6NDOptRouteInfo(plen=48, prf=1, rtlifetime=1800, prefix="fd00:99::"))
    const b = hex('1803300800000708fd000099000000000000000000000000');
    expect(routeInformation.decode(b)).toEqual({ prefix: 'fd00:99::/48', preference: 'high', lifetimeSec: 1800 });
  });
  it('refuses the reserved preference and a length too short for the prefix', () => {
    expect(() => routeInformation.decode(hex('1802301000000708fd00009900000000'))).toThrow(/reserved preference/);
    expect(() => routeInformation.decode(hex('1801300800000708'))).toThrow(/does not fit prefix length 48/);
  });
});

describe('RDNSS (RFC 8106 5.1)', () => {
  // raw(ICMPv6NDOptRDNSS(lifetime=1800, dns=["fd00:77::53","fd00:77::54"]))
  const two = '1905000000000708fd000077000000000000000000000053fd000077000000000000000000000054';
  it('round-trips', () => {
    const v = { lifetimeSec: 1800, servers: ['fd00:77::53', 'fd00:77::54'] };
    expect(rdnss.encode(v).toString('hex')).toBe(two);
    expect(rdnss.decode(hex(two))).toEqual(v);
  });
  it('refuses no servers, IPv4, and an even length', () => {
    expect(() => rdnss.encode({ lifetimeSec: 1, servers: [] })).toThrow(/no server/);
    expect(() => rdnss.encode({ lifetimeSec: 1, servers: ['10.0.0.1'] })).toThrow(/not an IPv6 address/);
    expect(() => rdnss.decode(hex(two.slice(0, 64)))).toThrow(/1 \+ 2n/);
  });
});

describe('DNSSL (RFC 8106 5.2)', () => {
  // raw(ICMPv6NDOptDNSSL(lifetime=1800, searchlist=["v6.example","svc.v6.example"]))
  const two = '1f05000000000708027636076578616d706c650003737663027636076578616d706c650000000000';
  it('names without compression, padded to 8 bytes', () => {
    const v = { lifetimeSec: 1800, domains: ['v6.example', 'svc.v6.example'] };
    expect(dnssl.encode(v).toString('hex')).toBe(two);
    expect(dnssl.decode(hex(two))).toEqual(v);
    // raw(ICMPv6NDOptDNSSL(lifetime=0, searchlist=["a.b"]))
    expect(dnssl.encode({ lifetimeSec: 0, domains: ['a.b.'] }).toString('hex')).toBe('1f020000000000000161016200000000');
  });
  it('refuses empty labels, long labels, pointers and junk after the padding', () => {
    expect(() => dnssl.encode({ lifetimeSec: 1, domains: ['a..b'] })).toThrow(/empty label/);
    expect(() => dnssl.encode({ lifetimeSec: 1, domains: ['x'.repeat(64)] })).toThrow(/longer than 63/);
    expect(() => dnssl.decode(hex('1f02000000000000c00c000000000000'))).toThrow(/compression/);
    expect(() => dnssl.decode(hex('1f02000000000000016100000000ff00'))).toThrow(/after the padding/);
    expect(() => dnssl.decode(hex('1f020000000000000561616161610a61'))).toThrow(/past the end/);
  });
});

describe('walking options', () => {
  it('splits a message into options and refuses length 0 and overruns', () => {
    const b = hex('0501000000000578' + '0101024e00000001');
    expect(walkOptions(b, 0).map((o) => o.type)).toEqual([5, 1]);
    expect(() => walkOptions(hex('0500000000000578'), 0)).toThrow(/length 0/);
    expect(() => walkOptions(hex('05020000000005780000'), 0)).toThrow(/past the end/);
  });
});
