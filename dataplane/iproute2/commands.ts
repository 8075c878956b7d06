// Specs -> `ip` argument words. Pure: the backend decides when each line runs.
import { DEFAULT_VXLAN_PORT } from '../conflicts.js';
import type { BridgeSpec, Link, LinkAttrs, TapSpec, VethSpec, VlanSpec, VxlanSpec } from '../types.js';

/** Attributes `ip link add` applies at creation. The kernel ignores IFLA_IFALIAS there. */
export function createAttrs(a: LinkAttrs): string[] {
  const words: string[] = [];
  if (a.mtu !== undefined) words.push('mtu', String(a.mtu));
  if (a.mac !== undefined) words.push('address', a.mac);
  if (a.group !== undefined) words.push('group', String(a.group));
  if (a.master) words.push('master', a.master);
  if (a.up) words.push('up');
  return words;
}

/**
 * `link set` words for the given attributes that differ from `current` (all given ones when
 * there is no current state). Empty when nothing would change.
 */
export function setAttrs(a: LinkAttrs, current: Link | null, links: Link[]): string[] {
  const words: string[] = [];
  if (a.mtu !== undefined && a.mtu !== current?.mtu) words.push('mtu', String(a.mtu));
  if (a.mac !== undefined && a.mac.toLowerCase() !== current?.mac) words.push('address', a.mac);
  if (a.alias !== undefined && a.alias !== (current?.alias ?? '')) words.push('alias', a.alias);
  if (a.group !== undefined && a.group !== current?.group) words.push('group', String(a.group));
  if (a.master === null && (current === null || current.masterIndex !== null)) words.push('nomaster');
  if (typeof a.master === 'string') {
    const master = links.find((l) => l.name === a.master);
    if (current === null || master === undefined || master.index !== current.masterIndex) words.push('master', a.master);
  }
  if (a.up !== undefined && a.up !== current?.up) words.push(a.up ? 'up' : 'down');
  return words.length > 0 ? ['link', 'set', 'dev', a.name, ...words] : [];
}

export function bridgeCreate(s: BridgeSpec): string[] {
  const words = ['link', 'add', s.name, ...createAttrs(s), 'type', 'bridge', 'stp_state', s.stp ? '1' : '0'];
  // With STP on, forward delay 0 is out of range: keep the kernel's default unless given.
  const delay = s.forwardDelayCentis ?? (s.stp ? undefined : 0);
  if (delay !== undefined) words.push('forward_delay', String(delay));
  if (s.vlanFiltering !== undefined) words.push('vlan_filtering', s.vlanFiltering ? '1' : '0');
  if (s.vlanDefaultPvid !== undefined) words.push('vlan_default_pvid', String(s.vlanDefaultPvid));
  return words;
}

/** Bridge options of an existing bridge: only those given and different. */
export function bridgeUpdate(s: BridgeSpec, current: Link): string[] {
  const words: string[] = [];
  const b = current.bridge;
  if (s.stp !== undefined && s.stp !== b?.stp) words.push('stp_state', s.stp ? '1' : '0');
  if (s.forwardDelayCentis !== undefined && s.forwardDelayCentis !== b?.forwardDelayCentis) {
    words.push('forward_delay', String(s.forwardDelayCentis));
  }
  if (s.vlanFiltering !== undefined && s.vlanFiltering !== b?.vlanFiltering) words.push('vlan_filtering', s.vlanFiltering ? '1' : '0');
  // Not part of Link: set it whenever given (setting the same value changes nothing).
  if (s.vlanDefaultPvid !== undefined) words.push('vlan_default_pvid', String(s.vlanDefaultPvid));
  return words.length > 0 ? ['link', 'set', 'dev', s.name, 'type', 'bridge', ...words] : [];
}

export function vlanCreate(s: VlanSpec): string[] {
  const words = ['link', 'add', 'link', s.parent, 'name', s.name, ...createAttrs(s), 'type', 'vlan', 'id', String(s.vlanId)];
  if (s.protocol !== undefined) words.push('protocol', s.protocol);
  return words;
}


export function vxlanCreate(s: VxlanSpec): string[] {
  const words = ['link', 'add', s.name, ...createAttrs(s), 'type', 'vxlan', 'id', String(s.vni)];
  if (s.local !== undefined) words.push('local', s.local);
  if (s.remote !== undefined) words.push('remote', s.remote);
  if (s.multicastGroup !== undefined) words.push('group', s.multicastGroup);
  if (s.device !== undefined) words.push('dev', s.device);
  words.push('dstport', String(s.port ?? DEFAULT_VXLAN_PORT));
  words.push(s.learning ? 'learning' : 'nolearning');
  if (s.ttl !== undefined) words.push('ttl', String(s.ttl));
  return words;
}

/**
 * What may change on an existing VXLAN (learning, ttl); vni, endpoints, port and device are
 * fixed at creation (vxlanConflict refuses them first).
 */
export function vxlanUpdate(s: VxlanSpec, current: Link): string[] {
  const words: string[] = [];
  const learning = s.learning ?? false;
  if (learning !== current.vxlan?.learning) words.push(learning ? 'learning' : 'nolearning');
  // ttl is not part of Link: set it whenever given.
  if (s.ttl !== undefined) words.push('ttl', String(s.ttl));
  return words.length > 0 ? ['link', 'set', 'dev', s.name, 'type', 'vxlan', ...words] : [];
}

/** The peer is created directly in its namespace, with its MTU and MAC; "up" needs a second step. */
export function vethCreate(s: VethSpec): string[] {
  const words = ['link', 'add', s.name, ...createAttrs(s), 'type', 'veth', 'peer', 'name', s.peer.name];
  if (s.peer.netns !== undefined) words.push('netns', s.peer.netns);
  if (s.peer.mtu !== undefined) words.push('mtu', String(s.peer.mtu));
  if (s.peer.mac !== undefined) words.push('address', s.peer.mac);
  return words;
}

/** `ip tuntap add` makes the device persistent; link attributes follow in a `link set`. */
export function tapCreate(s: TapSpec): string[] {
  const words = ['tuntap', 'add', 'dev', s.name, 'mode', 'tap'];
  if (s.owner !== undefined) words.push('user', String(s.owner));
  if (s.groupOwner !== undefined) words.push('group', String(s.groupOwner));
  if (s.multiQueue) words.push('multi_queue');
  if (s.vnetHdr) words.push('vnet_hdr');
  return words;
}
