// Pure planning: what to do so the kernel (ObservedState, one dump per kind) matches the
// desired state. The plan is ordered (deletions first, so a name can be reused; then each
// network's bridge, uplink and addresses; then attachments) and minimal (a device that
// already matches produces nothing; a converged node plans nothing).
//
// Ownership: every device hostnet creates carries the alias "hostnet:<kind>:<name>". The plan
// never modifies or deletes a device without that marker; the exceptions are an imported
// bridge (used: ports are enslaved to it, the gateway address may be added and is removed
// again when no longer desired, told apart by its address protocol; never changed otherwise
// and never deleted) and an untagged uplink NIC named in the desired state (only
// enslaved and brought up; never deleted or otherwise changed).
//
// Something that cannot be done (a missing VLAN parent, a name taken by a foreign device)
// becomes a PlanProblem for that resource's condition; the rest of the node is still planned.
import type {
  AddressSpec, BridgeSpec, Link, LinkAttrs, ObservedState, TapSpec, VethSpec, VlanSpec, VxlanSpec,
} from '../../dataplane/types.js';
import {
  bridgeConflict, tapConflict, vethConflict, vlanConflict, vxlanConflict, type VethPeerFacts,
} from '../../dataplane/conflicts.js';
import type { Attachment, DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import { canonicalCidr, parseCidr, parseIp } from '../../dataplane/ip.js';
import { networkMtu } from '../desired/mtu.js';
import { isRouted, routedGatewayOf } from '../desired/routed.js';
import { subnetsOf } from '../desired/subnets.js';
import {
  bridgeNameOf, deriveBridgeMac, HOSTNET_ADDR_PROTO, ifNameOf, macOf, networkGroup, ownerAlias, parseOwnerAlias,
  tapHostMac, TEARDOWN_GROUP, uplinkDeviceOf, DEFAULT_VXLAN_PORT, type OwnedKind,
} from '../naming.js';

export interface ResourceRef {
  kind: 'network' | 'attachment';
  name: string;
}

interface ActionBase {
  /** The resource the action serves; absent for the teardown of things no longer desired. */
  resource?: ResourceRef;
  /** Why, in words, e.g. "missing", "mtu 1400 -> 1500", "no longer desired". */
  reason: string;
}

export type PlanAction = ActionBase & (
  | { op: 'deleteLinkGroup'; group: number; links: string[] }
  | { op: 'deleteLink'; name: string }
  | { op: 'ensureBridge'; spec: BridgeSpec }
  | { op: 'ensureVlan'; spec: VlanSpec }
  | { op: 'ensureVxlan'; spec: VxlanSpec }
  | { op: 'ensureVeth'; spec: VethSpec }
  | { op: 'ensureTap'; spec: TapSpec }
  | { op: 'setLink'; attrs: LinkAttrs }
  /** A change on the far side of a veth, in the workload's namespace (bringing the peer up). */
  | { op: 'setPeerLink'; netns: string; attrs: LinkAttrs }
  | { op: 'addAddress'; spec: AddressSpec }
  | { op: 'deleteAddress'; spec: AddressSpec }
);

export interface PlanProblem {
  resource: ResourceRef;
  /** The condition it sets False, e.g. "UplinkReady". */
  condition: 'BridgeReady' | 'UplinkReady' | 'Configured';
  /** CamelCase reason, e.g. "ParentMissing". */
  reason: string;
  message: string;
}

export interface Plan {
  actions: PlanAction[];
  problems: PlanProblem[];
}

export interface PlanOptions {
  /**
   * From this many deletions on, devices are removed in kernel batches (a whole link group,
   * or moved into the teardown group and deleted with one request). Default 2.
   */
  bulkDeleteMin?: number;
  /**
   * What each desired veth's peer namespace holds (by host-side name), to tell whether an
   * existing veth still has the desired peer. Without an entry a veth is judged by kind alone.
   */
  vethPeers?: ReadonlyMap<string, VethPeerFacts>;
  /**
   * Names hostnet recorded the intent to create (agent/kernel/intents.ts): a device of such a
   * name without the marker is one hostnet half made before a crash, not a foreign one.
   */
  halfMade?: ReadonlySet<string>;
}

/** RT_SCOPE_LINK: link-local addresses (fe80::/10) are the kernel's, never pruned. */
const SCOPE_LINK = 253;

interface Want {
  name: string;
  mtu?: number;
  mac?: string;
  alias?: string;
  group?: number;
  up?: boolean;
  /** Bridge name to be enslaved to. */
  master?: string;
}

export function planReconcile(desired: DesiredState, observed: ObservedState, options: PlanOptions = {}): Plan {
  const bulkDeleteMin = options.bulkDeleteMin ?? 2;
  const byName = new Map(observed.links.map((l) => [l.name, l]));
  const byIndex = new Map(observed.links.map((l) => [l.index, l]));
  const nameOfIndex = (index: number): string | null => byIndex.get(index)?.name ?? null;
  const deletions = new Set<string>();
  /** Names of devices in use: never deleted, whatever alias they carry. */
  const kept = new Set<string>();
  const build: PlanAction[] = [];
  /** Steps in workload namespaces, after everything in this one. */
  const peers: PlanAction[] = [];
  const problems: PlanProblem[] = [];
  /** Bridges that exist (index) or will be created in this plan (null); a routed network's has no name. */
  const bridges = new Map<string, { name: string | null; index: number | null }>();
  /** The devices of routed networks' attachments: their addresses are planned with them. */
  const routedDevices = new Set<string>();
  /** Steps after every device exists (a routed device's address). */
  const deferred: PlanAction[] = [];

  /**
   * How a desired owned device stands: 'create' (absent, or an owned device in the way that
   * will be deleted first: `reason` says why), 'adopt' (exists with the right marker and
   * `conflict`, the dataplane's rule, finds nothing fixed that differs), or 'blocked' (the name
   * belongs to a device hostnet does not own).
   */
  const claim = (name: string, kind: OwnedKind, owner: string, conflict: (l: Link) => string | null, resource: ResourceRef,
    condition: PlanProblem['condition']): { state: 'create'; reason: string } | { state: 'adopt'; link: Link } | { state: 'blocked' } => {
    kept.add(name);
    const link = byName.get(name);
    if (!link) return { state: 'create', reason: 'missing' };
    const o = parseOwnerAlias(link.alias);
    if (!o && !link.alias && options.halfMade?.has(name)) {
      // Created by hostnet, marker not yet set: finish it if it is the device desired.
      const why = conflict(link);
      if (why === null) return { state: 'adopt', link };
      deletions.add(name);
      return { state: 'create', reason: `recreate half-made device: ${why}` };
    }
    if (!o) {
      problems.push({
        resource, condition, reason: 'NameTaken',
        message: `a ${link.kind} device named "${name}" exists without hostnet's marker; hostnet does not touch it`,
      });
      return { state: 'blocked' };
    }
    const why = o.kind === kind && o.name === owner ? conflict(link) : `owned by ${link.alias}`;
    if (why === null) return { state: 'adopt', link };
    deletions.add(name);
    return { state: 'create', reason: `recreate: ${why}` };
  };

  const setIfDiffers = (link: Link, want: Want, masterIndex: number | null | undefined, resource: ResourceRef): void => {
    const attrs: LinkAttrs = { name: link.name };
    const why: string[] = [];
    if (want.mtu !== undefined && want.mtu !== link.mtu) { attrs.mtu = want.mtu; why.push(`mtu ${link.mtu} -> ${want.mtu}`); }
    if (want.mac !== undefined && want.mac.toLowerCase() !== (link.mac ?? '').toLowerCase()) { attrs.mac = want.mac; why.push(`mac ${link.mac} -> ${want.mac}`); }
    if (want.alias !== undefined && want.alias !== (link.alias ?? '')) { attrs.alias = want.alias; why.push(`alias -> ${want.alias}`); }
    if (want.group !== undefined && want.group !== link.group) { attrs.group = want.group; why.push(`group ${link.group} -> ${want.group}`); }
    if (want.master !== undefined && (masterIndex === null || masterIndex !== link.masterIndex)) {
      attrs.master = want.master;
      why.push(link.masterIndex === null ? `not a port: enslave to ${want.master}` : `enslave to ${want.master}`);
    }
    if (want.up !== undefined && want.up !== link.up) { attrs.up = want.up; why.push(want.up ? 'down -> up' : 'up -> down'); }
    if (why.length > 0) build.push({ op: 'setLink', attrs, resource, reason: why.join(', ') });
  };

  for (const n of desired.networks) planNetwork(n);
  for (const a of desired.attachments) planAttachment(a);

  // Owned devices that nothing desired uses any more (or that are in the way) go first, and
  // so do devices hostnet half made for something no longer desired.
  for (const link of observed.links) {
    if (kept.has(link.name)) continue;
    if (parseOwnerAlias(link.alias) || (!link.alias && options.halfMade?.has(link.name))) deletions.add(link.name);
  }
  const teardown = planDeletions([...deletions], observed.links, bulkDeleteMin);
  // Peers come up after every pair exists: interleaving each peer-up with the creations makes
  // the kernel's carrier work contend with them (measured: 2x slower for 1000 pairs).
  return { actions: [...teardown, ...planAddressTeardown(), ...build, ...deferred, ...peers], problems };

  function planNetwork(n: Network): void {
    const resource: ResourceRef = { kind: 'network', name: n.name };
    // A routed network has no bridge and no uplink: its attachments' devices are its links.
    if (isRouted(n)) {
      bridges.set(n.name, { name: null, index: null });
      return;
    }
    const bridgeName = bridgeNameOf(n);
    const mtu = networkMtu(n, observed);
    const group = networkGroup(n.name);
    // Whatever happens to the bridge below, the uplink's name is this network's: an owned
    // uplink is left alone while the network cannot be readied, not torn down.
    const up = uplinkDeviceOf(n);
    if (up) kept.add(up.name);

    // The bridge.
    if (n.importedBridge) {
      kept.add(bridgeName);
      const link = byName.get(bridgeName);
      if (!link || link.kind !== 'bridge') {
        problems.push({
          resource, condition: 'BridgeReady', reason: link ? 'NotABridge' : 'ImportedBridgeMissing',
          message: link ? `imported bridge "${bridgeName}" is a ${link.kind}, not a bridge` : `imported bridge "${bridgeName}" does not exist`,
        });
        return;
      }
      bridges.set(n.name, { name: bridgeName, index: link.index });
    } else {
      const alias = ownerAlias('bridge', n.name);
      const want = { name: bridgeName, mtu, mac: deriveBridgeMac(n.name), alias, group, up: true };
      const c = claim(bridgeName, 'bridge', n.name, (l) => bridgeConflict(l, want), resource, 'BridgeReady');
      if (c.state === 'blocked') return;
      if (c.state === 'create') {
        build.push({ op: 'ensureBridge', spec: { ...want, stp: false, forwardDelayCentis: 0 }, resource, reason: c.reason });
        bridges.set(n.name, { name: bridgeName, index: null });
      } else {
        const b = c.link.bridge;
        if (b && (b.stp || b.forwardDelayCentis !== 0)) {
          build.push({ op: 'ensureBridge', spec: { ...want, stp: false, forwardDelayCentis: 0 }, resource, reason: 'stp or forward delay changed' });
        } else setIfDiffers(c.link, want, undefined, resource);
        bridges.set(n.name, { name: bridgeName, index: c.link.index });
      }
    }
    const bridge = bridges.get(n.name)!;

    // The uplink.
    const k = n.uplink?.kind;
    const port = { mtu, group, up: true, master: bridgeName };
    if (up && k?.$case === 'vlan') {
      const parent = byName.get(k.vlan.parent);
      kept.add(k.vlan.parent);
      if (!parent) {
        problems.push({ resource, condition: 'UplinkReady', reason: 'ParentMissing', message: `VLAN parent "${k.vlan.parent}" does not exist` });
      } else {
        const alias = ownerAlias('vlan', n.name);
        const spec: VlanSpec = { ...port, name: up.name, alias, parent: parent.name, vlanId: k.vlan.id };
        const c = claim(up.name, 'vlan', n.name, (l) => vlanConflict(l, spec, parent.index, nameOfIndex), resource, 'UplinkReady');
        if (c.state === 'create') {
          build.push({ op: 'ensureVlan', spec, resource, reason: c.reason });
        } else if (c.state === 'adopt') setIfDiffers(c.link, { ...port, name: up.name, alias }, bridge.index, resource);
      }
    } else if (up && k?.$case === 'vxlan') {
      const x = k.vxlan;
      const underlay = x.device ? byName.get(x.device) : undefined;
      if (x.device) kept.add(x.device);
      if (x.device && !underlay) {
        problems.push({ resource, condition: 'UplinkReady', reason: 'UnderlayMissing', message: `VXLAN underlay device "${x.device}" does not exist` });
      } else {
        const alias = ownerAlias('vxlan', n.name);
        const remote = x.destination?.$case === 'remote' ? x.destination.remote : undefined;
        const groupAddr = x.destination?.$case === 'group' ? x.destination.group : undefined;
        const spec: VxlanSpec = {
          ...port, name: up.name, alias, vni: x.vni, port: x.port ?? DEFAULT_VXLAN_PORT,
          ...(x.local ? { local: x.local } : {}), ...(remote ? { remote } : {}),
          ...(groupAddr ? { multicastGroup: groupAddr } : {}), ...(x.device ? { device: x.device } : {}),
        };
        const c = claim(up.name, 'vxlan', n.name, (l) => vxlanConflict(l, spec, underlay?.index ?? null), resource, 'UplinkReady');
        if (c.state === 'create') build.push({ op: 'ensureVxlan', resource, reason: c.reason, spec });
        else if (c.state === 'adopt') setIfDiffers(c.link, { ...port, name: up.name, alias }, bridge.index, resource);
      }
    } else if (up && k?.$case === 'untagged') {
      kept.add(up.name);
      const nic = byName.get(up.name);
      const nicMaster = nic?.masterIndex != null ? observed.links.find((l) => l.index === nic.masterIndex) : undefined;
      if (!nic) {
        problems.push({ resource, condition: 'UplinkReady', reason: 'InterfaceMissing', message: `uplink interface "${up.name}" does not exist` });
      } else if (nicMaster && nicMaster.name !== bridgeName && !parseOwnerAlias(nicMaster.alias)) {
        problems.push({
          resource, condition: 'UplinkReady', reason: 'InterfaceInUse',
          message: `uplink interface "${up.name}" is a port of "${nicMaster.name}", which hostnet does not own`,
        });
      } else {
        // A NIC the admin named: only enslaved and brought up.
        setIfDiffers(nic, { name: up.name, master: bridgeName, up: true }, bridge.index, resource);
      }
    }

    // Addresses on the bridge: each subnet's gateway (gatewayOnBridge) and the DHCP server's own.
    // Every address hostnet adds carries HOSTNET_ADDR_PROTO. A wanted address already there
    // without it (the admin put the same address there) is left as it is, unmarked: it stays
    // the admin's, and hostnet never deletes it. On a managed bridge every other address goes
    // (the bridge is hostnet's; addresses an older hostnet added carry no marker); on an imported
    // one only addresses with hostnet's marker do.
    const wanted = new Map<string, AddressSpec>();
    for (const subnet of subnetsOf(n)) {
      const cidr = parseCidr(subnet.cidr);
      if (!cidr) continue;
      const addAddr = (ip: string): void => {
        const parsed = parseIp(ip);
        if (!parsed) return;
        const text = `${parsed.text}/${cidr.prefix}`;
        wanted.set(text, { dev: bridgeName, cidr: text, ...(parsed.family === 6 ? { nodad: true } : {}), protocol: HOSTNET_ADDR_PROTO });
      };
      if (subnet.gatewayOnBridge && subnet.gateway) addAddr(subnet.gateway);
      if (subnet.primary && subnet.dhcp?.enabled && subnet.dhcp.serverAddress) addAddr(subnet.dhcp.serverAddress);
    }
    const present = new Set<string>();
    if (bridge.index !== null) {
      for (const a of observed.addresses) {
        if (a.index !== bridge.index) continue;
        const text = canonicalCidr(a.cidr);
        if (wanted.has(text)) present.add(text);
        else if (!n.importedBridge && a.scope !== SCOPE_LINK) {
          build.push({ op: 'deleteAddress', spec: { dev: bridgeName, cidr: a.cidr }, resource, reason: 'not desired on a managed bridge' });
        } else if (n.importedBridge && a.protocol === HOSTNET_ADDR_PROTO) {
          build.push({ op: 'deleteAddress', spec: { dev: bridgeName, cidr: a.cidr }, resource, reason: 'added by hostnet, no longer desired' });
        }
      }
    }
    for (const [text, spec] of wanted) {
      if (!present.has(text)) build.push({ op: 'addAddress', spec, resource, reason: 'missing' });
    }
  }

  /**
   * The gateway of a routed network as a /32 on one of its devices (hostnet's marker): the
   * workload's default router there, and the DHCP server's address. Other addresses with the
   * marker on that device go. Added after the device is made (the attachment's steps run in order).
   */
  function planRoutedAddress(n: Network, dev: string, resource: ResourceRef): void {
    routedDevices.add(dev);
    const gateway = parseIp(routedGatewayOf(n));
    if (!gateway) return;
    const want = `${gateway.text}/${gateway.family === 4 ? 32 : 128}`;
    const link = byName.get(dev);
    let present = false;
    for (const a of link ? observed.addresses : []) {
      if (a.index !== link!.index) continue;
      if (canonicalCidr(a.cidr) === want) present = true;
      else if (a.protocol === HOSTNET_ADDR_PROTO) build.push({ op: 'deleteAddress', spec: { dev, cidr: a.cidr }, resource, reason: 'added by hostnet, not the routed gateway' });
    }
    if (!present) {
      deferred.push({ op: 'addAddress', spec: { dev, cidr: want, protocol: HOSTNET_ADDR_PROTO, ...(gateway.family === 6 ? { nodad: true } : {}) }, resource, reason: 'the routed gateway: missing' });
    }
  }

  /**
   * Addresses with hostnet's marker on devices no desired network plans addresses for (e.g. the
   * imported bridge of a removed network): hostnet added them, nothing wants them. A device that
   * is a desired network's bridge is left to that network's planning (also while it cannot be
   * readied); one about to be deleted takes its addresses with it.
   */
  function planAddressTeardown(): PlanAction[] {
    const bridgeNames = new Set([...desired.networks.map((n) => bridgeNameOf(n)), ...routedDevices]);
    const out: PlanAction[] = [];
    for (const a of observed.addresses) {
      if (a.protocol !== HOSTNET_ADDR_PROTO) continue;
      const dev = byIndex.get(a.index)?.name ?? a.dev;
      if (!dev || bridgeNames.has(dev) || deletions.has(dev)) continue;
      out.push({ op: 'deleteAddress', spec: { dev, cidr: a.cidr }, reason: 'added by hostnet, no network wants it' });
    }
    return out;
  }

  function planAttachment(a: Attachment): void {
    const resource: ResourceRef = { kind: 'attachment', name: a.name };
    const name = ifNameOf(a);
    const network = desired.networks.find((n) => n.name === a.network);
    const bridge = bridges.get(a.network);
    if (!network || !bridge || !a.kind) {
      if (name) kept.add(name); // leave it as it is until its network is ready
      problems.push({ resource, condition: 'Configured', reason: 'NetworkNotReady', message: `network "${a.network}" has no usable bridge` });
      return;
    }
    const mtu = a.mtu ?? networkMtu(network, observed);
    const group = networkGroup(network.name);
    const mac = macOf(a);
    const k = a.kind;
    // A bridged network's port joins its bridge; a routed network's device stays on its own.
    const master = bridge.name !== null ? { master: bridge.name } : {};
    if (isRouted(network)) planRoutedAddress(network, name, resource);
    if (k.$case === 'tap') {
      const t = k.tap;
      const alias = ownerAlias('tap', a.name);
      const want: Want = { name, mtu, mac: tapHostMac(mac), alias, group, up: true, ...master };
      // The dataplane's rule for "same TAP" (fixed flags and owners; vnet_hdr is set by whoever
      // opens it), so the planner and ensureTap never disagree.
      const tapSpec = { name, multiQueue: t.multiQueue, ...(t.owner !== undefined ? { owner: t.owner } : {}), ...(t.group !== undefined ? { groupOwner: t.group } : {}) };
      const c = claim(name, 'tap', a.name, (l) => tapConflict(l, tapSpec), resource, 'Configured');
      if (c.state === 'create') {
        build.push({
          op: 'ensureTap', resource, reason: c.reason,
          spec: {
            ...want, multiQueue: t.multiQueue, vnetHdr: t.vnetHdr,
            ...(t.owner !== undefined ? { owner: t.owner } : {}), ...(t.group !== undefined ? { groupOwner: t.group } : {}),
          },
        });
      } else if (c.state === 'adopt') setIfDiffers(c.link, want, bridge.index, resource);
      return;
    }
    const v = k.veth;
    const alias = ownerAlias('veth', a.name);
    const want: Want = { name, mtu, alias, group, up: true, ...master };
    // The peer is created down and brought up by a setPeerLink step at the end of the plan.
    const spec: VethSpec = { ...want, peer: { name: v.peerIfName, netns: v.peerNetns, mtu, mac } };
    const peerUp = (reason: string): void => {
      peers.push({ op: 'setPeerLink', netns: v.peerNetns, attrs: { name: v.peerIfName, up: true }, resource, reason });
    };
    const peerFacts = options.vethPeers?.get(name);
    const conflict = (l: Link): string | null =>
      peerFacts ? vethConflict(l, spec, peerFacts) : l.kind === 'veth' ? null : `"${name}" exists as a ${l.kind}, not a veth`;
    const c = claim(name, 'veth', a.name, conflict, resource, 'Configured');
    if (c.state === 'create') {
      build.push({ op: 'ensureVeth', resource, reason: c.reason, spec });
      peerUp('the new pair\'s peer comes up');
    } else if (c.state === 'adopt') {
      setIfDiffers(c.link, want, bridge.index, resource);
      // No carrier on a veth whose host end is (or is being brought) up: the peer is down, e.g.
      // a crash between creating the pair and bringing its peer up. A peer whose MTU is not the
      // network's (the network's changed, e.g. its VXLAN underlay's) gets the network's.
      const peerMtu = peerFacts?.peer && peerFacts.peer.mtu !== mtu ? peerFacts.peer.mtu : null;
      if (!c.link.lowerUp || peerMtu !== null) {
        peers.push({
          op: 'setPeerLink', netns: v.peerNetns, resource,
          attrs: { name: v.peerIfName, ...(c.link.lowerUp ? {} : { up: true }), ...(peerMtu !== null ? { mtu } : {}) },
          reason: [...(c.link.lowerUp ? [] : ['no carrier: the peer end is down']), ...(peerMtu !== null ? [`peer MTU ${peerMtu} -> ${mtu}`] : [])].join(', '),
        });
      }
    }
  }

  function planDeletions(names: string[], links: Link[], min: number): PlanAction[] {
    names.sort();
    const out: PlanAction[] = [];
    const reason = (name: string): string => {
      const l = byName.get(name);
      return `${l?.alias ?? 'owned'} no longer desired or in the way`;
    };
    if (names.length < min) {
      for (const name of names) out.push({ op: 'deleteLink', name, reason: reason(name) });
      return out;
    }
    const doomed = new Set(names);
    const groups = new Map<number, string[]>();
    for (const l of links) {
      if (l.group === 0) continue;
      const members = groups.get(l.group) ?? [];
      members.push(l.name);
      groups.set(l.group, members);
    }
    const rest = new Set(names);
    for (const [group, members] of [...groups].sort((x, y) => x[0] - y[0])) {
      if (group === TEARDOWN_GROUP) continue;
      if (members.length < min || !members.every((m) => doomed.has(m))) continue;
      members.sort();
      out.push({ op: 'deleteLinkGroup', group, links: members, reason: `all ${members.length} devices of group ${group} go` });
      for (const m of members) rest.delete(m);
    }
    const remaining = [...rest];
    const teardownMembers = links.filter((l) => l.group === TEARDOWN_GROUP).map((l) => l.name);
    if (remaining.length >= min && teardownMembers.every((m) => rest.has(m))) {
      for (const name of remaining) {
        if (byName.get(name)?.group !== TEARDOWN_GROUP) {
          out.push({ op: 'setLink', attrs: { name, group: TEARDOWN_GROUP }, reason: 'batch teardown' });
        }
      }
      out.push({ op: 'deleteLinkGroup', group: TEARDOWN_GROUP, links: remaining, reason: `batch teardown of ${remaining.length} devices` });
    } else {
      for (const name of remaining) out.push({ op: 'deleteLink', name, reason: reason(name) });
    }
    return out;
  }
}

/** One line per action, for ApplyResponse.plan and logs. */
export function describeAction(a: PlanAction): string {
  const of = a.resource ? ` for ${a.resource.kind} ${a.resource.name}` : '';
  switch (a.op) {
    case 'deleteLinkGroup':
      return `delete link group ${a.group} (${a.links.join(', ')}): ${a.reason}`;
    case 'deleteLink':
      return `delete link ${a.name}: ${a.reason}`;
    case 'ensureBridge':
      return `ensure bridge ${a.spec.name} (mtu ${a.spec.mtu})${of}: ${a.reason}`;
    case 'ensureVlan':
      return `ensure vlan ${a.spec.name} (id ${a.spec.vlanId} on ${a.spec.parent}, master ${a.spec.master})${of}: ${a.reason}`;
    case 'ensureVxlan':
      return `ensure vxlan ${a.spec.name} (vni ${a.spec.vni}, master ${a.spec.master})${of}: ${a.reason}`;
    case 'ensureVeth':
      return `ensure veth ${a.spec.name} (peer ${a.spec.peer.name} in ${a.spec.peer.netns}${a.spec.master ? `, master ${a.spec.master}` : ''})${of}: ${a.reason}`;
    case 'ensureTap':
      return `ensure tap ${a.spec.name}${a.spec.master ? ` (master ${a.spec.master})` : ''}${of}: ${a.reason}`;
    case 'setLink':
      return `set link ${a.attrs.name}${of}: ${a.reason}`;
    case 'setPeerLink':
      return `set link ${a.attrs.name} in ${a.netns}${a.attrs.up ? ' up' : ''}${of}: ${a.reason}`;
    case 'addAddress':
      return `add address ${a.spec.cidr} on ${a.spec.dev}${of}: ${a.reason}`;
    case 'deleteAddress':
      return `delete address ${a.spec.cidr} on ${a.spec.dev}${of}: ${a.reason}`;
  }
}

/** The plan in words: actions, then what cannot be done. */
export function describePlan(plan: Plan): string[] {
  return [
    ...plan.actions.map(describeAction),
    ...plan.problems.map((p) => `cannot ready ${p.resource.kind} ${p.resource.name}: ${p.condition} False, ${p.reason}: ${p.message}`),
  ];
}
