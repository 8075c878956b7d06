// Which IP of each network is held by what: the desired state's gateway, DHCP server address,
// the attachments' static and auto addresses, reservations and leases (managed; a lease of an
// attachment's MAC is named by the attachment), plus addresses seen on the bridge that hostnet
// did not put there and neighbours in the bridge's table (foreign).
import type { ObservedState } from '../../dataplane/types.js';
import type { Lease } from '../../dhcp/types.js';
import type { DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import { IpHolderKind, type IpUsage, type NetworkIpUsage } from '../api/gen/hostnet/v1/status.js';
import { contains, hostCount, parseCidr, parseIp } from '../../dataplane/ip.js';
import { bridgeNameOf, macOf } from '../naming.js';
import { addressAsks, type AddressAssignments } from '../ipam/assignments.js';
import { subnetsOf, type Subnet } from '../desired/subnets.js';

/**
 * `leases`: the DHCP servers' leases (only offered and bound ones hold their address);
 * `assigned`: every attachment's static and auto addresses (agent/ipam).
 */
export function ipUsageOf(
  desired: DesiredState, observed: ObservedState, only = '', leases: readonly Lease[] = [],
  assigned: Pick<AddressAssignments, 'onNetwork'> | null = null,
): NetworkIpUsage[] {
  // One entry per subnet: a dual-stack network has its IPv4 and its IPv6 one.
  return desired.networks.filter((n) => !only || n.name === only)
    .flatMap((n) => subnetsOf(n).map((s) => subnetUsage(n, s, desired, observed, leases.filter((l) => l.network === n.name), assigned)));
}

function subnetUsage(n: Network, subnet: Subnet, desired: DesiredState, observed: ObservedState, leases: readonly Lease[], assigned: Pick<AddressAssignments, 'onNetwork'> | null): NetworkIpUsage {
  const cidr = parseCidr(subnet.cidr);
  const used = new Map<string, IpUsage>();
  const hold = (ip: string, holderKind: IpHolderKind, holderName: string, managed: boolean, mac = ''): void => {
    const parsed = parseIp(ip);
    if (!parsed || !cidr || !contains(cidr, parsed) || used.has(parsed.text)) return;
    used.set(parsed.text, { ip: parsed.text, holderKind, holderName, managed, mac });
  };
  // The gateway of a network a router connects is that router's address on it.
  const router = desired.routers.find((r) => r.networks.includes(n.name));
  if (subnet.gateway && router) hold(subnet.gateway, IpHolderKind.IP_HOLDER_KIND_ROUTER, router.name, true);
  else if (subnet.gateway) hold(subnet.gateway, IpHolderKind.IP_HOLDER_KIND_GATEWAY, n.name, true);
  if (subnet.dhcp?.enabled && subnet.dhcp.serverAddress) hold(subnet.dhcp.serverAddress, IpHolderKind.IP_HOLDER_KIND_DHCP_SERVER, n.name, true);
  const attachmentByMac = new Map<string, string>();
  for (const a of desired.attachments) {
    if (a.network !== n.name) continue;
    attachmentByMac.set(macOf(a), a.name);
    for (const ask of addressAsks(a)) {
      if (ask.source === 'static' && ask.text) hold(ask.text, IpHolderKind.IP_HOLDER_KIND_ATTACHMENT, a.name, true, macOf(a));
    }
  }
  for (const a of assigned?.onNetwork(n.name) ?? []) {
    for (const x of a.addresses) hold(x.ip, IpHolderKind.IP_HOLDER_KIND_ATTACHMENT, a.attachment, true, a.mac);
  }
  for (const r of subnet.dhcp?.reservations ?? []) hold(r.ip, IpHolderKind.IP_HOLDER_KIND_RESERVATION, r.hostname || r.mac, true, r.mac.toLowerCase());
  for (const l of leases) {
    const mac = l.mac.toLowerCase();
    const owner = attachmentByMac.get(mac);
    if (l.state !== 'bound' && l.state !== 'offered') continue;
    if (owner) hold(l.ip, IpHolderKind.IP_HOLDER_KIND_ATTACHMENT, owner, true, mac);
    else hold(l.ip, IpHolderKind.IP_HOLDER_KIND_LEASE, l.hostname || l.mac, true, l.mac);
  }
  const bridge = bridgeNameOf(n);
  for (const a of observed.addresses) {
    if (a.dev === bridge) hold(a.cidr.split('/')[0] ?? '', IpHolderKind.IP_HOLDER_KIND_FOREIGN, bridge, false);
  }
  for (const nb of observed.neighbours) {
    if (nb.dev === bridge && nb.mac) hold(nb.ip, IpHolderKind.IP_HOLDER_KIND_FOREIGN, nb.mac, false, nb.mac);
  }
  const ips = [...used.values()].sort((x, y) => compareIp(x.ip, y.ip));
  const total = cidr ? Number(hostCount(cidr)) : 0;
  return { network: n.name, cidr: subnet.cidr, ips, total, used: ips.length, available: Math.max(0, total - ips.length) };
}

function compareIp(a: string, b: string): number {
  const x = parseIp(a)?.value ?? 0n;
  const y = parseIp(b)?.value ?? 0n;
  return x < y ? -1 : x > y ? 1 : 0;
}
