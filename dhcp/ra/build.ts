// The Router Advertisement a resolved config stands for (pure). `final`: the RA a router sends
// when it stops advertising (RFC 4861 6.2.5): router lifetime 0 so hosts drop it as a default
// router at once, prefixes kept with their lifetimes (hosts keep their addresses), and route
// information with lifetime 0 too, since those routes go through this router.
import type { ResolvedRaConfig } from './config.js';
import type { RouterAdvertisement } from './message.js';
import type { RaOption } from './options/index.js';

export function buildRouterAdvertisement(c: ResolvedRaConfig, mac: string | null, final = false): RouterAdvertisement {
  const options: RaOption[] = [];
  if (mac) options.push({ kind: 'source-link-layer', mac });
  if (c.mtu !== null) options.push({ kind: 'mtu', mtu: c.mtu });
  options.push({
    kind: 'prefix', prefix: c.prefix, onLink: c.onLink, autonomous: c.autonomous,
    validLifetimeSec: c.validLifetimeSec, preferredLifetimeSec: c.preferredLifetimeSec,
  });
  for (const r of c.routes) options.push({ kind: 'route', prefix: r.prefix, preference: r.preference, lifetimeSec: final ? 0 : r.lifetimeSec });
  if (c.dnsServers.length > 0) options.push({ kind: 'rdnss', lifetimeSec: c.dnsLifetimeSec, servers: c.dnsServers });
  if (c.searchDomains.length > 0) options.push({ kind: 'dnssl', lifetimeSec: c.dnsLifetimeSec, domains: c.searchDomains });
  return {
    curHopLimit: c.curHopLimit,
    managed: c.managed,
    other: c.other,
    defaultRouterPreference: 'medium',
    routerLifetimeSec: final ? 0 : c.routerLifetimeSec,
    reachableTimeMs: c.reachableTimeMs,
    retransTimerMs: c.retransTimerMs,
    options,
  };
}
