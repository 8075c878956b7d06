// Dataplane.watch() over rtnetlink: a KernelMonitor subscribed to the groups of the asked
// kinds, its messages converted with the same functions the dumps use (observed.ts).
import * as c from '../nl/constants.js';
import type { DataplaneEvent, DataplaneWatch, WatchHandlers, WatchKind } from '../types.js';
import type { LinkLookup } from './lookup.js';
import { KernelMonitor, type KernelEvent } from './monitor.js';
import { toFdbEntry } from './fdb.js';
import { toAddress, toNeighbour, toRoute } from './observed.js';

const GROUPS: Record<WatchKind, number[]> = {
  link: [c.RTNLGRP_LINK],
  address: [c.RTNLGRP_IPV4_IFADDR, c.RTNLGRP_IPV6_IFADDR],
  route: [c.RTNLGRP_IPV4_ROUTE, c.RTNLGRP_IPV6_ROUTE],
  neighbour: [c.RTNLGRP_NEIGH],
  fdb: [c.RTNLGRP_NEIGH],
};

export function groupsFor(kinds: readonly WatchKind[]): number[] {
  return [...new Set(kinds.flatMap((k) => GROUPS[k]))];
}

/**
 * Device names for addresses, routes and neighbours come from a map fed by link events; a
 * miss is looked up once by index, synchronously (one SIOCGIFNAME, no message: 1000 routes
 * through new devices are 1000 misses), so events go out in order as they come. Without link
 * events the map could go stale (renames), so then names stay '' (routes: null).
 */
export class NetlinkWatch implements DataplaneWatch {
  private readonly names = new Map<number, string>();
  private closed = false;
  private readonly monitor: KernelMonitor;
  private readonly trackNames: boolean;
  /** One group carries neighbours and FDB entries: each is passed on only when asked for. */
  private readonly kinds: ReadonlySet<WatchKind>;

  constructor(
    netns: string | null,
    private readonly lookup: LinkLookup,
    private readonly handlers: WatchHandlers,
    kinds: readonly WatchKind[],
  ) {
    this.trackNames = kinds.includes('link');
    this.kinds = new Set(kinds);
    // The socket is bound to its groups before this returns: nothing after it is missed.
    this.monitor = KernelMonitor.open(netns, {
      onEvent: (e) => this.push(e),
      onResync: () => {
        if (this.closed) return;
        this.names.clear(); // renames or deletions may have been among the lost events
        this.handlers.onResync('events lost (ENOBUFS)');
      },
    }, { groups: groupsFor(kinds) });
  }

  async flush(): Promise<boolean> {
    if (this.closed || this.monitor.paused) return false;
    this.monitor.flush();
    return !this.closed;
  }

  pause(): void {
    this.monitor.paused = true;
  }

  resume(): void {
    if (!this.monitor.paused) return;
    // What is still queued was sent while paused: read it away unread too. The caller re-reads
    // the kernel next; delivered now, 1000 such events would only wake a pass to find nothing.
    this.monitor.flush();
    this.monitor.paused = false;
    this.names.clear(); // renames or deletions may have been among the discarded events
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.monitor.close();
  }

  private push(e: KernelEvent): void {
    if (this.closed || !this.kinds.has(e.kind)) return;
    const index = this.missingIndex(e);
    if (index !== null) {
      try {
        const name = this.lookup.nameOf(index);
        if (name !== null) this.names.set(index, name);
      } catch {
        // Gone or unreadable: the event goes out without a name, as for a deleted device.
      }
    }
    this.emit(e);
  }

  /** The ifindex whose name this event needs and the map lacks, or null. */
  private missingIndex(e: KernelEvent): number | null {
    if (!this.trackNames) return null;
    const index = e.kind === 'address' ? e.address.index : e.kind === 'neighbour' ? e.neighbour.index
      : e.kind === 'fdb' ? e.fdb.index : e.kind === 'route' ? e.route.oif : null;
    return index && !this.names.has(index) ? index : null;
  }

  private emit(e: KernelEvent): void {
    const event = this.convert(e);
    if (!event) return;
    try {
      this.handlers.onEvent(event);
    } catch {
      // A throwing handler must not stop the event stream; handlers own their errors.
    }
  }

  private convert(e: KernelEvent): DataplaneEvent | null {
    switch (e.kind) {
      case 'link':
        if (this.trackNames) {
          if (e.action === 'new') this.names.set(e.link.index, e.link.name);
          else this.names.delete(e.link.index);
        }
        return e;
      case 'address': {
        const address = toAddress(e.address, this.names);
        return address && { kind: 'address', action: e.action, address };
      }
      case 'route': {
        const route = toRoute(e.route, this.names);
        return route && { kind: 'route', action: e.action, route };
      }
      case 'neighbour': {
        const neighbour = toNeighbour(e.neighbour, this.names);
        return neighbour && { kind: 'neighbour', action: e.action, neighbour };
      }
      case 'fdb': {
        const fdb = toFdbEntry(e.fdb, this.names);
        return fdb && { kind: 'fdb', action: e.action, fdb };
      }
    }
  }
}
