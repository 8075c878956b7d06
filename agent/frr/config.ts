// FRR's integrated configuration (frr.conf) rendered from the desired state: pure, no I/O, so a
// pass compares text with text and a test reads exactly what FRR will read.
//
// What it says: `frr defaults datacenter` (3 s keepalives, 9 s hold: sessions come up and fail
// over in seconds; the daemons are started with the same profile, -F datacenter), the node's
// BGP speaker with its router id, no implicit IPv4 unicast session, every peer with its AS
// (eBGP or iBGP by the number) and description, and one block per address family: today L2VPN
// EVPN with every peer activated and `advertise-all-vni` (zebra hands every VNI of a VXLAN
// device in a bridge to bgpd: local MACs go out as type-2 routes, the VTEP as a type-3 route).
// Routed networks (issue 13) add IPv4 unicast, and IPv6 unicast when one has an IPv6 subnet:
// see routedFamily(), routedFamily6() and routedPolicy().
import { Announce, type Bgp, type DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';
import { hostRouteDestination, type HostRoute } from '../routed/host-routes.js';
import { routedIpv6SubnetOf } from '../routed/ipv6.js';

export interface FrrConfigInput {
  /** Shown in FRR's prompt and logs. */
  hostname: string;
  /** null: no BGP (a config without `router bgp`, which removes it on reload). */
  bgp: Bgp | null;
  /** The desired state the address families read (issue 13: routed networks' prefixes). */
  desired?: DesiredState;
  /** The routed networks' host routes (agent/routed/host-routes.ts routedHostRoutes of `desired`). */
  hostRoutes?: readonly HostRoute[];
}

/** One `address-family` block of `router bgp`, with the peers activated in it. */
export interface AddressFamily {
  /** e.g. "l2vpn evpn", "ipv4 unicast". */
  name: string;
  /** Lines inside the block after the `neighbor X activate` lines, unindented. */
  lines: string[];
}

/** L2VPN EVPN: MACs and VTEPs of every VNI zebra knows (VXLAN devices enslaved to a bridge). */
function evpnFamily(): AddressFamily {
  return { name: 'l2vpn evpn', lines: ['advertise-all-vni'] };
}

/** Names of the policy objects routedPolicy() writes (hostnet's own, never an operator's). */
export const ROUTED_PREFIX_LIST = 'hostnet-routed';
export const LOCAL_AS_PATH = 'hostnet-local';
export const ROUTED_OUT_MAP = 'hostnet-routed-out';
export const ROUTED_IN_MAP = 'hostnet-routed-in';
/** IPv6's own (a route-map matching an `ip` prefix-list never matches an IPv6 route). */
export const ROUTED_PREFIX_LIST6 = 'hostnet-routed6';
export const ROUTED_OUT_MAP6 = 'hostnet-routed6-out';

/** The announcing routed networks by name with their CIDR and mode; NO_ANNOUNCE ones are left out. */
function announcing(input: FrrConfigInput): Map<string, { cidr: string; aggregate: boolean }> {
  const out = new Map<string, { cidr: string; aggregate: boolean }>();
  for (const n of input.desired?.networks ?? []) {
    // IPv4 CIDRs only: an IPv6-only routed network's goes to announcing6().
    if (!isRouted(n) || n.announce === Announce.NO_ANNOUNCE || !n.cidr || n.cidr.includes(':')) continue;
    out.set(n.name, { cidr: n.cidr, aggregate: n.announce === Announce.AGGREGATE });
  }
  return out;
}

/**
 * IPv4 unicast for routed networks: one `network A.B.C.D/32` per host route (a workload
 * address on this host), and for an AGGREGATE network also `aggregate-address CIDR
 * summary-only`, which announces the CIDR instead of its /32s while at least one of them is in
 * BGP (the network has a workload here) and withdraws it with the last. bgpd also puts a
 * discard (blackhole, proto bgp) route for the CIDR into the kernel meanwhile: an address of it
 * with no workload is dropped here rather than sent back to the fabric. So AGGREGATE suits a
 * CIDR that lives on this host alone; one spread over hosts wants HOST_ROUTES (each host's
 * own aggregate would win over the others').
 *
 * Why `network` statements and not `redistribute kernel`: bgp network import-check (FRR's
 * default since 7.4, on in the datacenter profile; hostnet does not turn it off) announces a
 * `network` only while zebra's RIB holds that very prefix, here the kernel route `<ip>/32 dev
 * <device> proto 104` the routed participant programs (zebra reads foreign-protocol kernel
 * routes as K routes). So a /32 is announced exactly while hostnet wants it AND the kernel can
 * deliver it, and withdrawn as soon as either goes: the route's deletion (attachment removed,
 * device gone) reaches bgpd through zebra in milliseconds, before any frr-reload runs.
 * `redistribute kernel` with a prefix-list of the CIDRs would announce any kernel route in
 * them (an operator's, another tool's: FRR cannot match a kernel protocol number) and keep
 * announcing while desired state says the address is gone, as long as a route is left. An
 * agent restart changes neither the text (same addresses, same config: frr-reload sends
 * nothing) nor the kernel routes (the routed participant adopts them): nothing is withdrawn.
 */
function routedFamily(input: FrrConfigInput, peers: readonly string[]): AddressFamily | null {
  const nets = announcing(input);
  const lines: string[] = [];
  const hosts = new Set<string>();
  for (const r of input.hostRoutes ?? []) if (nets.has(r.network) && r.family === 4) hosts.add(hostRouteDestination(r));
  for (const prefix of [...hosts].sort(byPrefix)) lines.push(`network ${prefix}`);
  const aggregates = new Set([...nets.values()].filter((n) => n.aggregate).map((n) => n.cidr));
  for (const cidr of [...aggregates].sort(byPrefix)) lines.push(`aggregate-address ${cidr} summary-only`);
  // eBGP needs a policy both ways (bgp ebgp-requires-policy, FRR's default): in, whatever the
  // fabric sends (other hosts' routes, a default); out, only what this host originates.
  for (const p of peers) lines.push(`neighbor ${p} route-map ${ROUTED_IN_MAP} in`, `neighbor ${p} route-map ${ROUTED_OUT_MAP} out`);
  return { name: 'ipv4 unicast', lines };
}

/** The announcing routed networks' IPv6 subnets (their `ipv6` blocks) by network, with the mode. */
function announcing6(input: FrrConfigInput): Map<string, { cidr: string; aggregate: boolean }> {
  const out = new Map<string, { cidr: string; aggregate: boolean }>();
  for (const n of input.desired?.networks ?? []) {
    const s = routedIpv6SubnetOf(n);
    if (!s || n.announce === Announce.NO_ANNOUNCE) continue;
    out.set(n.name, { cidr: s.cidr, aggregate: n.announce === Announce.AGGREGATE });
  }
  return out;
}

/**
 * IPv6 unicast for routed networks with an IPv6 subnet: routedFamily's semantics for the /128
 * host routes (`network X/128` under import-check, `aggregate-address` of the IPv6 CIDR for
 * AGGREGATE, nothing for NO_ANNOUNCE), with IPv6's own out policy. The peers are the same
 * sessions (multiprotocol BGP over IPv4): a peer that should forward to these /128s needs a
 * usable IPv6 next hop, which FRR takes from the session's interface (a global IPv6 address there,
 * or link-local with extended next hop): the fabric's side, as forwarding on the uplink is.
 */
function routedFamily6(input: FrrConfigInput, peers: readonly string[]): AddressFamily {
  const nets = announcing6(input);
  const lines: string[] = [];
  const hosts = new Set<string>();
  for (const r of input.hostRoutes ?? []) if (nets.has(r.network) && r.family === 6) hosts.add(hostRouteDestination(r));
  for (const prefix of [...hosts].sort()) lines.push(`network ${prefix}`);
  const aggregates = new Set([...nets.values()].filter((n) => n.aggregate).map((n) => n.cidr));
  for (const cidr of [...aggregates].sort()) lines.push(`aggregate-address ${cidr} summary-only`);
  for (const p of peers) lines.push(`neighbor ${p} route-map ${ROUTED_IN_MAP} in`, `neighbor ${p} route-map ${ROUTED_OUT_MAP6} out`);
  return { name: 'ipv6 unicast', lines };
}

/**
 * The policy routedFamily's peers use, before `router bgp`: out, only prefixes inside an
 * announcing routed network AND originated here (empty AS path), so the host is never transit
 * between its peers (a route learned from one fabric router is not sent to another); in, all.
 * Written as FRR shows them (seq numbers, `exit`), so frr-reload finds nothing to change on an
 * unchanged config.
 */
function routedPolicy(input: FrrConfigInput): string[] {
  const cidrs = [...new Set([...announcing(input).values()].map((n) => n.cidr))].sort(byPrefix);
  const out: string[] = [];
  if (cidrs.length === 0) out.push(`ip prefix-list ${ROUTED_PREFIX_LIST} seq 5 deny any`);
  cidrs.forEach((c, i) => out.push(`ip prefix-list ${ROUTED_PREFIX_LIST} seq ${5 * (i + 1)} permit ${c} le 32`));
  out.push('!', `bgp as-path access-list ${LOCAL_AS_PATH} seq 5 permit ^$`, '!');
  out.push(`route-map ${ROUTED_OUT_MAP} permit 10`, ` match ip address prefix-list ${ROUTED_PREFIX_LIST}`, ` match as-path ${LOCAL_AS_PATH}`, 'exit', '!');
  out.push(`route-map ${ROUTED_IN_MAP} permit 10`, 'exit', '!');
  if (hasRouted6(input)) {
    // The same for IPv6 (routedFamily6): only announcing networks' IPv6 prefixes, originated here.
    const cidrs6 = [...new Set([...announcing6(input).values()].map((n) => n.cidr))].sort();
    if (cidrs6.length === 0) out.push(`ipv6 prefix-list ${ROUTED_PREFIX_LIST6} seq 5 deny any`);
    cidrs6.forEach((c, i) => out.push(`ipv6 prefix-list ${ROUTED_PREFIX_LIST6} seq ${5 * (i + 1)} permit ${c} le 128`));
    out.push('!', `route-map ${ROUTED_OUT_MAP6} permit 10`, ` match ipv6 address prefix-list ${ROUTED_PREFIX_LIST6}`, ` match as-path ${LOCAL_AS_PATH}`, 'exit', '!');
  }
  return out;
}

/** Whether the config has an IPv4 unicast family: a routed network exists (announcing or not: its peers' routes are wanted too). */
const hasRouted = (input: FrrConfigInput): boolean => (input.desired?.networks ?? []).some(isRouted);

/** Whether the config has an IPv6 unicast family: a routed network with an IPv6 subnet exists. */
const hasRouted6 = (input: FrrConfigInput): boolean => (input.desired?.networks ?? []).some((n) => routedIpv6SubnetOf(n) !== undefined);

/** Numeric order of IPv4 prefixes (stable text: the same state renders the same file). */
function byPrefix(a: string, b: string): number {
  const key = (p: string): number[] => p.replace('/', '.').split('.').map(Number);
  const x = key(a);
  const y = key(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/**
 * The address families of `router bgp`, in order; every peer is activated in every family
 * listed. L2VPN EVPN always; IPv4 unicast when a routed network exists (issue 13), IPv6
 * unicast when one has an IPv6 subnet.
 */
export function addressFamiliesOf(input: FrrConfigInput): AddressFamily[] {
  const out = [evpnFamily()];
  const peers = (input.bgp?.peers ?? []).map((p) => p.address);
  const routed = hasRouted(input) ? routedFamily(input, peers) : null;
  if (routed) out.push(routed);
  if (hasRouted6(input)) out.push(routedFamily6(input, peers));
  return out;
}

/** The first line of every file hostnet writes: who owns it. */
export const FRR_CONFIG_HEADER = '! Written by hostnet-agent from the desired state: edits are overwritten.';

/** frr.conf for the input; ends with a newline. */
export function renderFrrConfig(input: FrrConfigInput): string {
  const out: string[] = [FRR_CONFIG_HEADER, 'frr defaults datacenter', `hostname ${hostnameOf(input.hostname)}`, '!'];
  const bgp = input.bgp;
  if (bgp) {
    if (hasRouted(input)) out.push(...routedPolicy(input));
    out.push(`router bgp ${bgp.asn}`, ` bgp router-id ${bgp.routerId}`, ' no bgp default ipv4-unicast');
    for (const p of bgp.peers) {
      out.push(` neighbor ${p.address} remote-as ${p.asn}`);
      const description = descriptionOf(p.description);
      if (description) out.push(` neighbor ${p.address} description ${description}`);
    }
    for (const family of addressFamiliesOf(input)) {
      out.push(' !', ` address-family ${family.name}`);
      for (const p of bgp.peers) out.push(`  neighbor ${p.address} activate`);
      for (const line of family.lines) out.push(`  ${line}`);
      out.push(' exit-address-family');
    }
    out.push('exit', '!');
  }
  return `${out.join('\n')}\n`;
}

/** FRR takes the rest of the line as the description: no line breaks or control characters (they would inject commands), at most 80 characters (FRR's limit). */
export function descriptionOf(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 80).trimEnd();
}

/** A hostname FRR accepts as one word. */
function hostnameOf(text: string): string {
  const clean = text.replace(/[^A-Za-z0-9.-]/g, '-').replace(/^[-.]+/, '').slice(0, 63);
  return clean || 'hostnet';
}
