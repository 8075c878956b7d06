// Looking links up by name or index in one namespace, and reading "no such device" as null.
import { DataplaneError } from '../errors.js';
import * as c from '../nl/constants.js';
import * as nl from '../nl/index.js';
import type { NlMessage } from '../nl/message.js';
import type { Link } from '../types.js';
import * as v from '../validate.js';
import { toLink } from './observed.js';
import type { NetlinkSocket } from './socket.js';

export const decodeLinkMessage = (m: NlMessage): Link | null =>
  m.type === c.RTM_NEWLINK ? toLink(nl.decodeLink(m.buf, m.start, m.end)) : null;

/** Resolves to null when the kernel says the object does not exist (ENODEV). */
export async function orNullIfMissing<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof DataplaneError && err.code === 'ENODEV') return null;
    throw err;
  }
}

/** Succeeds when the kernel answers with one of `codes` (e.g. EEXIST on add). */
export async function ignoringCodes(codes: readonly string[], p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DataplaneError && codes.includes(err.code)) return;
    throw err;
  }
}

export class LinkLookup {
  private readonly shared = new Map<string, Promise<Link | null>>();

  constructor(private readonly socket: NetlinkSocket) {}

  get(name: string): Promise<Link | null> {
    v.checkIfName('get link', name);
    return orNullIfMissing(this.socket.get(nl.getLinkRequest({ name }), { op: 'get link', object: name }, decodeLinkMessage));
  }

  byIndex(index: number): Promise<Link | null> {
    return orNullIfMissing(this.socket.get(nl.getLinkRequest({ index }), { op: 'get link', object: `ifindex ${index}` }, decodeLinkMessage));
  }

  /** The name of device `index`, null when there is none (no message: see NetlinkSocket.nameOf). */
  nameOf(index: number): string | null {
    return this.socket.nameOf(index, { op: 'get link', object: `ifindex ${index}` });
  }

  /** Concurrent lookups of one name (e.g. the bridge of 1000 attachments) share one request. */
  getShared(name: string): Promise<Link | null> {
    let p = this.shared.get(name);
    if (!p) {
      p = this.get(name).finally(() => this.shared.delete(name));
      this.shared.set(name, p);
    }
    return p;
  }

  async mustGet(op: string, name: string): Promise<Link> {
    const link = await this.get(name);
    if (!link) throw new DataplaneError(op, name, 'ENODEV', `device "${name}" vanished`);
    return link;
  }

  /** The device's index, null when there is none (no message: see NetlinkSocket.indexOf). */
  index(op: string, name: string, field = 'dev'): number | null {
    v.checkIfName(op, name, field);
    return this.socket.indexOf(name, { op, object: name });
  }

  async requireIndex(op: string, name: string, field = 'dev'): Promise<number> {
    const index = this.index(op, name, field);
    if (index === null) throw new DataplaneError(op, name, 'ENODEV', `device "${name}" does not exist`);
    return index;
  }
}
