// "Is this existing link the one a spec asks for?" decided once, for the planner and both
// backends. A non-null answer names what differs and is fixed at creation: the caller refuses
// (backends: EEXIST with this text) or recreates (the planner, under hostnet's marker). What a
// link can change in place (mtu, mac, alias, group, master, up, bridge STP/forward delay,
// VXLAN learning) is never a conflict: setLink and the ensure* calls change it.
import { canonicalIp } from './ip.js';
import type { BridgeSpec, Link, TapSpec, VethSpec, VlanSpec, VxlanSpec } from './types.js';

/** The default VXLAN UDP port (IANA), used when a spec gives none. */
export const DEFAULT_VXLAN_PORT = 4789;

function otherKind(l: Link, name: string, want: string): string | null {
  return l.kind === want ? null : `"${name}" exists as a ${l.kind}, not a ${want}`;
}

function fixed(kind: string, name: string, differs: string[]): string | null {
  return differs.length === 0
    ? null
    : `${kind} "${name}" exists with ${differs.join(', ')}; these are fixed at creation (delete the ${kind} to change them)`;
}

/** A bridge's options all change in place: only another kind conflicts. */
export function bridgeConflict(l: Link, spec: Pick<BridgeSpec, 'name'>): string | null {
  return otherKind(l, spec.name, 'bridge');
}

/**
 * Parent, id and protocol are fixed. `parentIndex` is the wanted parent's ifindex here;
 * `nameOf` names the existing parent in the message (an ifindex when it cannot).
 */
export function vlanConflict(
  l: Link,
  spec: Pick<VlanSpec, 'name' | 'parent' | 'vlanId' | 'protocol'>,
  parentIndex: number,
  nameOf: (index: number) => string | null = () => null,
): string | null {
  const kind = otherKind(l, spec.name, 'vlan');
  if (kind) return kind;
  const differs: string[] = [];
  if (l.vlan?.id !== spec.vlanId) differs.push(`id ${l.vlan?.id}`);
  if (l.linkIndex !== parentIndex) {
    differs.push(`parent ${l.linkIndex === null ? 'none' : (nameOf(l.linkIndex) ?? `ifindex ${l.linkIndex}`)}`);
  }
  if (spec.protocol !== undefined && l.vlan?.protocol !== spec.protocol) differs.push(`protocol ${l.vlan?.protocol}`);
  return fixed('vlan', spec.name, differs);
}

/**
 * VNI, local, remote or group, port and underlay device are fixed (the kernel refuses to
 * change the VNI and port; hostnet treats the tunnel's endpoints alike). An unset local,
 * remote or device means none. `deviceIndex`: the wanted underlay's ifindex, if any.
 */
export function vxlanConflict(
  l: Link,
  spec: Pick<VxlanSpec, 'name' | 'vni' | 'local' | 'remote' | 'multicastGroup' | 'port'>,
  deviceIndex: number | null,
): string | null {
  const kind = otherKind(l, spec.name, 'vxlan');
  if (kind) return kind;
  const x = l.vxlan;
  if (!x) return fixed('vxlan', spec.name, ['no VXLAN attributes']);
  const same = (a: string | null | undefined, b: string | null | undefined): boolean =>
    (a ? canonicalIp(a) : null) === (b ? canonicalIp(b) : null);
  const differs: string[] = [];
  if (x.vni !== spec.vni) differs.push(`vni ${x.vni}`);
  if (!same(x.local, spec.local)) differs.push(`local ${x.local ?? 'none'}`);
  if (!same(x.remote, spec.remote ?? spec.multicastGroup)) differs.push(`remote ${x.remote ?? 'none'}`);
  if (x.port !== (spec.port ?? DEFAULT_VXLAN_PORT)) differs.push(`port ${x.port}`);
  if ((x.device ?? null) !== deviceIndex) differs.push(`device ${x.device === undefined ? 'none' : `ifindex ${x.device}`}`);
  return fixed('vxlan', spec.name, differs);
}

/** What the desired peer namespace holds, as seen from the veth's own namespace. */
export interface VethPeerFacts {
  /** The link named `peer.name` in the desired peer namespace, or null. */
  peer: Link | null;
  /**
   * The id the desired peer namespace has in the veth's namespace (null: the same namespace;
   * undefined: unknown, e.g. no id assigned yet). Compared with the veth's IFLA_LINK_NETNSID.
   */
  netnsId: number | null | undefined;
}

/**
 * A veth is the one asked for when its peer is the link named `peer.name` in the desired
 * namespace: the two point at each other by ifindex, and (when known) the peer namespace's
 * id is the one the veth reports. Peer name and namespace are fixed: a veth cannot be
 * re-peered, and moving the peer would lose what the workload configured on it.
 */
export function vethConflict(l: Link, spec: Pick<VethSpec, 'name' | 'peer'>, facts: VethPeerFacts): string | null {
  const kind = otherKind(l, spec.name, 'veth');
  if (kind) return kind;
  const where = spec.peer.netns === undefined ? 'this namespace' : `namespace ${spec.peer.netns}`;
  const p = facts.peer;
  const paired = p !== null && p.kind === 'veth' && p.index === l.linkIndex && p.linkIndex === l.index;
  const sameNetns = facts.netnsId === undefined
    ? (l.linkNetnsId === undefined) === (spec.peer.netns === undefined)
    : (l.linkNetnsId ?? null) === facts.netnsId;
  if (paired && sameNetns) return null;
  const now = l.linkNetnsId === undefined ? 'this namespace' : `the namespace with id ${l.linkNetnsId}`;
  return `veth "${spec.name}" exists, but its peer is not "${spec.peer.name}" in ${where} (it is ifindex ${l.linkIndex} in ${now}); ` +
    'the peer is fixed at creation (delete the veth to change it)';
}

/**
 * TAP flags and owners are set by TUNSETIFF/TUNSETOWNER at creation only. vnet_hdr is left out:
 * every process that opens the TAP sets it anew (QEMU turns it on by default), so a difference
 * means the TAP is in use, not that it is another device.
 */
export function tapConflict(l: Link, spec: Pick<TapSpec, 'name' | 'multiQueue' | 'owner' | 'groupOwner'>): string | null {
  if (l.kind !== 'tun' || l.tun?.type !== 'tap') {
    return `"${spec.name}" exists as a ${l.kind === 'tun' ? 'TUN (not TAP) device' : l.kind}, not a tap`;
  }
  const t = l.tun;
  const differs: string[] = [];
  if (spec.multiQueue !== undefined && spec.multiQueue !== t.multiQueue) differs.push(`multi_queue ${t.multiQueue ? 'on' : 'off'}`);
  if (spec.owner !== undefined && spec.owner !== t.owner) differs.push(`owner ${t.owner}`);
  if (spec.groupOwner !== undefined && spec.groupOwner !== t.groupOwner) differs.push(`group ${t.groupOwner}`);
  return fixed('tap', spec.name, differs);
}
