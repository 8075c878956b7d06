// Names, MACs, link groups and ownership markers hostnet derives from the desired state.
// Everything here is a pure function of names: the same input gives the same device on every
// node and after every restart, which is what lets a restarted agent re-adopt its devices.
import { createHash } from 'node:crypto';
import type { Attachment, Network } from './api/gen/hostnet/v1/resources.js';

/** Network and attachment names: a DNS label (lower case, digits, '-'), at most 63 chars. */
export const RESOURCE_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Linux interface names are at most 15 bytes (IFNAMSIZ 16 with the NUL). */
export const MAX_IFNAME_BYTES = 15;

export const DEFAULT_MTU = 1500;
export { DEFAULT_VXLAN_PORT } from '../dataplane/conflicts.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function shortHash(text: string, hexChars: number): string {
  return digest(text).toString('hex').slice(0, hexChars);
}

/** "hn-<name>", or "hn-<first 6 chars>-<5 hex of a hash>" when that exceeds 15 bytes. */
export function defaultBridgeName(network: string): string {
  const plain = `hn-${network}`;
  if (Buffer.byteLength(plain) <= MAX_IFNAME_BYTES) return plain;
  return `hn-${network.slice(0, 6)}-${shortHash(`bridge:${network}`, 5)}`;
}

/** "<parent>.<id>" as is customary, or "hnv<id>-<6 hex>" when that exceeds 15 bytes. */
export function vlanDeviceName(parent: string, id: number): string {
  const plain = `${parent}.${id}`;
  if (Buffer.byteLength(plain) <= MAX_IFNAME_BYTES) return plain;
  return `hnv${id}-${shortHash(`vlan:${parent}`, 6)}`;
}

/** "hnvx<vni>": at most 12 bytes. */
export function vxlanDeviceName(vni: number): string {
  return `hnvx${vni}`;
}

/**
 * Derived MACs by input text: every pass derives one per attachment, and sha256 costs more than
 * the rest of a no-op pass. Bounded so a node that churns through names does not grow it forever.
 */
const macCache = new Map<string, string>();
const MAC_CACHE_MAX = 100_000;

function macFromDigest(text: string): string {
  const cached = macCache.get(text);
  if (cached !== undefined) return cached;
  const mac = computeMac(text);
  if (macCache.size >= MAC_CACHE_MAX) macCache.clear();
  macCache.set(text, mac);
  return mac;
}

function computeMac(text: string): string {
  const b = digest(text).subarray(0, 6);
  // Locally administered (bit 1 set), unicast (bit 0 clear).
  b[0] = ((b[0] ?? 0) & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** A stable locally administered unicast MAC derived from an attachment's name. */
export function deriveAttachmentMac(attachment: string): string {
  return macFromDigest(`hostnet:mac:${attachment}`);
}

/** A stable MAC for a network's bridge, so it does not change as ports come and go. */
export function deriveBridgeMac(network: string): string {
  return macFromDigest(`hostnet:bridge-mac:${network}`);
}

/**
 * The host side of a TAP must not carry the guest's MAC (the bridge would then deliver the
 * guest's frames to the host): like libvirt, replace the first byte with 0xfe.
 */
export function tapHostMac(guestMac: string): string {
  return `fe${guestMac.toLowerCase().slice(2)}`;
}

export type OwnedKind = 'bridge' | 'vlan' | 'vxlan' | 'tap' | 'veth';
const OWNED_KINDS: readonly string[] = ['bridge', 'vlan', 'vxlan', 'tap', 'veth'];

export interface Owner {
  kind: OwnedKind;
  /** The network's name (bridge, vlan, vxlan) or the attachment's name (tap, veth). */
  name: string;
}

export const OWNER_PREFIX = 'hostnet:';

/** The ownership marker stored in IFLA_IFALIAS: "hostnet:<kind>:<name>". */
export function ownerAlias(kind: OwnedKind, name: string): string {
  return `${OWNER_PREFIX}${kind}:${name}`;
}

/**
 * The marker on every address hostnet adds: IFA_PROTO (kernel >= 5.18), shown by newer iproute2
 * as "proto 0x68". Addresses carry no alias, so this is how hostnet tells its own from the
 * admin's on a device it does not own (an imported bridge). 104 ('h') is free in
 * /etc/iproute2/rt_protos too, so routes may use the same number later.
 */
export const HOSTNET_ADDR_PROTO = 104;

/** The owner named by a marker, or null when the alias is not a hostnet marker. */
export function parseOwnerAlias(alias: string | null | undefined): Owner | null {
  if (!alias || !alias.startsWith(OWNER_PREFIX)) return null;
  const rest = alias.slice(OWNER_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon <= 0) return null;
  const kind = rest.slice(0, colon);
  const name = rest.slice(colon + 1);
  if (!OWNED_KINDS.includes(kind) || name.length === 0) return null;
  return { kind: kind as OwnedKind, name };
}

/** The link group every device of a network carries (bulk teardown): 0x6e000000 | 24-bit hash. */
export function networkGroup(network: string): number {
  return (0x6e000000 | digest(`hostnet:group:${network}`).readUIntBE(0, 3)) >>> 0;
}

/** Devices to delete in one batch are moved here first, then deleted with one request. */
export const TEARDOWN_GROUP = 0x74640000;

// ---- effective values of a resource (explicit or derived) ----

export function bridgeNameOf(network: Network): string {
  return network.bridgeName ? network.bridgeName : defaultBridgeName(network.name);
}


/** The uplink device hostnet creates (vlan, vxlan) or enslaves (untagged), or null. */
export function uplinkDeviceOf(network: Network): { name: string; kind: 'vlan' | 'vxlan' | 'untagged' } | null {
  const k = network.uplink?.kind;
  switch (k?.$case) {
    case 'vlan':
      return { name: vlanDeviceName(k.vlan.parent, k.vlan.id), kind: 'vlan' };
    case 'vxlan':
      return { name: vxlanDeviceName(k.vxlan.vni), kind: 'vxlan' };
    case 'untagged':
      return { name: k.untagged.name, kind: 'untagged' };
    default:
      return null;
  }
}

export function macOf(attachment: Attachment): string {
  return (attachment.mac ? attachment.mac : deriveAttachmentMac(attachment.name)).toLowerCase();
}

/** The host-side interface name of an attachment ("" when it has no kind). */
export function ifNameOf(attachment: Attachment): string {
  const k = attachment.kind;
  if (k?.$case === 'tap') return k.tap.ifName;
  if (k?.$case === 'veth') return k.veth.ifName;
  return '';
}

/** The DHCP server's own address on a network: dhcp.serverAddress, else the gateway when it is on the bridge. */
export function serverAddressOf(n: Network): string {
  if (n.dhcp?.serverAddress) return n.dhcp.serverAddress;
  return n.gatewayOnBridge && n.gateway ? n.gateway : '';
}
