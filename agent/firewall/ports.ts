// The facts the firewall needs about each attachment with port security on: its device, the
// MACs and addresses it may send from, its groups. Addresses come from the desired state
// (address pairs), from address management (static and auto addresses), from DHCP (its
// reservation, the lease it holds now) and from the MAC (the EUI-64 IPv6 link-local address the kernel gives a new link).
import type { Attachment, DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import type { DhcpAddressBook } from '../dhcp/host.js';
import { bridgeNameOf, ifNameOf, macOf } from '../naming.js';
import { ipFromValue, parseCidr, parseIp } from '../../dataplane/ip.js';
import { subnetOf, type Subnet } from '../desired/subnets.js';
import { Ipv6Mode } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';

export interface ProtectedPort {
  attachment: string;
  /** The host-side device: on the bridge, or on its own for a routed network (the TAP or the host end of the veth). */
  ifName: string;
  network: string;
  /**
   * A routed network's port (mode ROUTED): no bridge, its device is a layer-3 interface of
   * the host, so its checks run in the inet and arp families rather than the bridge family.
   */
  routed: boolean;
  /** The network's bridge: routed or local traffic to the workload leaves through it; "" on a routed network. */
  bridge: string;
  /** Source MACs it may use, its own first. */
  macs: string[];
  /** Source addresses it may use: "a.b.c.d" or a CIDR. */
  v4: string[];
  v6: string[];
  /** Group names, in the order given. */
  groups: string[];
  /** The network's own DHCP server; null when hostnet serves none there (an external server's replies pass then). */
  dhcpServer: string | null;
}

export function isProtected(a: Attachment): boolean {
  return a.portSecurity?.enabled === true && ifNameOf(a) !== '';
}

const linkLocals = new Map<string, string>();

/** The EUI-64 link-local address of a MAC (RFC 4291 appendix A), remembered: every pass asks. */
export function linkLocalOf(mac: string): string {
  let ll = linkLocals.get(mac);
  if (ll === undefined) {
    ll = eui64LinkLocal(mac);
    if (linkLocals.size > 100_000) linkLocals.clear();
    linkLocals.set(mac, ll);
  }
  return ll;
}

function eui64LinkLocal(mac: string): string {
  return slaacAddressOf('fe80::/64', mac)!;
}

/** The EUI-64 address SLAAC forms from a /64 prefix and a MAC (RFC 4862, RFC 4291 appendix A); null for another prefix length. */
export function slaacAddressOf(prefix: string, mac: string): string | null {
  const cidr = parseCidr(prefix);
  if (!cidr || cidr.family !== 6 || cidr.prefix !== 64) return null;
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const iid = (BigInt((b[0]! ^ 0x02) << 8 | b[1]!) << 48n) | (BigInt(b[2]! << 8 | 0xff) << 32n) | (BigInt(0xfe << 8 | b[3]!) << 16n) | BigInt(b[4]! << 8 | b[5]!);
  return ipFromValue(6, cidr.first | iid);
}

function addTo(out: { v4: Set<string>; v6: Set<string> }, text: string): void {
  const cidr = text.includes('/') ? parseCidr(text) : null;
  const ip = cidr ? null : parseIp(text);
  const family = cidr?.family ?? ip?.family;
  if (family === undefined) return;
  const canonical = cidr ? text.toLowerCase() : ip!.text;
  (family === 4 ? out.v4 : out.v6).add(canonical);
}

/** An attachment's static and auto addresses (agent/ipam). */
export type AssignedAddresses = (attachment: string) => readonly string[];

export function protectedPorts(desired: DesiredState, dhcp: Pick<DhcpAddressBook, 'addressesOf' | 'serverAddress'>, assigned: AssignedAddresses): ProtectedPort[] {
  const networks = new Map<string, Network>(desired.networks.map((n) => [n.name, n]));
  const out: ProtectedPort[] = [];
  for (const a of desired.attachments) {
    if (!isProtected(a)) continue;
    const n = networks.get(a.network);
    const mac = macOf(a);
    const macs = [mac];
    const addrs = { v4: new Set<string>(), v6: new Set<string>() };
    addrs.v6.add(linkLocalOf(mac));
    // What the workload's own SLAAC forms in an advertised prefix (privacy or stable-privacy
    // addresses are not predictable: a workload using them needs an address pair).
    const slaac = n ? slaacSubnet(n) : undefined;
    const formed = slaac ? slaacAddressOf(slaac.cidr, mac) : null;
    if (formed) addrs.v6.add(formed);
    for (const ip of assigned(a.name)) addTo(addrs, ip);
    for (const ip of dhcp.addressesOf(a.network, mac)) addTo(addrs, ip);
    for (const pair of a.portSecurity?.allowedAddressPairs ?? []) {
      addTo(addrs, pair.ip);
      const m = pair.mac.toLowerCase();
      if (m && !macs.includes(m)) macs.push(m);
    }
    const routed = n !== undefined && isRouted(n);
    out.push({
      attachment: a.name, ifName: ifNameOf(a), network: a.network, routed, bridge: n && !routed ? bridgeNameOf(n) : '',
      macs, v4: [...addrs.v4].sort(), v6: [...addrs.v6].sort(),
      groups: [...new Set(a.portSecurity?.securityGroups ?? [])],
      dhcpServer: dhcp.serverAddress(a.network) ?? null,
    });
  }
  return out;
}

/** The network's IPv6 subnet when its workloads form addresses by SLAAC from the agent's advertisements. */
function slaacSubnet(n: Network): Subnet | undefined {
  const s = subnetOf(n, 6);
  const autonomous = s && (s.ipv6Mode === Ipv6Mode.IPV6_MODE_UNSPECIFIED || s.ipv6Mode === Ipv6Mode.SLAAC || s.ipv6Mode === Ipv6Mode.DHCPV6_STATELESS);
  // The agent advertises it on the bridge (gatewayOnBridge) or, routed, on every device.
  return autonomous && (s.gatewayOnBridge || isRouted(n)) ? s : undefined;
}
