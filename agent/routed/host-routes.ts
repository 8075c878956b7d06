// The host routes of routed networks: one /32 to each workload address through the device of
// its attachment. One computation for every reader: the routed participant programs them in
// the kernel, the bgp participant announces them (or their networks' aggregates).
// A workload's addresses are those hostnet assigned (static, auto) and those DHCP leased to its
// MAC on that network (a TAP guest's own client), each once.
import { parseIp } from '../../dataplane/ip.js';
import type { Attachment, DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';
import { ifNameOf, macOf } from '../naming.js';

export interface HostRoute {
  network: string;
  attachment: string;
  /** The attachment's host-side device (TAP or veth). */
  dev: string;
  /** The workload's address; the route is its /32 (/128). */
  ip: string;
}

/** Where a workload's addresses come from (see the header). */
export interface WorkloadAddresses {
  /** Static and auto addresses hostnet assigned (agent/ipam). */
  assigned(attachment: Attachment): readonly string[];
  /** Bound DHCP leases (and reservations) of this MAC on the network. */
  leased(network: string, mac: string): readonly string[];
}

export function routedHostRoutes(desired: DesiredState, addresses: WorkloadAddresses): HostRoute[] {
  const routed = new Set(desired.networks.filter(isRouted).map((n) => n.name));
  const out: HostRoute[] = [];
  for (const a of desired.attachments) {
    if (!routed.has(a.network) || !a.kind) continue;
    const seen = new Set<string>();
    for (const text of [...addresses.assigned(a), ...addresses.leased(a.network, macOf(a))]) {
      const ip = parseIp(text);
      if (!ip || ip.family !== 4 || seen.has(ip.text)) continue;
      seen.add(ip.text);
      out.push({ network: a.network, attachment: a.name, dev: ifNameOf(a), ip: ip.text });
    }
  }
  return out;
}
