// FRR's integrated configuration (frr.conf) rendered from the desired state: pure, no I/O, so a
// pass compares text with text and a test reads exactly what FRR will read.
//
// What it says: `frr defaults datacenter` (3 s keepalives, 9 s hold: sessions come up and fail
// over in seconds; the daemons are started with the same profile, -F datacenter), the node's
// BGP speaker with its router id, no implicit IPv4 unicast session, every peer with its AS
// (eBGP or iBGP by the number) and description, and one block per address family: today L2VPN
// EVPN with every peer activated and `advertise-all-vni` (zebra hands every VNI of a VXLAN
// device in a bridge to bgpd: local MACs go out as type-2 routes, the VTEP as a type-3 route).
import type { Bgp, DesiredState } from '../api/gen/hostnet/v1/resources.js';

export interface FrrConfigInput {
  /** Shown in FRR's prompt and logs. */
  hostname: string;
  /** null: no BGP (a config without `router bgp`, which removes it on reload). */
  bgp: Bgp | null;
  /** The desired state the address families read (issue 13: routed networks' prefixes). */
  desired?: DesiredState;
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

/**
 * The address families of `router bgp`, in order. Extension point for issue 13: routed
 * networks announce their prefixes by adding an "ipv4 unicast" / "ipv6 unicast" family here
 * (e.g. `network 10.1.0.0/24` lines from input.desired's routed networks); every peer is
 * activated in every family listed.
 */
export function addressFamiliesOf(_input: FrrConfigInput): AddressFamily[] {
  return [evpnFamily()];
}

/** The first line of every file hostnet writes: who owns it. */
export const FRR_CONFIG_HEADER = '! Written by hostnet-agent from the desired state: edits are overwritten.';

/** frr.conf for the input; ends with a newline. */
export function renderFrrConfig(input: FrrConfigInput): string {
  const out: string[] = [FRR_CONFIG_HEADER, 'frr defaults datacenter', `hostname ${hostnameOf(input.hostname)}`, '!'];
  const bgp = input.bgp;
  if (bgp) {
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
