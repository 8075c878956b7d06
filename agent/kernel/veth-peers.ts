// What each desired veth's peer namespace holds, for the planner's identity rule (vethConflict):
// a veth whose desired peer namespace or name changed is recreated, not adopted. Reading a peer
// means entering its namespace, so facts are kept per veth and reused while nothing they depend
// on changed: the namespace at the path (its inode), the desired peer name, and the host end
// (ifindex, peer ifindex, peer netns id). A no-op pass then costs one stat per peer namespace
// path and no syscall into any namespace. (A peer the workload renames itself is not noticed
// until one of those changes: the workload's names are its own business.)
import type { VethPeerFacts } from '../../dataplane/conflicts.js';
import { netnsPath } from '../../dataplane/netns-path.js';
import type { Dataplane, Link, ObservedState } from '../../dataplane/types.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { netnsState, type NetnsState } from './netns-state.js';

export interface VethPeers {
  /** By host-side name, for every desired veth that exists: planReconcile's `vethPeers`. */
  facts: Map<string, VethPeerFacts>;
  /** Every desired peer namespace path, as it stood when read. */
  namespaces: Map<string, NetnsState>;
}

/** The path names no namespace: whatever the veth's peer is, it is not the one desired. */
const GONE: VethPeerFacts = { peer: null, netnsId: -1 };
/** Namespaces read at once (each read opens a socket there for its duration). */
const PARALLEL = 16;

interface Want {
  host: string;
  peerName: string;
  key: string;
}

export type PeerLog = (msg: string, fields: Record<string, unknown>) => void;

export class VethPeerBook {
  private cache = new Map<string, { key: string; facts: VethPeerFacts }>();
  /** Peer reads into other namespaces so far (for benchmarks and tests). */
  reads = 0;

  constructor(private readonly dp: Pick<Dataplane, 'peersIn'>, private readonly warn: PeerLog = () => undefined) {}

  async gather(desired: DesiredState, observed: ObservedState): Promise<VethPeers> {
    const links = new Map<string, Link>();
    for (const l of observed.links) if (l.kind === 'veth') links.set(l.name, l);
    const namespaces = new Map<string, NetnsState>();
    const facts = new Map<string, VethPeerFacts>();
    const next = new Map<string, { key: string; facts: VethPeerFacts }>();
    const toRead = new Map<string, Want[]>();
    for (const a of desired.attachments) {
      if (a.kind?.$case !== 'veth' || !a.kind.veth.peerNetns) continue;
      const v = a.kind.veth;
      const path = netnsPath(v.peerNetns);
      let ns = namespaces.get(path);
      if (!ns) {
        ns = netnsState(path);
        namespaces.set(path, ns);
      }
      const host = links.get(v.ifName);
      if (!host) continue; // to be created: nothing to judge
      if (!ns.present) {
        facts.set(v.ifName, GONE);
        continue;
      }
      // The host end's MTU too: when the network's MTU changes, the peer's is read again.
      const key = `${ns.ino}|${v.peerIfName}|${host.index}|${host.linkIndex}|${host.linkNetnsId}|${host.mtu}`;
      const hit = this.cache.get(v.ifName);
      if (hit?.key === key) {
        facts.set(v.ifName, hit.facts);
        next.set(v.ifName, hit);
        continue;
      }
      const list = toRead.get(v.peerNetns) ?? [];
      list.push({ host: v.ifName, peerName: v.peerIfName, key });
      toRead.set(v.peerNetns, list);
    }
    const jobs = [...toRead];
    let taken = 0;
    const worker = async (): Promise<void> => {
      while (taken < jobs.length) {
        const [netns, wants] = jobs[taken++]!;
        try {
          this.reads++;
          const r = await this.dp.peersIn(netns, wants.map((w) => w.peerName));
          wants.forEach((w, i) => {
            const f: VethPeerFacts = { peer: r.links[i] ?? null, netnsId: r.netnsId };
            facts.set(w.host, f);
            next.set(w.host, { key: w.key, facts: f });
          });
        } catch (err) {
          // Judged by kind alone this pass (as before peers were read); read again next pass.
          this.warn('could not read veth peers', { netns, err: err instanceof Error ? err.message : String(err) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, jobs.length) }, worker));
    this.cache = next;
    return { facts, namespaces };
  }
}
