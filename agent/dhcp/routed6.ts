// DHCPv6 on routed networks (issue 13, agent/routed/ipv6.ts): a routed network has no bridge,
// so one dhcp/v6 server per attachment device (like DHCPv4's socket per device), each bound to
// its device and answering from the device's link-local address, with its own lease file
// <state-dir>/leases/<network>@<device>.leases6. Each server hands out exactly its
// attachment's address: its reservation (the attachment's first IPv6 address, static or auto,
// which ipam chose from the pools and stores) and no other pool address, so servers of one network never
// hand one pool address to two workloads (they share no allocator), and the address DHCPv6
// gives is always one the host already routes (agent/routed/host-routes.ts: assigned addresses).
// Used by Dhcp6Host (host6.ts) for routed networks only; bridged networks are its own.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { ObservedState } from '../../dataplane/types.js';
import type { Dhcp6Config } from '../../dhcp/v6/types.js';
import type { DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import { condition, type ComputedCondition } from '../conditions/condition.js';
import type { AddressAssignments } from '../ipam/assignments.js';
import { isRouted } from '../desired/routed.js';
import { ifNameOf, macOf } from '../naming.js';
import { dhcp6ConfigOf } from './config6.js';

/** One server a routed network wants: its key, device and configuration. */
export interface RoutedDhcp6Target {
  /** "<network>@<device>": the instance key and the lease file's name. */
  key: string;
  network: string;
  attachment: string;
  device: string;
  config: Dhcp6Config;
}

/** The routed networks' per-device DHCPv6 servers the desired state asks for. */
export function routedDhcp6Targets(desired: DesiredState, assigned: Pick<AddressAssignments, 'onNetwork'>): RoutedDhcp6Target[] {
  const out: RoutedDhcp6Target[] = [];
  const byName = new Map<string, Network>(desired.networks.filter(isRouted).map((n) => [n.name, n]));
  const configs = new Map<string, Dhcp6Config | null>();
  for (const a of desired.attachments) {
    const n = byName.get(a.network);
    const device = ifNameOf(a);
    if (!n || !device) continue;
    if (!configs.has(n.name)) configs.set(n.name, dhcp6ConfigOf(n, assigned, desired.node));
    const base = configs.get(n.name);
    if (!base) continue;
    const mac = macOf(a);
    // Its own reservation only, and as "pool" that one address: the server hands out nothing
    // from a config without pools (dhcp/v6/allocator.ts), and never picks a reserved address
    // for anyone but its owner.
    const reservations = (base.reservations ?? []).filter((r) => r.mac === mac);
    const pools = reservations.map((r) => ({ start: r.ip, end: r.ip }));
    out.push({ key: `${n.name}@${device}`, network: n.name, attachment: a.name, device, config: { ...base, pools, reservations } });
  }
  return out;
}

/** Whether this Dhcp6Host key is a routed per-device one. */
export const isRoutedDhcp6Key = (key: string): boolean => key.includes('@');

/** The lease files of a removed routed network: every <network>@*.leases6 in `dir`. */
export async function removeRoutedLeaseFiles(dir: string, network: string, files: readonly string[]): Promise<void> {
  for (const f of files) if (f.startsWith(`${network}@`) && f.endsWith('.leases6')) await rm(path.join(dir, f), { force: true }).catch(() => undefined);
}

/**
 * Dhcpv6Serving of a routed network from its devices' states: True with the number of devices
 * served, or the first device's problem. `device`: what each key's server does now.
 */
export function routedDhcp6Condition(
  targets: readonly RoutedDhcp6Target[], problem: (key: string) => { reason: string; message: string } | undefined, serving: (key: string) => boolean,
  observed: Pick<ObservedState, 'links'>,
): ComputedCondition {
  const links = new Map(observed.links.map((l) => [l.name, l]));
  let served = 0;
  for (const t of targets) {
    const p = problem(t.key);
    // A device not made yet is no fault of the server: the links participant makes it.
    if (p && links.has(t.device)) return condition('Dhcpv6Serving', false, p.reason, `device "${t.device}" (attachment ${t.attachment}): ${p.message}`);
    if (serving(t.key)) served++;
  }
  return condition('Dhcpv6Serving', true, 'Serving', `serving on ${served} of ${targets.length} routed device(s), each its attachment's own address`);
}
