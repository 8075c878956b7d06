// Addresses, routes and neighbour entries over rtnetlink: adding what exists and deleting
// what is gone both succeed.
import { DataplaneError, invalid } from '../errors.js';
import * as c from '../nl/constants.js';
import * as nl from '../nl/index.js';
import type { AddressSpec, NeighbourSpec, RouteSpec } from '../types.js';
import * as v from '../validate.js';
import { ignoringCodes, type LinkLookup } from './lookup.js';
import { routeFields } from './plan.js';
import type { NetlinkSocket } from './socket.js';

const NUD: Record<NonNullable<NeighbourSpec['state']>, number> = {
  permanent: c.NUD_PERMANENT,
  reachable: c.NUD_REACHABLE,
  stale: c.NUD_STALE,
  noarp: c.NUD_NOARP,
};

export class L3Ops {
  constructor(
    private readonly socket: NetlinkSocket,
    private readonly links: LinkLookup,
  ) {}

  async addAddress(spec: AddressSpec): Promise<void> {
    const op = 'add address';
    if (spec.protocol !== undefined) v.checkUint(op, spec.cidr, spec.protocol, 'protocol', 255);
    const f = await this.addrFields(op, spec);
    if (!f) throw new DataplaneError(op, spec.dev, 'ENODEV', `device "${spec.dev}" does not exist`);
    // EXCL + EEXIST ignored: an address already there keeps its protocol (it may be the admin's).
    const request = nl.addAddressRequest({ ...f, ...(spec.protocol ? { protocol: spec.protocol } : {}) });
    await ignoringCodes(['EEXIST'], this.socket.ack(request, { op, object: `${spec.cidr} on ${spec.dev}` }));
  }

  async deleteAddress(spec: AddressSpec): Promise<void> {
    const op = 'delete address';
    const f = await this.addrFields(op, spec);
    if (!f) return;
    // EADDRNOTAVAIL is how the kernel says "no such address".
    await ignoringCodes(['EADDRNOTAVAIL', 'ENODEV'], this.socket.ack(nl.deleteAddressRequest(f), { op, object: `${spec.cidr} on ${spec.dev}` }));
  }

  async addRoute(spec: RouteSpec): Promise<void> {
    const op = 'replace route';
    const f = await routeFields(op, spec, (name) => this.links.requireIndex(op, name));
    await this.socket.ack(nl.replaceRouteRequest(f), { op, object: spec.destination });
  }

  async deleteRoute(spec: RouteSpec): Promise<void> {
    const op = 'delete route';
    const f = await routeFields(op, spec, (name) => this.links.requireIndex(op, name), true).catch((err: unknown) => {
      if (err instanceof DataplaneError && err.code === 'ENODEV') return null; // its device is gone, so is it
      throw err;
    });
    if (!f) return;
    await ignoringCodes(['ESRCH', 'ENOENT'], this.socket.ack(nl.deleteRouteRequest(f), { op, object: spec.destination }));
  }

  async setNeighbour(spec: NeighbourSpec): Promise<void> {
    const op = 'set neighbour';
    v.checkIp(op, spec.ip, spec.ip, 'ip');
    v.checkMac(op, spec.ip, spec.mac, 'mac', false);
    const state = NUD[spec.state ?? 'permanent'];
    if (state === undefined) throw invalid(op, spec.ip, `state "${spec.state}" is not one of ${Object.keys(NUD).join(', ')}`);
    const index = await this.links.requireIndex(op, spec.dev);
    await this.socket.ack(nl.replaceNeighbourRequest({ index, ip: spec.ip, mac: spec.mac, state }), { op, object: `${spec.ip} on ${spec.dev}` });
  }

  async deleteNeighbour(spec: Omit<NeighbourSpec, 'mac'>): Promise<void> {
    const op = 'delete neighbour';
    v.checkIp(op, spec.ip, spec.ip, 'ip');
    const index = this.links.index(op, spec.dev);
    if (index === null) return;
    await ignoringCodes(['ENOENT'], this.socket.ack(nl.deleteNeighbourRequest({ index, ip: spec.ip }), { op, object: `${spec.ip} on ${spec.dev}` }));
  }

  /** null when the device does not exist. */
  private async addrFields(op: string, spec: AddressSpec): Promise<nl.AddrFields | null> {
    const { ip, prefix, family } = v.checkCidr(op, spec.dev, spec.cidr);
    if (spec.nodad && family !== 6) throw invalid(op, spec.cidr, 'nodad applies to IPv6 addresses only');
    const index = this.links.index(op, spec.dev);
    if (index === null) return null;
    return { index, ip, prefix, ...(spec.nodad ? { nodad: true } : {}) };
  }
}
