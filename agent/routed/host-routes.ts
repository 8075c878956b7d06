// The host routes of routed networks: one /32 (IPv4) or /128 (IPv6) to each workload address
// through the device of its attachment. One computation for every reader: the routed
// participant programs them in the kernel, the bgp participant announces them (or their
// networks' aggregates).
// A workload's addresses are those hostnet assigned (static, auto), those DHCP leased to its
// MAC on that network (a TAP guest's own client), and, when the network's IPv6 subnet is
// advertised with the A flag (SLAAC, DHCPV6_STATELESS: ipv6.ts), the EUI-64 address
// the workload forms itself from its MAC (the address agent/firewall/ports.ts allows too); each once.
import { parseIp } from '../../dataplane/ip.js';
import type { Attachment, DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';
import { slaacAddressOf } from '../firewall/ports.js';
import { ifNameOf, macOf } from '../naming.js';
import { routedSlaacPrefixOf } from './ipv6.js';

export interface HostRoute {
  network: string;
  attachment: string;
  /** The attachment's host-side device (TAP or veth). */
  dev: string;
  /** The workload's address; the route is its /32 (/128). */
  ip: string;
  family: 4 | 6;
}

/** The route's destination as the kernel shows it: "10.95.0.11/32", "fd00:95::11/128". */
export function hostRouteDestination(r: Pick<HostRoute, 'ip' | 'family'>): string {
  return `${r.ip}/${r.family === 4 ? 32 : 128}`;
}

/** Where a workload's addresses come from (see the header). */
export interface WorkloadAddresses {
  /** Static and auto addresses hostnet assigned (agent/ipam). */
  assigned(attachment: Attachment): readonly string[];
  /** Bound DHCP leases (and reservations) of this MAC on the network. */
  leased(network: string, mac: string): readonly string[];
}

export function routedHostRoutes(desired: DesiredState, addresses: WorkloadAddresses): HostRoute[] {
  const routed = new Map<string, Network>(desired.networks.filter(isRouted).map((n) => [n.name, n]));
  const out: HostRoute[] = [];
  for (const a of desired.attachments) {
    const n = routed.get(a.network);
    if (!n || !a.kind) continue;
    const seen = new Set<string>();
    const mac = macOf(a);
    const slaacPrefix = routedSlaacPrefixOf(n);
    const formed = slaacPrefix ? slaacAddressOf(slaacPrefix, mac) : null;
    for (const text of [...addresses.assigned(a), ...addresses.leased(a.network, mac), ...(formed ? [formed] : [])]) {
      const ip = parseIp(text);
      if (!ip || seen.has(ip.text)) continue;
      seen.add(ip.text);
      out.push({ network: a.network, attachment: a.name, dev: ifNameOf(a), ip: ip.text, family: ip.family });
    }
  }
  return out;
}
