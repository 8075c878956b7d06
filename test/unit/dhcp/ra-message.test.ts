// Router Advertisement and Router Solicitation codec (RFC 4861 4.1, 4.2) against bytes built
// by scapy 2.5 (Debian's python3-scapy), so the layout is checked by an independent encoder.
import { describe, expect, it } from 'vitest';
import { withChecksum } from '../../../dhcp/ra/checksum.js';
import { decodeRouterAdvertisement, decodeRouterSolicitation, encodeRouterAdvertisement, type RouterAdvertisement } from '../../../dhcp/ra/message.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/*
 * /usr/bin/python3 -c 'from scapy.all import *
 * ra = ICMPv6ND_RA(chlim=64, M=1, O=1, prf=0, routerlifetime=1800, reachabletime=0, retranstimer=0)
 *   /ICMPv6NDOptSrcLLAddr(lladdr="02:4e:00:00:00:01")/ICMPv6NDOptMTU(mtu=1400)
 *   /ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, validlifetime=86400, preferredlifetime=14400, prefix="fd00:77::")
 *   /ICMPv6NDOptRDNSS(lifetime=1800, dns=["fd00:77::53","fd00:77::54"])
 *   /ICMPv6NDOptDNSSL(lifetime=1800, searchlist=["v6.example","svc.v6.example"])
 *   /ICMPv6NDOptRouteInfo(len=2, plen=48, prf=1, rtlifetime=1800, prefix="fd00:99::")
 * print(raw(IPv6(src="fe80::4e:ff:fe00:1", dst="ff02::1", hlim=255)/ra)[40:].hex())'
 */
const SCAPY_RA_WITH_CHECKSUM =
  '8600a9ee40c0070800000000000000000101024e000000010501000000000578030440c0000151800000384000000000' +
  'fd0000770000000000000000000000001905000000000708fd000077000000000000000000000053fd000077000000000000' +
  '0000000000541f05000000000708027636076578616d706c650003737663027636076578616d706c6500000000001802300800' +
  '000708fd00009900000000';

const FULL_RA: RouterAdvertisement = {
  curHopLimit: 64,
  managed: true,
  other: true,
  defaultRouterPreference: 'medium',
  routerLifetimeSec: 1800,
  reachableTimeMs: 0,
  retransTimerMs: 0,
  options: [
    { kind: 'source-link-layer', mac: '02:4e:00:00:00:01' },
    { kind: 'mtu', mtu: 1400 },
    { kind: 'prefix', prefix: 'fd00:77::/64', onLink: true, autonomous: true, validLifetimeSec: 86400, preferredLifetimeSec: 14400 },
    { kind: 'rdnss', lifetimeSec: 1800, servers: ['fd00:77::53', 'fd00:77::54'] },
    { kind: 'dnssl', lifetimeSec: 1800, domains: ['v6.example', 'svc.v6.example'] },
    { kind: 'route', prefix: 'fd00:99::/48', preference: 'high', lifetimeSec: 1800 },
  ],
};

describe('router advertisement', () => {
  it('encodes every field and option as scapy does (checksum left to the kernel)', () => {
    const ours = encodeRouterAdvertisement(FULL_RA);
    const scapy = hex(SCAPY_RA_WITH_CHECKSUM);
    expect(ours.readUInt16BE(2)).toBe(0);
    const noSum = Buffer.from(scapy);
    noSum.writeUInt16BE(0, 2);
    expect(ours.toString('hex')).toBe(noSum.toString('hex'));
    // The checksum helper (for tests and tools) agrees with scapy's too.
    expect(withChecksum('fe80::4e:ff:fe00:1', 'ff02::1', ours).toString('hex')).toBe(SCAPY_RA_WITH_CHECKSUM);
  });

  it('decodes scapy\'s bytes back to the same value', () => {
    expect(decodeRouterAdvertisement(hex(SCAPY_RA_WITH_CHECKSUM))).toEqual(FULL_RA);
  });

  it('header fields: hop limit, preference, reachable time, retrans timer, no flags', () => {
    // /usr/bin/python3 -c 'from scapy.all import *; print(raw(ICMPv6ND_RA(chlim=0, M=0, O=0, prf=1,
    //   routerlifetime=0, reachabletime=30000, retranstimer=1000, cksum=0)).hex())'
    const scapy = '860000000008000000007530000003e8';
    const ra: RouterAdvertisement = {
      curHopLimit: 0, managed: false, other: false, defaultRouterPreference: 'high',
      routerLifetimeSec: 0, reachableTimeMs: 30000, retransTimerMs: 1000, options: [],
    };
    expect(encodeRouterAdvertisement(ra).toString('hex')).toBe(scapy);
    expect(decodeRouterAdvertisement(hex(scapy))).toEqual(ra);
  });

  it('refuses values that do not fit and messages that are not RAs', () => {
    const base = { ...FULL_RA, options: [] };
    expect(() => encodeRouterAdvertisement({ ...base, routerLifetimeSec: 65536 })).toThrow(/router lifetime 65536/);
    expect(() => encodeRouterAdvertisement({ ...base, curHopLimit: 256 })).toThrow(/cur hop limit/);
    expect(() => decodeRouterAdvertisement(hex('8600000040'))).toThrow(/header alone/);
    expect(() => decodeRouterAdvertisement(hex('850000000000000000000000000000000'.slice(0, 32)))).toThrow(/type 133/);
    // an option of length 0 makes the whole message invalid (RFC 4861 6.1.2)
    expect(() => decodeRouterAdvertisement(hex('86000000400007080000000000000000' + '0500000000000578'))).toThrow(/length 0/);
  });

  it('keeps options it does not know', () => {
    const b = hex('86000000400007080000000000000000' + '2601aabbccddeeff');
    expect(decodeRouterAdvertisement(b).options).toEqual([{ kind: 'unknown', type: 0x26, bytes: hex('2601aabbccddeeff') }]);
  });
});

describe('router solicitation', () => {
  // /usr/bin/python3 -c 'from scapy.all import *; print(raw(ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr="02:4e:00:00:00:02")).hex())'
  const SCAPY_RS = '85000000000000000101024e00000002';

  it('a valid RS with and without a source link-layer address', () => {
    expect(decodeRouterSolicitation(hex(SCAPY_RS), false)).toEqual({ ok: true, rs: { sourceLinkLayer: '02:4e:00:00:00:02' } });
    expect(decodeRouterSolicitation(hex('8500000000000000'), true)).toEqual({ ok: true, rs: { sourceLinkLayer: null } });
    // unknown options are skipped
    expect(decodeRouterSolicitation(hex('8500000000000000' + '2601000000000000'), false).ok).toBe(true);
  });

  it('invalid per RFC 4861 6.1.1: short, wrong type or code, bad options, SLLA from ::', () => {
    const reason = (s: string, unspecified = false): string => {
      const r = decodeRouterSolicitation(hex(s), unspecified);
      return r.ok ? 'valid' : r.reason;
    };
    expect(reason('85000000000000')).toMatch(/7 bytes/);
    expect(reason('8600000000000000')).toMatch(/type 134/);
    expect(reason('8501000000000000')).toMatch(/code 1/);
    expect(reason('8500000000000000' + '0100024e00000002')).toMatch(/length 0/);
    expect(reason('8500000000000000' + '0102024e00000002')).toMatch(/past the end/);
    expect(reason('8500000000000000' + '01')).toMatch(/stray/);
    expect(reason(SCAPY_RS, true)).toMatch(/unspecified/);
  });
});
