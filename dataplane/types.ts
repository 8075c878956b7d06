// The dataplane's vocabulary: what callers ask of the kernel and what they get back.
// Both backends (netlink, iproute2) implement `Dataplane` and pass one conformance suite.

/** Attributes every link can carry; `undefined` means "leave as it is". */
export interface LinkAttrs {
  /** Interface name, 1..15 bytes, no '/', ':' or whitespace. */
  name: string;
  mtu?: number;
  /** Unicast MAC, "aa:bb:cc:dd:ee:ff". */
  mac?: string;
  /** IFLA_IFALIAS: hostnet uses it as the ownership marker. */
  alias?: string;
  /** IFLA_GROUP: lets many devices be deleted in one kernel batch. */
  group?: number;
  /** Bridge to enslave to; `null` detaches (nomaster). */
  master?: string | null;
  /** Administrative state. */
  up?: boolean;
}

export interface BridgeSpec extends LinkAttrs {
  /** STP is always off and forward delay 0 unless set: a host bridge for workloads. */
  stp?: boolean;
  forwardDelayCentis?: number;
  vlanFiltering?: boolean;
  vlanDefaultPvid?: number;
}

export interface VlanSpec extends LinkAttrs {
  /** The parent (lower) device. */
  parent: string;
  /** 802.1Q id, 1..4094. */
  vlanId: number;
  protocol?: '802.1Q' | '802.1ad';
}

export interface VxlanSpec extends LinkAttrs {
  vni: number;
  /** Local tunnel endpoint address. */
  local?: string;
  /** Unicast remote, or a multicast group address (then `device` is required by the kernel). */
  remote?: string;
  multicastGroup?: string;
  /** Underlay device for the tunnel. */
  device?: string;
  /** UDP destination port; 4789 unless set. */
  port?: number;
  /** MAC learning: off unless set. */
  learning?: boolean;
  ttl?: number;
}

export interface VethSpec extends LinkAttrs {
  /** Peer end: created directly in `peerNetns` (a named netns or a path) and named there. */
  peer: {
    name: string;
    netns?: string;
    mtu?: number;
    mac?: string;
    up?: boolean;
  };
}

export interface TapSpec extends LinkAttrs {
  owner?: number;
  groupOwner?: number;
  multiQueue?: boolean;
  vnetHdr?: boolean;
}

export type LinkKind = 'bridge' | 'vlan' | 'vxlan' | 'veth' | 'tun' | 'device' | (string & {});

/** A link as observed in the kernel. */
export interface Link {
  index: number;
  name: string;
  kind: LinkKind;
  mtu: number;
  mac: string | null;
  alias: string | null;
  group: number;
  up: boolean;
  /** IFF_LOWER_UP: carrier. */
  lowerUp: boolean;
  operState: string;
  masterIndex: number | null;
  /** For vlan: the parent ifindex (IFLA_LINK); for veth: the peer's ifindex (maybe in another netns). */
  linkIndex: number | null;
  /**
   * IFLA_LINK_NETNSID: set only when `linkIndex` lives in another namespace; the id that
   * namespace has in this one (what identifies a veth's peer netns, with `linkIndex`).
   */
  linkNetnsId?: number;
  vlan?: { id: number; protocol: '802.1Q' | '802.1ad' };
  vxlan?: {
    vni: number; port: number; learning: boolean; local: string | null; remote: string | null;
    /** IFLA_VXLAN_LINK: the underlay device's ifindex, when one was given. */
    device?: number;
  };
  bridge?: { stp: boolean; forwardDelayCentis: number; vlanFiltering: boolean };
  tun?: { type: 'tap' | 'tun'; multiQueue: boolean; vnetHdr: boolean; persist: boolean; owner: number | null; groupOwner: number | null };
}

export interface AddressSpec {
  /** Device name. */
  dev: string;
  /** "192.0.2.1/24" or "2001:db8::1/64". */
  cidr: string;
  /** IPv6 only: skip duplicate address detection. */
  nodad?: boolean;
  /**
   * IFA_PROTO (0..255, kernel >= 5.18): who added the address, e.g. hostnet's own number, so
   * its owner can tell it from the admin's. Set on add only (the kernel deletes by address).
   */
  protocol?: number;
}

export interface Address {
  index: number;
  dev: string;
  family: 4 | 6;
  cidr: string;
  scope: number;
  flags: number;
  /** IFA_PROTO; 0 when none was given (or the backend cannot read it). */
  protocol: number;
}

export interface RouteSpec {
  /** "default", "10.0.0.0/8", "2001:db8::/64". */
  destination: string;
  via?: string;
  dev?: string;
  /** Numeric protocol; defaults to 'static' (4). */
  protocol?: number;
  table?: number;
  metric?: number;
  /** Used when neither via nor dev decide it (e.g. "default" with no via): 4 or 6. */
  family?: 4 | 6;
}

export interface Route {
  family: 4 | 6;
  destination: string;
  via: string | null;
  dev: string | null;
  protocol: number;
  table: number;
  metric: number;
  scope: number;
  type: number;
}

export interface NeighbourSpec {
  dev: string;
  ip: string;
  mac: string;
  /** NUD state; 'permanent' unless set. */
  state?: 'permanent' | 'reachable' | 'stale' | 'noarp';
}

export interface Neighbour {
  index: number;
  dev: string;
  family: 4 | 6;
  ip: string;
  mac: string | null;
  state: number;
}

/**
 * A bridge FDB entry to append or delete on a device (NTF_SELF: the device's own table, e.g. a
 * VXLAN device's remotes). The all-zeros MAC with a `dst` is one flood-list remote.
 */
export interface FdbSpec {
  dev: string;
  mac: string;
  /** Remote tunnel endpoint (VXLAN). */
  dst?: string;
  /** UDP port of the remote; the device's own when absent. */
  port?: number;
  /** VNI sent to the remote; the device's own when absent. */
  vni?: number;
}

/**
 * A bridge FDB entry as observed (`bridge -j fdb show`). `port` and `vni` are set only where
 * they differ from the device's own (the kernel reports them so). `state`: iproute2's words,
 * NUD_PERMANENT "permanent", NUD_NOARP "static", NUD_STALE "stale", NUD_REACHABLE "reachable",
 * anything else its number in hex.
 */
export interface FdbEntry {
  /** The device's ifindex; 0 when the backend cannot tell (iproute2's watch without link events). */
  index: number;
  dev: string;
  mac: string;
  dst?: string;
  port?: number;
  vni?: number;
  vlan?: number;
  /** NTF_SELF: an entry of the device itself (VXLAN remotes). */
  self: boolean;
  /** An entry of the bridge the device is a port of (NDA_MASTER or NTF_MASTER). */
  master: boolean;
  /** NTF_EXT_LEARNED: put there by a control plane (e.g. FRR's EVPN). */
  externLearn?: boolean;
  state: string;
}

export type ObserveKind = 'addresses' | 'routes' | 'neighbours';
export const ALL_OBSERVE_KINDS: readonly ObserveKind[] = ['addresses', 'routes', 'neighbours'];

export interface ObservedState {
  links: Link[];
  addresses: Address[];
  routes: Route[];
  neighbours: Neighbour[];
}

/** What another namespace holds for the veth peers asked about (Dataplane.peersIn). */
export interface NetnsPeers {
  /**
   * The id that namespace has in the handle's (IFLA_LINK_NETNSID of a link whose peer is there):
   * null when it is the handle's own, -1 when none is assigned (no link here points into it),
   * undefined when the backend cannot tell.
   */
  netnsId: number | null | undefined;
  /** The links asked for, by name, in order; null where there is none. */
  links: Array<Link | null>;
}

/**
 * 'neighbour' is ARP/NDP only; 'fdb' is the bridge FDB (AF_BRIDGE neighbour messages, same
 * kernel group). 'fdb' is not among the default kinds: a learning bridge announces every MAC
 * it sees, so only a watch that asks for them gets them.
 */
export type WatchKind = 'link' | 'address' | 'route' | 'neighbour' | 'fdb';
export const ALL_WATCH_KINDS: readonly WatchKind[] = ['link', 'address', 'route', 'neighbour'];

/**
 * A change the kernel reported. Addresses and neighbours are identified by `index`; their
 * `dev` may be empty when the backend cannot name the device at that moment.
 */
export type DataplaneEvent =
  | { kind: 'link'; action: 'new' | 'del'; link: Link }
  | { kind: 'address'; action: 'new' | 'del'; address: Address }
  | { kind: 'route'; action: 'new' | 'del'; route: Route }
  | { kind: 'neighbour'; action: 'new' | 'del'; neighbour: Neighbour }
  | { kind: 'fdb'; action: 'new' | 'del'; fdb: FdbEntry };

export interface WatchHandlers {
  onEvent(event: DataplaneEvent): void;
  /** Events were lost (ENOBUFS, a monitor that died and was restarted): re-read the state. */
  onResync(reason: string): void;
}

/** A running watch; close() stops it (idempotent). */
export interface DataplaneWatch {
  close(): void;
  /**
   * Discards events unread until resume(): for a caller about to make many changes it will
   * re-read anyway (decoding thousands of its own events costs more than one dump).
   */
  pause(): void;
  resume(): void;
  /**
   * Delivers every event the kernel has queued for this watch so far. Resolves true when the
   * backend can promise that (netlink: the kernel queues a request's notifications before it
   * answers it), false when it cannot (the caller should re-read instead).
   */
  flush(): Promise<boolean>;
}

/** One handle bound to one network namespace. Every operation is idempotent. */
export interface Dataplane {
  /** Named netns or path this handle works in; null for the caller's own. */
  readonly netns: string | null;

  ensureBridge(spec: BridgeSpec): Promise<Link>;
  ensureVlan(spec: VlanSpec): Promise<Link>;
  ensureVxlan(spec: VxlanSpec): Promise<Link>;
  ensureVeth(spec: VethSpec): Promise<Link>;
  ensureTap(spec: TapSpec): Promise<Link>;
  /**
   * ensureTap without reading the device back, for a caller that does not use the Link: a TAP
   * is made by an ioctl, not netlink, so a new one has no echo and ensureTap looks it up (1000
   * new TAPs: 1000 lookups a planner that reads the kernel's events anyway does not need).
   */
  putTap(spec: TapSpec): Promise<void>;
  /** Changes the given attributes of an existing link. */
  setLink(attrs: LinkAttrs): Promise<void>;
  /**
   * Changes links in another namespace (a veth's peer side), all at once: the namespace is
   * entered for this call only (nothing stays open in it). One result per entry, in order:
   * null, or the error that entry met.
   */
  setLinksIn(netns: string, attrs: readonly LinkAttrs[]): Promise<Array<Error | null>>;
  /**
   * The links named `names` in another namespace (veth peers) and that namespace's id here:
   * what tells whether an existing veth's peer is the one desired. The namespace is entered
   * for this call only (nothing stays open in it to keep it alive).
   */
  peersIn(netns: string, names: readonly string[]): Promise<NetnsPeers>;
  /** Deleting a link that does not exist succeeds. */
  deleteLink(name: string): Promise<void>;
  /** Deletes every link in `group` with one request: the kernel unregisters them in one batch. */
  deleteLinkGroup(group: number): Promise<void>;

  addAddress(spec: AddressSpec): Promise<void>;
  deleteAddress(spec: AddressSpec): Promise<void>;
  addRoute(spec: RouteSpec): Promise<void>;
  deleteRoute(spec: RouteSpec): Promise<void>;
  setNeighbour(spec: NeighbourSpec): Promise<void>;
  deleteNeighbour(spec: Omit<NeighbourSpec, 'mac'>): Promise<void>;

  /**
   * Appends a bridge FDB entry of the device itself (`bridge fdb append ... self permanent`):
   * several entries of one MAC (the all-zeros flood list) coexist. Appending one that is there
   * succeeds. The device must exist (ENODEV).
   */
  appendFdb(spec: FdbSpec): Promise<void>;
  /**
   * Deletes that entry (with `dst`, only that remote of the MAC). Deleting an entry that is not
   * there, or on a device that does not exist, succeeds: like every delete here, a no-op.
   */
  deleteFdb(spec: FdbSpec): Promise<void>;
  /** The FDB entries of one device (its own and its bridge's for it); [] when it does not exist. */
  listFdb(dev: string): Promise<FdbEntry[]>;

  getLink(name: string): Promise<Link | null>;
  listLinks(): Promise<Link[]>;
  listAddresses(): Promise<Address[]>;
  listRoutes(): Promise<Route[]>;
  listNeighbours(): Promise<Neighbour[]>;
  /** One dump per kind; `kinds` limits which (links are always read); all by default. */
  observe(kinds?: readonly ObserveKind[]): Promise<ObservedState>;
  /**
   * Kernel events of this namespace as they happen (only `kinds`; all by default). Events
   * start flowing once the returned promise resolves, so a dump taken after that misses nothing.
   */
  watch(handlers: WatchHandlers, kinds?: readonly WatchKind[]): Promise<DataplaneWatch>;

  close(): Promise<void>;
}
