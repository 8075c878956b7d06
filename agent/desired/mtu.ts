// A network's MTU as it is in force: the one asked for, or the default. Over VXLAN the
// default is the underlay's MTU minus the encapsulation (outer IP + UDP + VXLAN + inner
// Ethernet: 50 bytes over IPv4, 70 over IPv6), so a full-size frame from a workload never
// needs fragmenting between hosts. The underlay is the uplink's `device`, else the link that
// holds its `local` address; while neither is known, 1500 is assumed.
import { parseIp } from '../../dataplane/ip.js';
import type { Address, Link } from '../../dataplane/types.js';
import type { Network } from '../api/gen/hostnet/v1/resources.js';
import { DEFAULT_MTU } from '../naming.js';

export const VXLAN_OVERHEAD_IPV4 = 50;
export const VXLAN_OVERHEAD_IPV6 = 70;

/** The kernel's links and addresses, as far as the MTU needs them. */
export interface UnderlayView {
  readonly links: readonly Link[];
  readonly addresses: readonly Address[];
}

/** The underlay device's MTU of a VXLAN network, or null when it is not (yet) known. */
export function underlayMtuOf(n: Network, view: UnderlayView): number | null {
  const k = n.uplink?.kind;
  if (k?.$case !== 'vxlan') return null;
  const x = k.vxlan;
  if (x.device) return view.links.find((l) => l.name === x.device)?.mtu ?? null;
  const local = x.local ? parseIp(x.local) : null;
  if (!local) return null;
  const holder = view.addresses.find((a) => parseIp(a.cidr.split('/')[0]!)?.text === local.text);
  return holder ? view.links.find((l) => l.index === holder.index)?.mtu ?? null : null;
}

/** The network's MTU: `mtu` when set; over VXLAN the underlay's minus the encapsulation; else 1500. */
export function networkMtu(n: Network, view: UnderlayView): number {
  if (n.mtu !== undefined) return n.mtu;
  const k = n.uplink?.kind;
  if (k?.$case !== 'vxlan') return DEFAULT_MTU;
  const x = k.vxlan;
  const outer = [x.local, x.destination?.$case === 'remote' ? x.destination.remote : x.destination?.group, ...x.remotes]
    .map((a) => (a ? parseIp(a) : null)).find((a) => a !== null);
  const overhead = outer?.family === 6 ? VXLAN_OVERHEAD_IPV6 : VXLAN_OVERHEAD_IPV4;
  return (underlayMtuOf(n, view) ?? DEFAULT_MTU) - overhead;
}
