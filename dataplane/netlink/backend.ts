// The Dataplane over rtnetlink: one socket per namespace. Links, addresses/routes/neighbours
// and observation live in their own files; this class only puts them behind the interface.
import type {
  Address, AddressSpec, BridgeSpec, Dataplane, FdbEntry, FdbSpec, Link, LinkAttrs, Neighbour, NeighbourSpec, NetnsPeers,
  ObservedState, ObserveKind, Route, RouteSpec, TapSpec, VethSpec, VlanSpec, VxlanSpec,
  DataplaneWatch, WatchHandlers, WatchKind,
} from '../types.js';
import { ALL_OBSERVE_KINDS, ALL_WATCH_KINDS } from '../types.js';
import { FdbOps } from './fdb.js';
import { L3Ops } from './l3.js';
import { LinkOps } from './links.js';
import { LinkLookup } from './lookup.js';
import { dumpLinks, observeNamespace } from './observe.js';
import { NetlinkSocket } from './socket.js';
import { NetlinkWatch } from './watch.js';

export async function openNetlinkDataplane(netns: string | null, options: { timeoutMs?: number } = {}): Promise<NetlinkDataplane> {
  return new NetlinkDataplane(NetlinkSocket.open({ netns, timeoutMs: options.timeoutMs }));
}

export class NetlinkDataplane implements Dataplane {
  private readonly lookup: LinkLookup;
  private readonly linkOps: LinkOps;
  private readonly l3: L3Ops;
  private readonly fdb: FdbOps;

  constructor(readonly socket: NetlinkSocket) {
    this.lookup = new LinkLookup(socket);
    this.linkOps = new LinkOps(socket, this.lookup);
    this.l3 = new L3Ops(socket, this.lookup);
    this.fdb = new FdbOps(socket, this.lookup);
  }

  get netns(): string | null {
    return this.socket.netns;
  }

  ensureBridge(spec: BridgeSpec): Promise<Link> {
    return this.linkOps.ensureBridge(spec);
  }

  ensureVlan(spec: VlanSpec): Promise<Link> {
    return this.linkOps.ensureVlan(spec);
  }

  ensureVxlan(spec: VxlanSpec): Promise<Link> {
    return this.linkOps.ensureVxlan(spec);
  }

  ensureVeth(spec: VethSpec): Promise<Link> {
    return this.linkOps.ensureVeth(spec);
  }

  ensureTap(spec: TapSpec): Promise<Link> {
    return this.linkOps.ensureTap(spec);
  }

  putTap(spec: TapSpec): Promise<void> {
    return this.linkOps.putTap(spec);
  }

  setLink(attrs: LinkAttrs): Promise<void> {
    return this.linkOps.setLink(attrs);
  }

  peersIn(netns: string, names: readonly string[]): Promise<NetnsPeers> {
    return this.linkOps.peersIn(netns, names);
  }

  deleteLink(name: string): Promise<void> {
    return this.linkOps.deleteLink(name);
  }

  deleteLinkGroup(group: number): Promise<void> {
    return this.linkOps.deleteLinkGroup(group);
  }

  addAddress(spec: AddressSpec): Promise<void> {
    return this.l3.addAddress(spec);
  }

  deleteAddress(spec: AddressSpec): Promise<void> {
    return this.l3.deleteAddress(spec);
  }

  addRoute(spec: RouteSpec): Promise<void> {
    return this.l3.addRoute(spec);
  }

  deleteRoute(spec: RouteSpec): Promise<void> {
    return this.l3.deleteRoute(spec);
  }

  setNeighbour(spec: NeighbourSpec): Promise<void> {
    return this.l3.setNeighbour(spec);
  }

  deleteNeighbour(spec: Omit<NeighbourSpec, 'mac'>): Promise<void> {
    return this.l3.deleteNeighbour(spec);
  }

  appendFdb(spec: FdbSpec): Promise<void> {
    return this.fdb.append(spec);
  }

  deleteFdb(spec: FdbSpec): Promise<void> {
    return this.fdb.delete(spec);
  }

  listFdb(dev: string): Promise<FdbEntry[]> {
    return this.fdb.list(dev);
  }

  getLink(name: string): Promise<Link | null> {
    return this.lookup.get(name);
  }

  listLinks(): Promise<Link[]> {
    return dumpLinks(this.socket);
  }

  async listAddresses(): Promise<Address[]> {
    return (await observeNamespace(this.socket, ['addresses'])).addresses;
  }

  async listRoutes(): Promise<Route[]> {
    return (await observeNamespace(this.socket, ['routes'])).routes;
  }

  async listNeighbours(): Promise<Neighbour[]> {
    return (await observeNamespace(this.socket, ['neighbours'])).neighbours;
  }

  observe(kinds: readonly ObserveKind[] = ALL_OBSERVE_KINDS): Promise<ObservedState> {
    return observeNamespace(this.socket, kinds);
  }

  async watch(handlers: WatchHandlers, kinds: readonly WatchKind[] = ALL_WATCH_KINDS): Promise<DataplaneWatch> {
    return new NetlinkWatch(this.socket.netns, this.lookup, handlers, kinds);
  }

  setLinksIn(netns: string, attrs: readonly LinkAttrs[]): Promise<Array<Error | null>> {
    return this.linkOps.setLinksIn(netns, attrs);
  }

  async close(): Promise<void> {
    this.linkOps.close();
    this.socket.close();
  }
}
