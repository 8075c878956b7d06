// RA configuration: defaults, what is refused (with the device and the reason), and the RA a
// config stands for, including the final one (router lifetime 0, prefixes kept).
import { describe, expect, it } from 'vitest';
import { RouterAdvertiser } from '../../../dhcp/ra/advertiser.js';
import { buildRouterAdvertisement } from '../../../dhcp/ra/build.js';
import { resolveRaConfig, type RaConfig } from '../../../dhcp/ra/config.js';

const base: RaConfig = {
  device: 'br-v6', prefix: 'fd00:77::/64', autonomous: true, managed: false, other: true,
  routerLifetimeSec: 1800, mtu: 1400, dnsServers: ['fd00:77::53'], searchDomains: ['v6.example'],
  routes: [{ prefix: 'fd00:99::/48', preference: 'high' }],
};

describe('RA config', () => {
  it('fills in defaults', () => {
    const c = resolveRaConfig(base);
    expect(c).toMatchObject({ onLink: true, validLifetimeSec: 86400, preferredLifetimeSec: 14400, curHopLimit: 64, reachableTimeMs: 0, retransTimerMs: 0, dnsLifetimeSec: 1800 });
    expect(c.routes).toEqual([{ prefix: 'fd00:99::/48', preference: 'high', lifetimeSec: 1800 }]);
    expect(resolveRaConfig({ ...base, mtu: undefined }).mtu).toBeNull();
  });

  it('refuses what cannot be advertised, naming the device', () => {
    const bad = (patch: Partial<RaConfig>): string => {
      try {
        resolveRaConfig({ ...base, ...patch });
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(bad({ prefix: 'fd00:77::/56' })).toBe('configure router advertisements on br-v6: prefix fd00:77::/56: SLAAC (the A flag) needs a /64, not a /56');
    expect(bad({ prefix: 'fd00:77::/56', autonomous: false })).toBe('accepted');
    expect(bad({ prefix: '10.0.0.0/24' })).toMatch(/not an IPv6 prefix/);
    expect(bad({ routerLifetimeSec: 70000 })).toMatch(/router lifetime 70000/);
    expect(bad({ validLifetimeSec: 100, preferredLifetimeSec: 200 })).toMatch(/exceeds valid/);
    expect(bad({ mtu: 1000 })).toMatch(/MTU 1000/);
    expect(bad({ dnsServers: ['10.0.0.53'] })).toMatch(/DNS server "10.0.0.53"/);
    expect(bad({ searchDomains: ['a..b'] })).toMatch(/search domain/);
    expect(bad({ routes: [{ prefix: 'fd00::/8', preference: 'urgent' as 'high' }] })).toMatch(/preference "urgent"/);
    expect(bad({ intervals: { maxIntervalMs: 1000, minIntervalMs: 2000 } })).toMatch(/MinRtrAdvInterval/);
    expect(bad({ device: '' })).toMatch(/not an interface name/);
  });

  it('refuses an RA that would not fit the minimum MTU', () => {
    const many = Array.from({ length: 80 }, (_, i) => ({ prefix: `fd00:${i + 1}::/48`, preference: 'medium' as const }));
    expect(() => new RouterAdvertiser({ netns: null, config: { ...base, routes: many } })).toThrow(/would be \d+ bytes, more than the 1240/);
  });
});

describe('building the RA', () => {
  it('has every option the config names, in a fixed order', () => {
    const ra = buildRouterAdvertisement(resolveRaConfig(base), '02:4e:00:00:00:01');
    expect(ra).toMatchObject({ curHopLimit: 64, managed: false, other: true, routerLifetimeSec: 1800 });
    expect(ra.options.map((o) => o.kind)).toEqual(['source-link-layer', 'mtu', 'prefix', 'route', 'rdnss', 'dnssl']);
  });

  it('leaves out what is not configured', () => {
    const ra = buildRouterAdvertisement(resolveRaConfig({ ...base, mtu: null, dnsServers: [], searchDomains: [], routes: [] }), null);
    expect(ra.options.map((o) => o.kind)).toEqual(['prefix']);
  });

  it('final: router lifetime 0, prefix lifetimes kept, routes through us withdrawn', () => {
    const ra = buildRouterAdvertisement(resolveRaConfig(base), null, true);
    expect(ra.routerLifetimeSec).toBe(0);
    expect(ra.options.find((o) => o.kind === 'prefix')).toMatchObject({ validLifetimeSec: 86400, preferredLifetimeSec: 14400 });
    expect(ra.options.find((o) => o.kind === 'route')).toMatchObject({ lifetimeSec: 0 });
    expect(ra.options.find((o) => o.kind === 'rdnss')).toMatchObject({ lifetimeSec: 1800 });
  });
});
