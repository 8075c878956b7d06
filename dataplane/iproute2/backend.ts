// The iproute2 backend: every Dataplane operation through the `ip` binary. Fallback for the
// netlink backend and the reference it is compared with.
import { existsSync } from 'node:fs';
import { DataplaneError, invalid } from '../errors.js';
import {
  bridgeConflict, tapConflict, vethConflict, vlanConflict, vxlanConflict, type VethPeerFacts,
} from '../conflicts.js';
import { netnsPath } from '../netns-path.js';
import { ALL_OBSERVE_KINDS, ALL_WATCH_KINDS, type DataplaneWatch, type ObserveKind, type WatchHandlers, type WatchKind } from '../types.js';
import type {
  Address, AddressSpec, BridgeSpec, Dataplane, FdbEntry, FdbSpec, Link, LinkAttrs, Neighbour, NeighbourSpec, NetnsPeers, ObservedState,
  Route, RouteSpec, TapSpec, VethSpec, VlanSpec, VxlanSpec,
} from '../types.js';
import { checkIfName, checkIp, checkLinkAttrs, checkMac, checkMtu, checkUint, checkVlanId, checkVni } from '../validate.js';
import {
  bridgeCreate, bridgeUpdate, setAttrs, tapCreate, vethCreate, vlanCreate, vxlanCreate, vxlanUpdate,
} from './commands.js';
import { ipHasAddressProtocols } from './capabilities.js';
import { failureError, ipInvocation } from './exec.js';
import { addressLine, neighbourDeleteLine, neighbourLine, routeLine } from './l3.js';
import { num, objects, str } from './json.js';
import { parseAddresses, parseLinks, parseNeighbours, parseRoutes } from './parse.js';
import { IpQueue } from './queue.js';
import { parseFailure } from './stderr.js';
import { startIpWatch, type IpWatchKind } from './watch.js';
import { bridgeInvocation, fdbLine, parseFdbJson, runBridge } from './fdb.js';
import { combinedWatch, startFdbWatch } from './fdb-watch.js';
import { fdbObject } from '../fdb.js';

/** Opens a handle on a named namespace (/var/run/netns/NAME), a namespace path, or null for our own. */
export async function openIproute2Dataplane(netns: string | null): Promise<Dataplane> {
  if (netns !== null) requireNetns('open netns', netns, netns);
  return new Iproute2Dataplane(netns);
}

function requireNetns(op: string, object: string, netns: string): void {
  // Synchronous on purpose: an await here would split concurrent callers across batches.
  if (!existsSync(netnsPath(netns))) {
    throw new DataplaneError(op, object, 'ENOENT', `network namespace "${netns}" does not exist (${netnsPath(netns)})`);
  }
}

/** Waits for every step (none is left running behind an error), then throws the first failure. */
async function allSteps(steps: (Promise<void> | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** What an ensure* call needs beyond the shared flow. */
interface EnsurePlan {
  op: string;
  kind: string;
  spec: LinkAttrs;
  /** Why an existing link of this name is not the one asked for, or null. */
  conflict(existing: Link, links: Link[]): string | null;
  /** Kind-specific `link set ... type X` line for an existing link (empty: nothing). */
  update(existing: Link): string[];
  create: string[];
  /** Creation puts every LinkAttr except alias in `create` (false for TAP: all follow later). */
  createTakesAttrs: boolean;
  /** Further work after creation (e.g. the veth peer's state); failures undo the creation. */
  afterCreate?(): Promise<void>;
  /** Further work on an existing link. */
  afterUpdate?(existing: Link): Promise<void>;
  /** Last checks before creating (throws). */
  beforeCreate?(): void;
}

class Iproute2Dataplane implements Dataplane {
  private readonly queue: IpQueue;
  private readonly peers = new Map<string, Iproute2Dataplane>();
  private readonly parsedLinks = new WeakMap<unknown[], Link[]>();

  constructor(readonly netns: string | null) {
    this.queue = new IpQueue(ipInvocation(netns), netns ?? 'current netns');
  }

  // ---- plumbing ----

  private async links(): Promise<Link[]> {
    const raw = await this.queue.dump('links');
    let links = this.parsedLinks.get(raw);
    if (!links) {
      links = parseLinks(raw); // parsed once per dump, however many callers share it
      this.parsedLinks.set(raw, links);
    }
    return links;
  }

  private async run(op: string, object: string, line: string[]): Promise<void> {
    if (line.length === 0) return;
    const outcome = await this.queue.write(line);
    if (!outcome.ok) throw failureError(op, object, outcome.message);
  }

  /** Runs a line whose listed errno codes mean "already the way we want it". */
  private async runTolerating(op: string, object: string, line: string[], tolerated: string[]): Promise<void> {
    const outcome = await this.queue.write(line);
    if (outcome.ok || tolerated.includes(parseFailure(outcome.message).code)) return;
    throw failureError(op, object, outcome.message);
  }

  private peerHandle(netns: string | undefined): Iproute2Dataplane {
    if (netns === undefined || netns === this.netns) return this;
    let peer = this.peers.get(netns);
    if (!peer) {
      peer = new Iproute2Dataplane(netns);
      this.peers.set(netns, peer);
    }
    return peer;
  }

  private requireDevice(op: string, object: string, links: Link[], name: string | null | undefined, role: string): void {
    if (typeof name === 'string' && !links.some((l) => l.name === name)) {
      throw new DataplaneError(op, object, 'ENODEV', `${role} "${name}" does not exist${this.where()}`);
    }
  }

  /**
   * The id `netns` has in this namespace: null for this one, -1 for a named one without an id
   * here (no link here points into it), undefined when ip cannot tell (a namespace by path).
   */
  private async netnsIdOf(netns: string | undefined): Promise<number | null | undefined> {
    if (netns === undefined || netns === this.netns) return null;
    const entry = objects(await this.queue.dump('netns')).find((e) => str(e, 'name') === netns);
    if (!entry) return netns.includes('/') ? undefined : -1;
    return num(entry, 'id') ?? -1;
  }

  private where(): string {
    return this.netns === null ? '' : ` in netns ${this.netns}`;
  }

  /** The shared ensure flow: create with everything, or reconcile in place, or refuse. */
  private async ensure(plan: EnsurePlan, links: Link[]): Promise<Link> {
    const { op, spec } = plan;
    this.requireDevice(op, spec.name, links, spec.master, 'master');
    const existing = links.find((l) => l.name === spec.name);
    if (existing) {
      const conflict = plan.conflict(existing, links);
      if (conflict !== null) throw new DataplaneError(op, spec.name, 'EEXIST', conflict);
      await allSteps([
        this.run('set link', spec.name, plan.update(existing)),
        this.run('set link', spec.name, setAttrs(spec, existing, links)),
        plan.afterUpdate?.(existing),
      ]);
    } else {
      plan.beforeCreate?.();
      await this.run(op, spec.name, plan.create);
      try {
        // `link add` ignores the alias; a TAP gets all its link attributes afterwards.
        const after = !plan.createTakesAttrs ? setAttrs(spec, null, links)
          : spec.alias ? ['link', 'set', 'dev', spec.name, 'alias', spec.alias] : [];
        await allSteps([this.run('set link', spec.name, after), plan.afterCreate?.()]);
      } catch (err) {
        // Nothing half-created: remove what this call made, then report the step that failed.
        await this.queue.write(['link', 'del', 'dev', spec.name]);
        throw err;
      }
    }
    const link = await this.getLink(spec.name);
    if (!link) throw new DataplaneError(op, spec.name, 'ENODEV', `${plan.kind} "${spec.name}" vanished after it was ensured`);
    return link;
  }

  // ---- links ----

  async ensureBridge(spec: BridgeSpec): Promise<Link> {
    const op = 'ensure bridge';
    checkLinkAttrs(op, spec);
    if (spec.forwardDelayCentis !== undefined) checkUint(op, spec.name, spec.forwardDelayCentis, 'forwardDelayCentis');
    if (spec.vlanDefaultPvid !== undefined) checkUint(op, spec.name, spec.vlanDefaultPvid, 'vlanDefaultPvid', 4094);
    return this.ensure({
      op, kind: 'bridge', spec, createTakesAttrs: true,
      create: bridgeCreate(spec),
      conflict: (l) => bridgeConflict(l, spec),
      update: (l) => bridgeUpdate(spec, l),
    }, await this.links());
  }

  async ensureVlan(spec: VlanSpec): Promise<Link> {
    const op = 'ensure vlan';
    checkLinkAttrs(op, spec);
    checkIfName(op, spec.parent, 'parent');
    checkVlanId(op, spec.name, spec.vlanId);
    if (spec.protocol !== undefined && spec.protocol !== '802.1Q' && spec.protocol !== '802.1ad') {
      throw invalid(op, spec.name, `protocol "${String(spec.protocol)}" is neither 802.1Q nor 802.1ad`);
    }
    const links = await this.links();
    this.requireDevice(op, spec.name, links, spec.parent, 'parent device');
    return this.ensure({
      op, kind: 'vlan', spec, createTakesAttrs: true,
      create: vlanCreate(spec),
      conflict: (l, all) => vlanConflict(l, spec, all.find((p) => p.name === spec.parent)!.index,
        (index) => all.find((p) => p.index === index)?.name ?? null),
      update: () => [],
    }, links);
  }

  async ensureVxlan(spec: VxlanSpec): Promise<Link> {
    const op = 'ensure vxlan';
    checkLinkAttrs(op, spec);
    checkVni(op, spec.name, spec.vni);
    if (spec.local !== undefined) checkIp(op, spec.name, spec.local, 'local');
    if (spec.remote !== undefined) checkIp(op, spec.name, spec.remote, 'remote');
    if (spec.multicastGroup !== undefined) checkIp(op, spec.name, spec.multicastGroup, 'multicastGroup');
    if (spec.device !== undefined) checkIfName(op, spec.device, 'device');
    if (spec.port !== undefined) checkUint(op, spec.name, spec.port, 'port', 65535);
    if (spec.ttl !== undefined) checkUint(op, spec.name, spec.ttl, 'ttl', 255);
    if (spec.remote !== undefined && spec.multicastGroup !== undefined) {
      throw invalid(op, spec.name, 'remote and multicastGroup exclude each other');
    }
    if (spec.multicastGroup !== undefined && spec.device === undefined) {
      throw invalid(op, spec.name, 'multicastGroup needs device (the underlay interface)');
    }
    const links = await this.links();
    this.requireDevice(op, spec.name, links, spec.device, 'underlay device');
    return this.ensure({
      op, kind: 'vxlan', spec, createTakesAttrs: true,
      create: vxlanCreate(spec),
      conflict: (l, all) => vxlanConflict(l, spec, spec.device === undefined ? null : all.find((d) => d.name === spec.device)!.index),
      update: (l) => vxlanUpdate(spec, l),
    }, links);
  }

  async ensureVeth(spec: VethSpec): Promise<Link> {
    const op = 'ensure veth';
    checkLinkAttrs(op, spec);
    const { peer } = spec;
    checkIfName(op, peer.name, 'peer name');
    if (peer.mtu !== undefined) checkMtu(op, spec.name, peer.mtu);
    if (peer.mac !== undefined) checkMac(op, spec.name, peer.mac, 'peer mac');
    if (peer.netns !== undefined) requireNetns(op, spec.name, peer.netns);
    const peerSide = this.peerHandle(peer.netns);
    const inPeerNs = peer.netns === undefined ? '' : ` in netns ${peer.netns}`;
    const [links, peerLinks] = await Promise.all([this.links(), peerSide.links()]);
    const peerNow = peerLinks.find((x) => x.name === peer.name) ?? null;
    // The peer namespace's id matters only for an existing veth: bulk creation pays nothing.
    const exists = links.some((l) => l.name === spec.name);
    const facts: VethPeerFacts = { peer: peerNow, netnsId: exists ? await this.netnsIdOf(peer.netns) : null };
    const peerAttrs: LinkAttrs = { name: peer.name, mtu: peer.mtu, mac: peer.mac, up: peer.up };
    return this.ensure({
      op, kind: 'veth', spec, createTakesAttrs: true,
      create: vethCreate(spec),
      conflict: (l) => vethConflict(l, spec, facts),
      update: () => [],
      afterUpdate: () => peerSide.run('set link', peer.name, setAttrs(peerAttrs, peerNow, peerLinks)),
      beforeCreate: () => {
        if (peerNow) throw new DataplaneError(op, spec.name, 'EEXIST', `peer "${peer.name}" already exists${inPeerNs}`);
      },
      afterCreate: async () => {
        // ip cannot bring a peer up in another namespace at creation (ENOTCONN).
        if (peer.up) await peerSide.run('set link', peer.name, ['link', 'set', 'dev', peer.name, 'up']);
      },
    }, links);
  }

  async ensureTap(spec: TapSpec): Promise<Link> {
    const op = 'ensure tap';
    checkLinkAttrs(op, spec);
    if (spec.owner !== undefined) checkUint(op, spec.name, spec.owner, 'owner');
    if (spec.groupOwner !== undefined) checkUint(op, spec.name, spec.groupOwner, 'groupOwner');
    return this.ensure({
      op, kind: 'tap', spec, createTakesAttrs: false,
      create: tapCreate(spec),
      conflict: (l) => tapConflict(l, spec),
      update: () => [],
    }, await this.links());
  }

  /** ip reads the links before it changes anything: nothing to save by not returning one. */
  async putTap(spec: TapSpec): Promise<void> {
    await this.ensureTap(spec);
  }

  async setLink(attrs: LinkAttrs): Promise<void> {
    const op = 'set link';
    checkLinkAttrs(op, attrs);
    const links = await this.links();
    const current = links.find((l) => l.name === attrs.name);
    if (!current) throw new DataplaneError(op, attrs.name, 'ENODEV', `device "${attrs.name}" does not exist${this.where()}`);
    this.requireDevice(op, attrs.name, links, attrs.master, 'master');
    await this.run(op, attrs.name, setAttrs(attrs, current, links));
  }

  async setLinksIn(netns: string, attrs: readonly LinkAttrs[]): Promise<Array<Error | null>> {
    // A handle of its own (not the cached peer handles): its queue coalesces the lines into
    // one ip -batch, and nothing of it outlives the call.
    const other = new Iproute2Dataplane(netns);
    try {
      const results = await Promise.allSettled(attrs.map((a) => other.setLink(a)));
      return results.map((r) => (r.status === 'fulfilled' ? null : r.reason instanceof Error ? r.reason : new Error(String(r.reason))));
    } finally {
      await other.close();
    }
  }

  async peersIn(netns: string, names: readonly string[]): Promise<NetnsPeers> {
    const op = 'read veth peers';
    for (const name of names) checkIfName(op, name, 'peer name');
    requireNetns(op, netns, netns);
    // A handle for this call only: `ip -n` processes hold the namespace just while they run.
    const other = new Iproute2Dataplane(netns);
    try {
      const [links, netnsId] = await Promise.all([other.links(), this.netnsIdOf(netns)]);
      const byName = new Map(links.map((l) => [l.name, l]));
      return { netnsId, links: names.map((n) => byName.get(n) ?? null) };
    } finally {
      await other.close();
    }
  }

  async deleteLink(name: string): Promise<void> {
    checkIfName('delete link', name);
    await this.runTolerating('delete link', name, ['link', 'del', 'dev', name], ['ENODEV']);
  }

  async deleteLinkGroup(group: number): Promise<void> {
    const op = 'delete link group';
    checkUint(op, String(group), group, 'group');
    if (group === 0) throw invalid(op, '0', 'group 0 is the default group of every device; refusing to delete it');
    // The kernel answers ENODEV when no device is in the group.
    await this.runTolerating(op, String(group), ['link', 'del', 'group', String(group)], ['ENODEV']);
  }

  // ---- addresses, routes, neighbours ----

  async addAddress(spec: AddressSpec): Promise<void> {
    // "add" with EEXIST tolerated, not "replace": an address already there keeps its protocol
    // (it may be the admin's), as on the netlink backend. An `ip` without address protocols
    // (iproute2 < 6.3) adds the address unmarked.
    const { protocol, ...rest } = spec;
    if (protocol !== undefined) checkUint('add address', spec.cidr, protocol, 'protocol', 255);
    const sent = protocol !== undefined && ipHasAddressProtocols() ? spec : rest;
    await this.runTolerating('add address', spec.cidr, addressLine('add', 'add address', sent), ['EEXIST']);
  }

  async deleteAddress(spec: AddressSpec): Promise<void> {
    const line = addressLine('del', 'delete address', spec);
    await this.runTolerating('delete address', spec.cidr, line, ['EADDRNOTAVAIL', 'ENODEV']);
  }

  async addRoute(spec: RouteSpec): Promise<void> {
    await this.run('add route', spec.destination, routeLine('replace', 'add route', spec));
  }

  async deleteRoute(spec: RouteSpec): Promise<void> {
    const line = routeLine('del', 'delete route', spec);
    await this.runTolerating('delete route', spec.destination, line, ['ESRCH', 'ENODEV']);
  }

  async setNeighbour(spec: NeighbourSpec): Promise<void> {
    await this.run('set neighbour', spec.ip, neighbourLine('set neighbour', spec));
  }

  async deleteNeighbour(spec: Omit<NeighbourSpec, 'mac'>): Promise<void> {
    const line = neighbourDeleteLine('delete neighbour', spec);
    await this.runTolerating('delete neighbour', spec.ip, line, ['ENOENT', 'ENODEV']);
  }

  // ---- bridge FDB (through `bridge`, one process each) ----

  async appendFdb(spec: FdbSpec): Promise<void> {
    const op = 'append fdb entry';
    const line = fdbLine('append', op, spec);
    const out = await runBridge(bridgeInvocation(this.netns), line);
    if (!out.ok) throw failureError(op, fdbObject(spec), out.message);
  }

  async deleteFdb(spec: FdbSpec): Promise<void> {
    const op = 'delete fdb entry';
    const line = fdbLine('del', op, spec);
    const out = await runBridge(bridgeInvocation(this.netns), line);
    // ENOENT: the MAC has no entry at all; ENODEV: no such device. Both: nothing to delete.
    if (!out.ok && !['ENOENT', 'ENODEV'].includes(parseFailure(out.message).code)) throw failureError(op, fdbObject(spec), out.message);
  }

  async listFdb(dev: string): Promise<FdbEntry[]> {
    const op = 'list fdb';
    checkIfName(op, dev, 'dev');
    const link = (await this.links()).find((l) => l.name === dev);
    if (!link) return [];
    const out = await runBridge(bridgeInvocation(this.netns), ['-j', 'fdb', 'show', 'dev', dev]);
    if (!out.ok) {
      if (parseFailure(out.message).code === 'ENODEV') return []; // gone since the dump
      throw failureError(op, dev, out.message);
    }
    const text = out.stdout.trim();
    return text.length === 0 ? [] : parseFdbJson(JSON.parse(text), dev, link.index);
  }

  // ---- observation ----

  async getLink(name: string): Promise<Link | null> {
    const link = (await this.links()).find((l) => l.name === name);
    return link ? structuredClone(link) : null;
  }

  async listLinks(): Promise<Link[]> {
    return structuredClone(await this.links());
  }

  async listAddresses(): Promise<Address[]> {
    return parseAddresses(await this.queue.dump('addresses'));
  }

  async listRoutes(): Promise<Route[]> {
    return parseRoutes(await this.queue.dump('routes'));
  }

  async listNeighbours(): Promise<Neighbour[]> {
    const [raw, links] = await Promise.all([this.queue.dump('neighbours'), this.links()]);
    return parseNeighbours(raw, links);
  }

  async observe(kinds: readonly ObserveKind[] = ALL_OBSERVE_KINDS): Promise<ObservedState> {
    const none = Promise.resolve([]);
    const [links, addresses, routes, neighbours] = await Promise.all([
      this.listLinks(),
      kinds.includes('addresses') ? this.listAddresses() : none,
      kinds.includes('routes') ? this.listRoutes() : none,
      kinds.includes('neighbours') ? this.listNeighbours() : none,
    ]);
    return { links, addresses, routes, neighbours };
  }

  async watch(handlers: WatchHandlers, kinds: readonly WatchKind[] = ALL_WATCH_KINDS): Promise<DataplaneWatch> {
    // FDB entries need `bridge monitor fdb` (ip's neigh lines lack their port, VNI and flags).
    const ipKinds = kinds.filter((k): k is IpWatchKind => k !== 'fdb');
    const started = await Promise.allSettled([
      ...(ipKinds.length > 0 ? [startIpWatch(ipInvocation(this.netns), handlers, ipKinds)] : []),
      ...(kinds.includes('fdb') ? [startFdbWatch(bridgeInvocation(this.netns), handlers)] : []),
    ]);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const parts = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (failed) {
      for (const p of parts) p.close();
      throw failed.reason;
    }
    return combinedWatch(parts);
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.idle(), ...[...this.peers.values()].map((p) => p.close())]);
  }
}
