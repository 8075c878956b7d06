// Kernel events: links, addresses, routes, neighbours and bridge FDB entries as they change. When the kernel
// had to drop events (ENOBUFS) the monitor says "resync": the caller must re-read state.
import * as c from '../nl/constants.js';
import * as nl from '../nl/index.js';
import type { NlMessage } from '../nl/message.js';
import type { Link } from '../types.js';
import { toLink } from './observed.js';
import { NetlinkSocket } from './socket.js';

export type KernelEvent =
  | { kind: 'link'; action: 'new' | 'del'; link: Link }
  | { kind: 'address'; action: 'new' | 'del'; address: nl.AddrMessage }
  | { kind: 'route'; action: 'new' | 'del'; route: nl.RouteMessage }
  | { kind: 'neighbour'; action: 'new' | 'del'; neighbour: nl.NeighMessage }
  | { kind: 'fdb'; action: 'new' | 'del'; fdb: nl.FdbMessage };

export interface MonitorHandlers {
  onEvent(event: KernelEvent): void;
  onResync(): void;
}

export const ALL_GROUPS = [
  c.RTNLGRP_LINK,
  c.RTNLGRP_IPV4_IFADDR,
  c.RTNLGRP_IPV6_IFADDR,
  c.RTNLGRP_IPV4_ROUTE,
  c.RTNLGRP_IPV6_ROUTE,
  c.RTNLGRP_NEIGH,
];

export class KernelMonitor {
  /** While set, messages are read (the socket must not overflow) but not decoded or passed on. */
  paused = false;

  private constructor(private readonly socket: NetlinkSocket) {}

  static open(
    netns: string | null,
    handlers: MonitorHandlers,
    options: { groups?: number[]; receiveBufferBytes?: number } = {},
  ): KernelMonitor {
    const socket = NetlinkSocket.open({
      netns,
      groups: options.groups ?? ALL_GROUPS,
      ...(options.receiveBufferBytes ? { receiveBufferBytes: options.receiveBufferBytes } : {}),
    });
    const monitor = new KernelMonitor(socket);
    socket.onEvent((msg) => {
      if (monitor.paused) return;
      const event = decodeEvent(msg);
      if (event) handlers.onEvent(event);
    }, handlers.onResync);
    return monitor;
  }

  /** Delivers every event queued on the socket now (see NetlinkSocket.flushEvents). */
  flush(): void {
    this.socket.flushEvents();
  }

  close(): void {
    this.socket.close();
  }
}

export function decodeEvent(msg: NlMessage): KernelEvent | null {
  switch (msg.type) {
    case c.RTM_NEWLINK:
    case c.RTM_DELLINK:
      // The bridge announces port changes as AF_BRIDGE link messages (a DELLINK when a port
      // leaves its bridge): partial views of a link that still exists, not link events.
      if (msg.buf.readUInt8(msg.start) === c.AF_BRIDGE) return null;
      return { kind: 'link', action: msg.type === c.RTM_NEWLINK ? 'new' : 'del', link: toLink(nl.decodeLink(msg.buf, msg.start, msg.end)) };
    case c.RTM_NEWADDR:
    case c.RTM_DELADDR:
      return { kind: 'address', action: msg.type === c.RTM_NEWADDR ? 'new' : 'del', address: nl.decodeAddress(msg.buf, msg.start, msg.end) };
    case c.RTM_NEWROUTE:
    case c.RTM_DELROUTE:
      return { kind: 'route', action: msg.type === c.RTM_NEWROUTE ? 'new' : 'del', route: nl.decodeRoute(msg.buf, msg.start, msg.end) };
    case c.RTM_NEWNEIGH:
    case c.RTM_DELNEIGH:
      // Bridge FDB entries come in the same group, as neighbour messages of family AF_BRIDGE.
      if (msg.buf.readUInt8(msg.start) === c.AF_BRIDGE) {
        return { kind: 'fdb', action: msg.type === c.RTM_NEWNEIGH ? 'new' : 'del', fdb: nl.decodeFdb(msg.buf, msg.start, msg.end) };
      }
      return { kind: 'neighbour', action: msg.type === c.RTM_NEWNEIGH ? 'new' : 'del', neighbour: nl.decodeNeighbour(msg.buf, msg.start, msg.end) };
    default:
      return null;
  }
}
