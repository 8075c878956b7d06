// A tiny in-memory model of the links and addresses of one namespace, enough to apply a plan
// and observe the result (plan -> apply -> re-plan must give nothing).
import type { Address, Link, LinkAttrs, ObservedState } from '../../../dataplane/types.js';
import type { PlanAction } from '../../../agent/reconcile/plan.js';
import type { VethPeerFacts } from '../../../dataplane/conflicts.js';

export function link(p: Partial<Link> & { name: string; index: number }): Link {
  return {
    kind: 'device', mtu: 1500, mac: '02:00:00:00:00:01', alias: null, group: 0, up: true, lowerUp: true,
    operState: 'up', masterIndex: null, linkIndex: null, ...p,
  };
}

export class FakeKernel {
  links: Link[] = [];
  addresses: Address[] = [];
  private nextIndex = 100;
  /** Kernel writes performed, for "zero writes" checks. */
  writes = 0;

  constructor(links: Link[] = [], addresses: Address[] = []) {
    this.links = links.map((l) => structuredClone(l));
    this.addresses = addresses.map((a) => structuredClone(a));
    this.nextIndex = Math.max(100, ...links.map((l) => l.index + 1));
  }

  /** What each veth's peer is (name and namespace), as the kernel would know it. */
  private readonly peers = new Map<string, { netns: string | undefined; name: string }>();
  private readonly netnsIds = new Map<string, number>();

  private netnsIdOf(netns: string): number {
    let id = this.netnsIds.get(netns);
    if (id === undefined) this.netnsIds.set(netns, (id = this.netnsIds.size));
    return id;
  }

  /** The planner's vethPeers input for `desired` veths: what their desired peer namespace holds. */
  peerFacts(want: readonly { name: string; peerNetns: string | undefined; peerName: string }[]): Map<string, VethPeerFacts> {
    const out = new Map<string, VethPeerFacts>();
    for (const w of want) {
      const l = this.get(w.name);
      const actual = this.peers.get(w.name);
      const isPeer = l && actual && actual.name === w.peerName && actual.netns === w.peerNetns;
      out.set(w.name, {
        // The desired peer: the real one when name and namespace match, else nothing of that name.
        peer: isPeer ? link({ name: w.peerName, index: l.linkIndex!, kind: 'veth', linkIndex: l.index }) : null,
        netnsId: w.peerNetns === undefined ? null : this.netnsIdOf(w.peerNetns),
      });
    }
    return out;
  }

  observe(): ObservedState {
    return { links: structuredClone(this.links), addresses: structuredClone(this.addresses), routes: [], neighbours: [] };
  }

  get(name: string): Link | undefined {
    return this.links.find((l) => l.name === name);
  }

  apply(actions: readonly PlanAction[]): void {
    for (const a of actions) this.one(a);
  }

  private one(a: PlanAction): void {
    this.writes++;
    switch (a.op) {
      case 'ensureBridge':
        this.create(a.spec, { kind: 'bridge', bridge: { stp: a.spec.stp ?? false, forwardDelayCentis: a.spec.forwardDelayCentis ?? 0, vlanFiltering: false } });
        return;
      case 'ensureVlan': {
        const parent = this.get(a.spec.parent);
        if (!parent) throw new Error(`ENODEV parent ${a.spec.parent}`);
        this.create(a.spec, { kind: 'vlan', linkIndex: parent.index, vlan: { id: a.spec.vlanId, protocol: '802.1Q' } });
        return;
      }
      case 'ensureVxlan': {
        const device = a.spec.device !== undefined ? this.get(a.spec.device)?.index : undefined;
        const vxlan = { vni: a.spec.vni, port: a.spec.port ?? 4789, learning: false, local: a.spec.local ?? null, remote: a.spec.remote ?? a.spec.multicastGroup ?? null };
        this.create(a.spec, { kind: 'vxlan', vxlan: device !== undefined ? { ...vxlan, device } : vxlan });
        return;
      }
      case 'ensureVeth':
        // The peer lives in another namespace, which this model does not hold: its ifindex and
        // that namespace's id are made up, and peerFacts() answers for them.
        // A new pair has no carrier until its peer is up (a setPeerLink step).
        this.create(a.spec, { kind: 'veth', linkIndex: 2, lowerUp: false, ...(a.spec.peer.netns ? { linkNetnsId: this.netnsIdOf(a.spec.peer.netns) } : {}) });
        this.peers.set(a.spec.name, { netns: a.spec.peer.netns, name: a.spec.peer.name });
        return;
      case 'ensureTap':
        this.create(a.spec, { kind: 'tun', tun: { type: 'tap', multiQueue: a.spec.multiQueue ?? false, vnetHdr: a.spec.vnetHdr ?? false, persist: true, owner: a.spec.owner ?? null, groupOwner: a.spec.groupOwner ?? null } });
        return;
      case 'setLink': {
        const l = this.get(a.attrs.name);
        if (!l) throw new Error(`ENODEV ${a.attrs.name}`);
        this.set(l, a.attrs);
        return;
      }
      case 'setPeerLink': {
        // The host end of the pair whose peer this is gets carrier when both ends are up.
        const host = [...this.peers].find(([, p]) => p.name === a.attrs.name && p.netns === a.netns)?.[0];
        const l = host ? this.get(host) : undefined;
        if (!l) throw new Error(`ENODEV ${a.attrs.name} in ${a.netns}`);
        if (a.attrs.up !== undefined) l.lowerUp = a.attrs.up;
        return;
      }
      case 'deleteLink':
        this.remove((l) => l.name === a.name);
        return;
      case 'deleteLinkGroup':
        this.remove((l) => l.group === a.group);
        return;
      case 'addAddress': {
        const l = this.get(a.spec.dev);
        if (!l) throw new Error(`ENODEV ${a.spec.dev}`);
        this.addresses.push({ index: l.index, dev: l.name, family: a.spec.cidr.includes(':') ? 6 : 4, cidr: a.spec.cidr, scope: 0, flags: 0, protocol: a.spec.protocol ?? 0 });
        return;
      }
      case 'deleteAddress':
        this.addresses = this.addresses.filter((x) => !(x.dev === a.spec.dev && x.cidr === a.spec.cidr));
        return;
    }
  }

  private create(spec: LinkAttrs, extra: Partial<Link>): void {
    const existing = this.get(spec.name);
    if (existing) {
      // ensure* on an existing device: only the attributes change.
      if (existing.kind !== extra.kind) throw new Error(`EEXIST ${spec.name} is a ${existing.kind}`);
      Object.assign(existing, extra);
      this.set(existing, spec);
      return;
    }
    const l = link({ name: spec.name, index: this.nextIndex++, mac: `02:aa:00:00:00:${(this.nextIndex & 0xff).toString(16).padStart(2, '0')}`, up: false, ...extra });
    this.links.push(l);
    this.set(l, spec);
  }

  private set(l: Link, attrs: LinkAttrs): void {
    if (attrs.mtu !== undefined) l.mtu = attrs.mtu;
    if (attrs.mac !== undefined) l.mac = attrs.mac.toLowerCase();
    if (attrs.alias !== undefined) l.alias = attrs.alias;
    if (attrs.group !== undefined) l.group = attrs.group;
    if (attrs.up !== undefined) l.up = attrs.up;
    if (attrs.master === null) l.masterIndex = null;
    else if (attrs.master !== undefined) {
      const m = this.get(attrs.master);
      if (!m || m.kind !== 'bridge') throw new Error(`ENODEV master ${attrs.master}`);
      l.masterIndex = m.index;
    }
  }

  private remove(match: (l: Link) => boolean): void {
    const gone = new Set(this.links.filter(match).map((l) => l.index));
    // A VLAN goes with its parent.
    for (const l of this.links) if (l.kind === 'vlan' && l.linkIndex !== null && gone.has(l.linkIndex)) gone.add(l.index);
    this.links = this.links.filter((l) => !gone.has(l.index));
    for (const l of this.links) if (l.masterIndex !== null && gone.has(l.masterIndex)) l.masterIndex = null;
    this.addresses = this.addresses.filter((a) => !gone.has(a.index));
  }
}
