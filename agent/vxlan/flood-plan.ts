// The flood list of a VXLAN network with `remotes` (head-end replication): one all-zeros FDB
// entry per remote tunnel endpoint on its VXLAN device, so broadcast, unknown unicast and
// multicast frames are copied to every remote. Pure: which networks have one, and which
// entries a device lacks or has too many of. No I/O.
import { parseIp } from '../../dataplane/ip.js';
import type { FdbEntry, FdbSpec, Link } from '../../dataplane/types.js';
import type { DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import { ownerAlias, uplinkDeviceOf } from '../naming.js';

export const FLOOD_MAC = '00:00:00:00:00:00';

export interface FloodNetwork {
  network: string;
  /** The VXLAN device (hnvx<vni>). */
  dev: string;
  /** Canonical IP texts, as given (validation refuses duplicates). */
  remotes: string[];
  /** The uplink's UDP port, when it names one. */
  port?: number;
}

/** The network's flood list, or null when its uplink is not a VXLAN with `remotes`. */
export function floodNetworkOf(n: Network): FloodNetwork | null {
  const k = n.uplink?.kind;
  if (k?.$case !== 'vxlan' || k.vxlan.remotes.length === 0) return null;
  const up = uplinkDeviceOf(n);
  if (!up) return null;
  const remotes = [...new Set(k.vxlan.remotes.map((r) => parseIp(r)?.text ?? r))];
  return { network: n.name, dev: up.name, remotes, ...(k.vxlan.port !== undefined ? { port: k.vxlan.port } : {}) };
}

export function floodNetworks(desired: DesiredState): FloodNetwork[] {
  return desired.networks.flatMap((n) => floodNetworkOf(n) ?? []);
}

/**
 * The network's VXLAN device as the kernel has it, when it is there and hostnet's for this
 * network (its alias): another's device of that name is never written to. Until the links
 * participant has made it, there is nothing to do.
 */
export function floodDevice(f: FloodNetwork, links: readonly Link[]): Link | null {
  const link = links.find((l) => l.name === f.dev);
  if (!link || link.kind !== 'vxlan' || !link.vxlan || link.alias !== ownerAlias('vxlan', f.network)) return null;
  return link;
}

/** An entry of the flood list: the device's own (self), all-zeros MAC, with a remote. */
export function isFloodEntry(e: FdbEntry): boolean {
  return e.self && e.mac === FLOOD_MAC && e.dst !== undefined;
}

/**
 * Entries are the same remote when dst, port and VNI agree, absent meaning the device's own
 * (the kernel reports port and VNI only where they differ from it).
 */
function keyOf(dst: string, port: number | undefined, vni: number | undefined, device: { port: number; vni: number }): string {
  return `${parseIp(dst)?.text ?? dst}|${port ?? device.port}|${vni ?? device.vni}`;
}

export interface FloodChanges {
  add: FdbSpec[];
  remove: FdbSpec[];
  /** Remotes present and wanted, sorted: what status reports as remoteVteps. */
  present: string[];
}

/**
 * What makes `entries` (the device's FDB, any MACs) hold exactly one flood entry per remote:
 * the missing ones appended, and the flood entries of no wanted remote (or of a wanted remote
 * with another port or VNI) removed. Entries of other MACs, and all-zeros entries without a
 * remote or not the device's own, are never touched.
 */
export function planFloodEntries(f: FloodNetwork, device: { port: number; vni: number }, entries: readonly FdbEntry[]): FloodChanges {
  const wantPort = f.port ?? device.port;
  const wanted = new Map(f.remotes.map((dst) => [keyOf(dst, wantPort, undefined, device), dst]));
  const have = new Set<string>();
  const remove: FdbSpec[] = [];
  const present = new Set<string>();
  for (const e of entries) {
    if (!isFloodEntry(e)) continue;
    const key = keyOf(e.dst!, e.port, e.vni, device);
    const dst = wanted.get(key);
    if (dst !== undefined) {
      have.add(key);
      present.add(dst);
    } else {
      // Deleted as it is listed: the kernel matches dst, port and VNI.
      remove.push({ dev: f.dev, mac: FLOOD_MAC, dst: e.dst!, ...(e.port !== undefined ? { port: e.port } : {}), ...(e.vni !== undefined ? { vni: e.vni } : {}) });
    }
  }
  const add: FdbSpec[] = [];
  for (const [key, dst] of wanted) {
    if (have.has(key)) continue;
    // The device's own port goes without saying (and reads back without it).
    add.push({ dev: f.dev, mac: FLOOD_MAC, dst, ...(wantPort !== device.port ? { port: wantPort } : {}) });
  }
  return { add, remove, present: [...present].sort(compareIps) };
}

/** Numeric order of IP texts (IPv4 before IPv6), so 10.0.0.9 comes before 10.0.0.10. */
export function compareIps(a: string, b: string): number {
  const x = parseIp(a);
  const y = parseIp(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.family !== y.family) return x.family - y.family;
  return x.value < y.value ? -1 : x.value > y.value ? 1 : 0;
}
