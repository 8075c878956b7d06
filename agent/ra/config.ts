// What the agent advertises on an IPv6 network's bridge (RFC 4861 router advertisements), from
// the desired state alone: the network's /64 as on-link prefix (autonomous under SLAAC), the M
// and O flags by ipv6Mode, the gateway making the bridge a default router, the MTU, and the
// dhcp settings as RDNSS, DNSSL (RFC 8106) and route information (RFC 4191).
import { parseCidr } from '../../dataplane/ip.js';
import { Ipv6Mode, type DesiredState, type Network } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';
import { routedIpv6ModeOf, routedIpv6SubnetOf } from '../routed/ipv6.js';
import { subnetOf, type Subnet } from '../desired/subnets.js';
import { bridgeNameOf, ifNameOf } from '../naming.js';
import { networkMtu, type UnderlayView } from '../desired/mtu.js';
import type { RaConfig } from '../../dhcp/ra/config.js';

/** RFC 4861 6.2.1's AdvDefaultLifetime for the default MaxRtrAdvInterval (600 s): 3 x 600. */
export const ROUTER_LIFETIME_SEC = 1800;

/** What one bridge advertises: dhcp/ra's configuration, with the RFC 4861 intervals as defaults. */
export type AdvertisementConfig = RaConfig;

/** The IPv6 subnet the agent advertises on this network's bridge (its own or its ipv6 block), if any. */
function advertisedSubnet(n: Network): Subnet | undefined {
  const s = subnetOf(n, 6);
  return s && s.gatewayOnBridge && !!s.gateway && parseCidr(s.cidr)?.family === 6 ? s : undefined;
}

/** True when the agent sends router advertisements on this network's bridge. */
export function advertises(n: Network): boolean {
  return advertisedSubnet(n) !== undefined;
}

/** `view`: the kernel's links and addresses (the MTU of a VXLAN network comes from its underlay). */
export function advertisementOf(n: Network, view: UnderlayView): AdvertisementConfig | null {
  const s = advertisedSubnet(n);
  if (!s) return null;
  const mode = s.ipv6Mode === Ipv6Mode.IPV6_MODE_UNSPECIFIED ? Ipv6Mode.SLAAC : s.ipv6Mode;
  return {
    device: bridgeNameOf(n),
    prefix: s.cidr,
    autonomous: mode === Ipv6Mode.SLAAC || mode === Ipv6Mode.DHCPV6_STATELESS,
    ...sharedFields(n, mode, s.dhcp, view),
  };
}

/** One advertiser the agent runs: a bridged network's (on its bridge) or one routed device's. */
export interface AdvertisementTarget {
  /** The running advertiser's key: the network's name, or "<network>/<device>" on a routed network. */
  key: string;
  network: string;
  /** Set on a routed network: the attachment whose device this is. */
  attachment?: string;
  config: AdvertisementConfig;
}

/**
 * Every advertiser the desired state asks for: one per bridged IPv6 subnet with its gateway on
 * the bridge, and one per device of a routed network with an IPv6 subnet (agent/routed/ipv6.ts).
 * On a routed device the prefix goes out with the L flag off: workloads hold only their own
 * addresses and send everything else, their neighbours in the prefix included, to the router
 * (the device's link-local address, the RA's source), which routes it by the host's /128s.
 */
export function advertisementTargets(desired: DesiredState, view: UnderlayView): AdvertisementTarget[] {
  const out: AdvertisementTarget[] = [];
  const routed = new Map<string, AdvertisementConfig>();
  for (const n of desired.networks) {
    if (isRouted(n)) {
      const c = routedAdvertisementOf(n, view);
      if (c) routed.set(n.name, c);
      continue;
    }
    const config = advertisementOf(n, view);
    if (config) out.push({ key: n.name, network: n.name, config });
  }
  for (const a of desired.attachments) {
    const base = routed.get(a.network);
    const dev = ifNameOf(a);
    if (!base || !dev) continue;
    out.push({ key: `${a.network}/${dev}`, network: a.network, attachment: a.name, config: { ...base, device: dev, ...(a.mtu ? { mtu: a.mtu } : {}) } });
  }
  return out;
}

/** What a routed network advertises on each of its devices (the device filled in per attachment). */
function routedAdvertisementOf(n: Network, view: UnderlayView): AdvertisementConfig | null {
  const s = routedIpv6SubnetOf(n);
  if (!s) return null;
  const mode = routedIpv6ModeOf(s);
  const prefix = parseCidr(s.cidr);
  return {
    device: '',
    prefix: s.cidr,
    onLink: false,
    // SLAAC needs a /64 (validate-routed.ts refuses SLAAC on another length).
    autonomous: (mode === Ipv6Mode.SLAAC || mode === Ipv6Mode.DHCPV6_STATELESS) && prefix?.prefix === 64,
    ...sharedFields(n, mode, s.dhcp, view),
  };
}

/** What a bridged and a routed advertisement share: the M/O flags by mode, lifetime, MTU and the DHCP block's DNS, search domains and routes. */
function sharedFields(n: Network, mode: Ipv6Mode, d: Subnet['dhcp'], view: UnderlayView): Pick<AdvertisementConfig, 'managed' | 'other' | 'routerLifetimeSec' | 'mtu' | 'dnsServers' | 'searchDomains' | 'routes'> {
  return {
    managed: mode === Ipv6Mode.DHCPV6_STATEFUL,
    other: mode === Ipv6Mode.DHCPV6_STATELESS || mode === Ipv6Mode.DHCPV6_STATEFUL,
    routerLifetimeSec: ROUTER_LIFETIME_SEC,
    mtu: networkMtu(n, view),
    dnsServers: [...(d?.dnsServers ?? [])],
    searchDomains: [...(d?.searchDomains ?? [])],
    routes: (d?.routes ?? []).map((r) => ({ prefix: r.destination, preference: 'medium' as const })),
  };
}
