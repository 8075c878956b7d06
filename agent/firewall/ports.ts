// The facts the firewall needs about each attachment with port security on: its device, the
// MACs and addresses it may send from, its groups. Addresses come from the desired state
// (address pairs), from address management (static and auto addresses), from DHCP (its
// reservation, the lease it holds now) and from the MAC (the EUI-64 IPv6 link-local address the kernel gives a new link).
import type { Attachment, DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import type { DhcpAddressBook } from '../dhcp/host.js';
import { bridgeNameOf, ifNameOf, macOf } from '../naming.js';
import { parseCidr, parseIp } from '../../dataplane/ip.js';

export interface ProtectedPort {
  attachment: string;
  /** The host-side device on the bridge (the TAP or the host end of the veth). */
  ifName: string;
  network: string;
  /** The network's bridge: routed or local traffic to the workload leaves through it. */
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
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const w = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
  return parseIp(`fe80::${w(b[0]! ^ 0x02, b[1]!)}:${w(b[2]!, 0xff)}:${w(0xfe, b[3]!)}:${w(b[4]!, b[5]!)}`)!.text;
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
    for (const ip of assigned(a.name)) addTo(addrs, ip);
    for (const ip of dhcp.addressesOf(a.network, mac)) addTo(addrs, ip);
    for (const pair of a.portSecurity?.allowedAddressPairs ?? []) {
      addTo(addrs, pair.ip);
      const m = pair.mac.toLowerCase();
      if (m && !macs.includes(m)) macs.push(m);
    }
    out.push({
      attachment: a.name, ifName: ifNameOf(a), network: a.network, bridge: n ? bridgeNameOf(n) : '',
      macs, v4: [...addrs.v4].sort(), v6: [...addrs.v6].sort(),
      groups: [...new Set(a.portSecurity?.securityGroups ?? [])],
      dhcpServer: dhcp.serverAddress(a.network) ?? null,
    });
  }
  return out;
}
