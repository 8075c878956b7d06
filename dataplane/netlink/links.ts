// Links over rtnetlink: create with every attribute in one request, change only what
// differs, refuse a name held by something else, and undo a half-made device on failure.
import {
  bridgeConflict, DEFAULT_VXLAN_PORT, tapConflict, vethConflict, vlanConflict, vxlanConflict, type VethPeerFacts,
} from '../conflicts.js';
import { DataplaneError, invalid } from '../errors.js';
import * as c from '../nl/constants.js';
import * as nl from '../nl/index.js';
import type { BridgeSpec, Link, LinkAttrs, NetnsPeers, TapSpec, VethSpec, VlanSpec, VxlanSpec } from '../types.js';
import * as v from '../validate.js';
import * as libc from './libc.js';
import { decodeLinkMessage, ignoringCodes, orNullIfMissing, type LinkLookup } from './lookup.js';
import { NetnsEntry, openNetnsFd } from './netns.js';
import { planLinkChange } from './plan.js';
import { NetlinkSocket } from './socket.js';
import { createPersistentTap } from './tap.js';
import { TransientSocket, type PeerChannel } from './transient-socket.js';

export class LinkOps {
  /** The socket's namespace, entered to create TAPs (null: ours). */
  private readonly entry: NetnsEntry | null;

  constructor(
    private readonly socket: NetlinkSocket,
    private readonly links: LinkLookup,
  ) {
    this.entry = socket.netns === null ? null : new NetnsEntry(socket.netns);
  }

  private get netns(): string | null {
    return this.socket.netns;
  }

  async ensureBridge(spec: BridgeSpec): Promise<Link> {
    const op = 'ensure bridge';
    v.checkLinkAttrs(op, spec);
    if (spec.vlanDefaultPvid !== undefined) v.checkVlanId(op, spec.name, spec.vlanDefaultPvid);
    const info: nl.LinkInfo = {
      kind: 'bridge',
      forwardDelayCentis: spec.forwardDelayCentis ?? 0,
      stp: spec.stp ?? false,
      ...(spec.vlanFiltering !== undefined ? { vlanFiltering: spec.vlanFiltering } : {}),
      ...(spec.vlanDefaultPvid !== undefined ? { vlanDefaultPvid: spec.vlanDefaultPvid } : {}),
    };
    return this.ensureLink(op, spec, info, (l) => bridgeConflict(l, spec), (l) => {
      const b = l.bridge;
      const differs = !b || b.stp !== info.stp || b.forwardDelayCentis !== info.forwardDelayCentis ||
        (info.vlanFiltering !== undefined && b.vlanFiltering !== info.vlanFiltering);
      return differs ? info : undefined;
    });
  }

  async ensureVlan(spec: VlanSpec): Promise<Link> {
    const op = 'ensure vlan';
    v.checkLinkAttrs(op, spec);
    v.checkVlanId(op, spec.name, spec.vlanId);
    v.checkIfName(op, spec.parent, 'parent');
    const parent = await this.links.get(spec.parent);
    if (!parent) throw new DataplaneError(op, spec.name, 'ENODEV', `parent device "${spec.parent}" does not exist`);
    const info: nl.LinkInfo = { kind: 'vlan', id: spec.vlanId, ...(spec.protocol ? { protocol: spec.protocol } : {}) };
    return this.ensureLink(op, spec, info, async (l) => {
      // The existing parent's name, for the message only.
      const existingParent = l.linkIndex !== null && l.linkIndex !== parent.index ? await this.linkNameOf(l.linkIndex) : null;
      return vlanConflict(l, spec, parent.index, () => existingParent);
    }, undefined, parent.index);
  }

  async ensureVxlan(spec: VxlanSpec): Promise<Link> {
    const op = 'ensure vxlan';
    v.checkLinkAttrs(op, spec);
    v.checkVni(op, spec.name, spec.vni);
    if (spec.local) v.checkIp(op, spec.name, spec.local, 'local');
    if (spec.remote && spec.multicastGroup) throw invalid(op, spec.name, 'give either remote or multicastGroup, not both');
    const remote = spec.remote ?? spec.multicastGroup;
    if (remote) v.checkIp(op, spec.name, remote, spec.remote ? 'remote' : 'multicastGroup');
    if (spec.port !== undefined) v.checkUint(op, spec.name, spec.port, 'port', 65535);
    if (spec.ttl !== undefined) v.checkUint(op, spec.name, spec.ttl, 'ttl', 255);
    let device: number | undefined;
    if (spec.device) {
      const dev = await this.links.get(spec.device);
      if (!dev) throw new DataplaneError(op, spec.name, 'ENODEV', `underlay device "${spec.device}" does not exist`);
      device = dev.index;
    }
    const port = spec.port ?? DEFAULT_VXLAN_PORT;
    const info: nl.LinkInfo = {
      kind: 'vxlan', vni: spec.vni, port, learning: spec.learning ?? false,
      ...(device !== undefined ? { device } : {}),
      ...(spec.ttl !== undefined ? { ttl: spec.ttl } : {}),
      ...(spec.local ? { local: spec.local } : {}),
      ...(remote ? { remote } : {}),
    };
    return this.ensureLink(op, spec, info, (l) => vxlanConflict(l, spec, device ?? null), (l) => {
      // Learning changes in place (the kernel allows it); the rest is fixed (vxlanConflict).
      const learning = spec.learning ?? false;
      return l.vxlan && l.vxlan.learning !== learning ? { kind: 'vxlan', vni: spec.vni, learning } : undefined;
    });
  }

  async ensureVeth(spec: VethSpec): Promise<Link> {
    const op = 'ensure veth';
    v.checkLinkAttrs(op, spec);
    v.checkIfName(op, spec.peer.name, 'peer name');
    if (spec.peer.mtu !== undefined) v.checkMtu(op, spec.peer.name, spec.peer.mtu);
    if (spec.peer.mac !== undefined) v.checkMac(op, spec.peer.name, spec.peer.mac, 'peer mac');
    const peerSocket = this.socketFor(spec.peer.netns ?? null);
    const fd = spec.peer.netns ? openNetnsFd(spec.peer.netns, op) : undefined;
    let link: Link | null;
    try {
      // The kernel cannot bring the peer up while creating the pair (veth_open: ENOTCONN).
      const { up: peerUp, ...peer } = spec.peer;
      link = await this.createLink(op, spec, { kind: 'veth', peer: { ...peer, ...(fd !== undefined ? { netnsFd: fd } : {}) } });
      if (link && !peerUp) return link;
    } finally {
      if (fd !== undefined) libc.close(fd);
    }
    if (!link) {
      // EEXIST: either our name exists (ensure it) or the peer's name is taken.
      const existing = await this.links.get(spec.name);
      if (!existing) throw await this.peerTakenError(op, spec, peerSocket);
      const facts = await this.vethPeerFacts(op, spec, peerSocket);
      const conflict = vethConflict(existing, spec, facts);
      if (conflict) throw new DataplaneError(op, spec.name, 'EEXIST', conflict);
      await this.applyPeerAttrs(op, spec, peerSocket, facts.peer!);
      return this.applyAttrs(op, existing, spec);
    }
    try {
      await peerSocket.ack(nl.changeLinkRequest({ name: spec.peer.name }, { up: true }), { op, object: spec.peer.name });
      return link;
    } catch (err) {
      await this.socket.ack(nl.deleteLinkRequest({ index: link.index }), { op: 'clean up', object: spec.name }).catch(() => undefined);
      throw err;
    }
  }

  async ensureTap(spec: TapSpec): Promise<Link> {
    return (await this.makeTap(spec)) ?? this.links.mustGet('ensure tap', spec.name);
  }

  async putTap(spec: TapSpec): Promise<void> {
    await this.makeTap(spec);
  }

  /** The TAP as the spec says: the Link when it existed (checked and changed), null when made now. */
  private async makeTap(spec: TapSpec): Promise<Link | null> {
    const op = 'ensure tap';
    v.checkLinkAttrs(op, spec);
    if (spec.owner !== undefined) v.checkUint(op, spec.name, spec.owner, 'owner');
    if (spec.groupOwner !== undefined) v.checkUint(op, spec.name, spec.groupOwner, 'groupOwner');
    const master = await this.resolveMaster(op, spec);
    // Create first: 1000 new TAPs cost no lookup each; a taken name is looked up then.
    if (createPersistentTap(this.entry, spec)) {
      await this.finishTap(op, spec, master);
      return null;
    }
    const existing = await this.links.get(spec.name);
    if (!existing) throw new DataplaneError(op, spec.name, 'EEXIST', `"${spec.name}" exists but vanished while being checked`);
    const conflict = tapConflict(existing, spec);
    if (conflict) throw new DataplaneError(op, spec.name, 'EEXIST', conflict);
    return this.applyAttrs(op, existing, spec, undefined, master);
  }

  /**
   * A new TAP's attributes in one request by name (as `ip link set` does: nothing to compare
   * with on a device just made); deleted again if that fails.
   */
  private async finishTap(op: string, spec: TapSpec, masterIndex: number): Promise<void> {
    try {
      const { mtu, mac, alias, group, up } = spec;
      const fields: nl.LinkFields = {
        ...(mtu !== undefined ? { mtu } : {}), ...(mac !== undefined ? { mac } : {}), ...(alias !== undefined ? { alias } : {}),
        ...(group !== undefined ? { group } : {}), ...(masterIndex ? { masterIndex } : {}), ...(up !== undefined ? { up } : {}),
      };
      if (Object.keys(fields).length > 0) await this.socket.ack(nl.changeLinkRequest({ name: spec.name }, fields), { op, object: spec.name });
    } catch (err) {
      await this.socket.ack(nl.deleteLinkRequest({ name: spec.name }), { op: 'clean up', object: spec.name }).catch(() => undefined);
      throw err;
    }
  }

  async setLink(attrs: LinkAttrs): Promise<void> {
    const op = 'set link';
    v.checkLinkAttrs(op, attrs);
    const link = await this.links.get(attrs.name);
    if (!link) throw new DataplaneError(op, attrs.name, 'ENODEV', `device "${attrs.name}" does not exist`);
    await this.applyAttrs(op, link, attrs);
  }

  /**
   * Changes links in another namespace through a socket opened for this call and closed after
   * it (nothing stays in the namespace to pin it). The requests go out together, each by name:
   * a change of master is not supported there (a bridge is in this namespace, not that one).
   */
  async setLinksIn(netns: string, attrs: readonly LinkAttrs[]): Promise<Array<Error | null>> {
    const op = 'set link';
    const checked = attrs.map((a): Error | null => {
      try {
        v.checkLinkAttrs(op, a);
        if (a.master !== undefined) throw invalid(op, a.name, `a master cannot be set from another namespace (${netns})`);
        return null;
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    });
    let socket: NetlinkSocket;
    try {
      socket = NetlinkSocket.open({ netns });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      return attrs.map(() => e);
    }
    try {
      const results = await Promise.allSettled(attrs.map((a, i) => {
        if (checked[i]) return Promise.reject(checked[i]);
        const { name, mtu, mac, alias, group, up } = a;
        const fields: nl.LinkFields = {
          ...(mtu !== undefined ? { mtu } : {}), ...(mac !== undefined ? { mac } : {}), ...(alias !== undefined ? { alias } : {}),
          ...(group !== undefined ? { group } : {}), ...(up !== undefined ? { up } : {}),
        };
        return socket.ack(nl.changeLinkRequest({ name }, fields), { op, object: `${name} in ${netns}` });
      }));
      return results.map((r) => (r.status === 'fulfilled' ? null : r.reason instanceof Error ? r.reason : new Error(String(r.reason))));
    } finally {
      socket.close();
    }
  }

  async deleteLink(name: string): Promise<void> {
    const op = 'delete link';
    v.checkIfName(op, name);
    await ignoringCodes(['ENODEV'], this.socket.ack(nl.deleteLinkRequest({ name }), { op, object: name }));
  }

  async deleteLinkGroup(group: number): Promise<void> {
    const op = 'delete link group';
    v.checkUint(op, String(group), group, 'group');
    if (group === 0) throw invalid(op, '0', 'group 0 is the default group of every device; refusing to delete it');
    await ignoringCodes(['ENODEV'], this.socket.ack(nl.deleteLinkGroupRequest(group), { op, object: `group ${group}` }));
  }

  /** Create if absent; otherwise check compatibility and change only what differs. */
  private async ensureLink(
    op: string,
    spec: LinkAttrs,
    info: nl.LinkInfo,
    incompatible: (l: Link) => string | null | Promise<string | null>,
    infoChange?: (l: Link) => nl.LinkInfo | undefined,
    linkIndex?: number,
  ): Promise<Link> {
    // Create first: bulk creation then costs no lookup; an existing name answers EEXIST.
    const created = await this.createLink(op, spec, info, linkIndex);
    if (created) return created;
    const existing = await this.links.get(spec.name);
    if (!existing) throw new DataplaneError(op, spec.name, 'EEXIST', `"${spec.name}" exists but vanished while being checked`);
    const why = await incompatible(existing);
    if (why) throw new DataplaneError(op, spec.name, 'EEXIST', why);
    return this.applyAttrs(op, existing, spec, infoChange?.(existing));
  }

  /** Creates the link with every attribute; null when the name is taken (EEXIST). */
  private async createLink(op: string, spec: LinkAttrs, info: nl.LinkInfo, linkIndex?: number): Promise<Link | null> {
    const master = await this.resolveMaster(op, spec);
    const aliasStep = spec.alias !== undefined;
    const fields: nl.LinkFields = {
      ...(linkIndex !== undefined ? { linkIndex } : {}),
      ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
      ...(spec.mac !== undefined ? { mac: spec.mac } : {}),
      ...(spec.group !== undefined ? { group: spec.group } : {}),
      // With a second request coming anyway (the alias), master and up go there, as ip does:
      // enslaving a port that is still down costs the kernel less (measured 5-8 % at 1000).
      ...(master && !aliasStep ? { masterIndex: master } : {}),
      ...(spec.up !== undefined && !aliasStep ? { up: spec.up } : {}),
    };
    const req = nl.createLinkRequest(spec.name, info, fields);
    let echoed: Link | undefined;
    try {
      // NLM_F_ECHO: the kernel answers with the new link, sparing a lookup (kernels that do
      // not echo new links just ACK, and we look it up below).
      // The echo is sent before the kernel enslaves the new link: the master we set is added.
      const links = await this.socket.ackCollect({ ...req, flags: req.flags | c.NLM_F_ECHO }, { op, object: spec.name }, decodeLinkMessage);
      echoed = links.find((l) => l.name === spec.name);
    } catch (err) {
      if (err instanceof DataplaneError && err.code === 'EEXIST') return null;
      throw explainMissingKind(err, info.kind);
    }
    // The kernel ignores IFLA_IFALIAS on create: set it in a second step, undone on failure.
    if (spec.alias !== undefined) {
      try {
        const rest: nl.LinkFields = { ...(master ? { masterIndex: master } : {}), ...(spec.up !== undefined ? { up: spec.up } : {}) };
        await this.socket.ack(nl.changeLinkRequest({ name: spec.name }, { alias: spec.alias, ...rest }), { op, object: spec.name });
      } catch (err) {
        await this.socket.ack(nl.deleteLinkRequest({ name: spec.name }), { op: 'clean up', object: spec.name }).catch(() => undefined);
        throw err;
      }
      if (echoed) echoed = { ...echoed, alias: spec.alias || null };
    }
    // The echo was sent before the kernel enslaved (or raised) the new link: add what we set.
    if (echoed && master) echoed = { ...echoed, masterIndex: master };
    if (echoed && spec.up !== undefined) echoed = { ...echoed, up: spec.up };
    return echoed ?? this.links.mustGet(op, spec.name);
  }

  private async applyAttrs(op: string, link: Link, spec: LinkAttrs, info?: nl.LinkInfo, knownMaster?: number): Promise<Link> {
    const master = spec.master === undefined ? undefined : spec.master === null ? 0 : knownMaster || (await this.resolveMaster(op, spec));
    const change = planLinkChange(link, spec, master);
    if (!change && !info) return link;
    // Kind options go alone: a VXLAN refuses IFLA_MTU next to its own data ("Cannot change mtu").
    if (info) await this.socket.ack(nl.changeLinkRequest({ index: link.index }, {}, info), { op, object: spec.name });
    if (change) await this.socket.ack(nl.changeLinkRequest({ index: link.index }, change), { op, object: spec.name });
    return this.links.mustGet(op, spec.name);
  }

  private async resolveMaster(op: string, spec: LinkAttrs): Promise<number> {
    if (!spec.master) return 0;
    const m = await this.links.getShared(spec.master);
    if (!m) throw new DataplaneError(op, spec.name, 'ENODEV', `master "${spec.master}" does not exist`);
    if (m.kind !== 'bridge') throw new DataplaneError(op, spec.name, 'EINVAL', `master "${spec.master}" is a ${m.kind}, not a bridge`);
    return m.index;
  }

  /** Our name is free, so EEXIST on create was about the peer's name: say so. */
  private async peerTakenError(op: string, spec: VethSpec, peerSocket: PeerChannel): Promise<DataplaneError> {
    const taken = await orNullIfMissing(
      peerSocket.get(nl.getLinkRequest({ name: spec.peer.name }), { op, object: spec.peer.name }, decodeLinkMessage),
    );
    const where = spec.peer.netns ? `namespace ${spec.peer.netns}` : 'this namespace';
    const by = taken ? ` (by a ${taken.kind})` : '';
    return new DataplaneError(op, spec.name, 'EEXIST', `peer name "${spec.peer.name}" is already taken in ${where}${by}`);
  }

  /** The desired peer as its namespace holds it, and that namespace's id in ours. */
  private async vethPeerFacts(op: string, spec: VethSpec, peerSocket: PeerChannel): Promise<VethPeerFacts> {
    const peer = await orNullIfMissing(
      peerSocket.get(nl.getLinkRequest({ name: spec.peer.name }), { op, object: spec.peer.name }, decodeLinkMessage),
    );
    return { peer, netnsId: await this.netnsIdOf(op, spec.peer.netns) };
  }

  /** The id `netns` has in ours: null for our own, -1 when none is assigned. */
  private async netnsIdOf(op: string, netns: string | undefined): Promise<number | null> {
    if (netns === undefined || netns === this.netns) return null;
    const fd = openNetnsFd(netns, op);
    try {
      const answer = await this.socket.get(nl.getNsidRequest(fd), { op, object: `netns ${netns}` }, (m) =>
        m.type === c.RTM_NEWNSID ? { id: nl.decodeNsid(m.buf, m.start, m.end) } : null);
      // No id assigned: no link here points into that namespace, so none can be our peer.
      return answer.id ?? -1;
    } finally {
      libc.close(fd);
    }
  }

  /** The links named `names` in `netns` and that namespace's id here, through a socket opened for this call. */
  async peersIn(netns: string, names: readonly string[]): Promise<NetnsPeers> {
    const op = 'read veth peers';
    for (const name of names) v.checkIfName(op, name, 'peer name');
    const peerSocket = this.socketFor(netns);
    const [netnsId, links] = await Promise.all([
      this.netnsIdOf(op, netns),
      Promise.all(names.map((name) => orNullIfMissing(
        peerSocket.get(nl.getLinkRequest({ name }), { op, object: `${name} in ${netns}` }, decodeLinkMessage),
      ))),
    ]);
    return { netnsId, links };
  }

  /** The peer's own attributes on an existing pair (mtu, mac, up), as on creation. */
  private async applyPeerAttrs(op: string, spec: VethSpec, peerSocket: PeerChannel, peer: Link): Promise<void> {
    const { name, mtu, mac, up } = spec.peer;
    const change = planLinkChange(peer, { name, mtu, mac, up }, undefined);
    if (change) await peerSocket.ack(nl.changeLinkRequest({ index: peer.index }, change), { op, object: name });
  }

  private async linkNameOf(index: number): Promise<string | null> {
    return (await this.links.byIndex(index))?.name ?? null;
  }

  /** A veth peer's namespace: ours, or a socket there that lives only while a request is in flight. */
  private socketFor(netns: string | null): PeerChannel {
    if (netns === null || netns === this.netns) return this.socket;
    return new TransientSocket(netns);
  }

  /** No socket stays open in another namespace (see TransientSocket); the TAPs' entry closes. */
  close(): void {
    this.entry?.close();
  }
}

const kindModules: Record<string, string> = { vlan: '8021q', vxlan: 'vxlan', bridge: 'bridge', veth: 'veth' };

/** "Unknown device type" means the kernel lacks the driver: say which. */
function explainMissingKind(err: unknown, kind: string): unknown {
  if (!(err instanceof DataplaneError) || err.code !== 'EOPNOTSUPP' || !/Unknown device type/i.test(err.detail)) return err;
  const module = kindModules[kind] ?? kind;
  return new DataplaneError(err.op, err.object, err.code, `${err.detail} (this kernel has no ${kind} support: load the ${module} module)`);
}

