// Connection-tracking zones for the bridges. With br_netfilter, every bridge's IP traffic is
// tracked in the agent's namespace; two networks whose CIDRs overlap (tenants reusing
// 10.0.0.0/24) would share tuples, and one tenant's packet could pass as part of another's
// established flow. Networks whose CIDRs overlap get different zones; networks that do not
// overlap share the kernel's default zone 0, so the host can still route and NAT for them
// statefully (a reply arriving on another bridge or the uplink finds its flow). A network
// without a CIDR may carry any address: a zone of its own. A routed network has no bridge: its
// workloads' traffic is the host's own routed traffic, tracked in the default zone.
import { parseCidr, type Cidr } from '../../dataplane/ip.js';
import type { Network } from '../api/gen/hostnet/v1/resources.js';
import { bridgeNameOf } from '../naming.js';
import { isRouted } from '../desired/routed.js';

/** Zone 0 is the kernel's default: the first (non-overlapping) networks stay in it. */
const DEFAULT_ZONE = 0;

const overlaps = (a: Cidr, b: Cidr): boolean => a.family === b.family && a.first <= b.last && b.first <= a.last;

/**
 * Zone by bridge name, for every network: the lowest zone none of whose networks overlaps it
 * (in name order, so a network keeps its zone while others come and go after it).
 */
export function bridgeZones(networks: readonly Network[]): Map<string, number> {
  const zones: Array<{ zone: number; cidrs: Cidr[] | null }> = [];
  const out = new Map<string, number>();
  for (const n of [...networks].sort((x, y) => x.name.localeCompare(y.name))) {
    if (isRouted(n)) continue;
    const cidr = parseCidr(n.cidr);
    let slot = cidr ? zones.find((z) => z.cidrs !== null && z.cidrs.every((c) => !overlaps(c, cidr))) : undefined;
    if (!slot) {
      slot = { zone: DEFAULT_ZONE + zones.length, cidrs: cidr ? [] : null };
      zones.push(slot);
    }
    if (cidr) slot.cidrs!.push(cidr);
    out.set(bridgeNameOf(n), slot.zone);
  }
  return out;
}
