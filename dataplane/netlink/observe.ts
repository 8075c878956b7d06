// Observed state: one dump per kind, decoded as it arrives, joined by interface index.
import * as c from '../nl/constants.js';
import * as nl from '../nl/index.js';
import type { Address, Link, Neighbour, ObservedState, ObserveKind, Route } from '../types.js';
import { decodeLinkMessage } from './lookup.js';
import { toAddress, toNeighbour, toRoute } from './observed.js';
import type { NetlinkSocket } from './socket.js';

export function dumpLinks(socket: NetlinkSocket): Promise<Link[]> {
  return socket.dump(nl.dumpLinksRequest(), { op: 'dump', object: 'links' }, decodeLinkMessage);
}

export async function observeNamespace(socket: NetlinkSocket, kinds: readonly ObserveKind[]): Promise<ObservedState> {
  const links = await dumpLinks(socket);
  const names = new Map(links.map((l) => [l.index, l.name]));
  const state: ObservedState = { links, addresses: [], routes: [], neighbours: [] };
  if (kinds.includes('addresses')) {
    state.addresses = await socket.dump<Address>(nl.dumpAddressesRequest(), { op: 'dump', object: 'addresses' }, (m) =>
      m.type === c.RTM_NEWADDR ? toAddress(nl.decodeAddress(m.buf, m.start, m.end), names) : null);
  }
  if (kinds.includes('routes')) {
    state.routes = await socket.dump<Route>(nl.dumpRoutesRequest(), { op: 'dump', object: 'routes' }, (m) =>
      m.type === c.RTM_NEWROUTE ? toRoute(nl.decodeRoute(m.buf, m.start, m.end), names) : null);
  }
  if (kinds.includes('neighbours')) {
    state.neighbours = await socket.dump<Neighbour>(nl.dumpNeighboursRequest(), { op: 'dump', object: 'neighbours' }, (m) =>
      m.type === c.RTM_NEWNEIGH ? toNeighbour(nl.decodeNeighbour(m.buf, m.start, m.end), names) : null);
  }
  return state;
}
