// Bridge FDB entries over rtnetlink (AF_BRIDGE neighbour messages): append, delete, list, and
// the conversion of a decoded message that the dump and the watch share.
import { DataplaneError } from '../errors.js';
import { checkFdbSpec, fdbObject, fdbStateName } from '../fdb.js';
import * as c from '../nl/constants.js';
import * as nl from '../nl/index.js';
import type { FdbEntry, FdbSpec } from '../types.js';
import * as v from '../validate.js';
import { ignoringCodes, type LinkLookup } from './lookup.js';
import type { NetlinkSocket } from './socket.js';

/** An AF_BRIDGE neighbour message as an FdbEntry; null for other families or without a MAC. */
export function toFdbEntry(m: nl.FdbMessage, names: ReadonlyMap<number, string>): FdbEntry | null {
  if (m.family !== c.AF_BRIDGE || m.mac === null) return null;
  const e: FdbEntry = {
    index: m.index,
    dev: names.get(m.index) ?? '',
    mac: m.mac,
    self: (m.flags & c.NTF_SELF) !== 0,
    // The bridge marks its entries with NDA_MASTER (NTF_MASTER is how a request asks for them).
    master: (m.flags & c.NTF_MASTER) !== 0 || m.masterIndex !== null,
    state: fdbStateName(m.state),
  };
  if (m.dst !== null) e.dst = m.dst;
  if (m.port !== null) e.port = m.port;
  if (m.vni !== null) e.vni = m.vni;
  if (m.vlan !== null) e.vlan = m.vlan;
  if (m.flags & c.NTF_EXT_LEARNED) e.externLearn = true;
  return e;
}

export class FdbOps {
  constructor(
    private readonly socket: NetlinkSocket,
    private readonly links: LinkLookup,
  ) {}

  async append(spec: FdbSpec): Promise<void> {
    const op = 'append fdb entry';
    checkFdbSpec(op, spec);
    const link = await this.links.get(spec.dev);
    if (!link) throw new DataplaneError(op, fdbObject(spec), 'ENODEV', `device "${spec.dev}" does not exist`);
    await this.socket.ack(nl.appendFdbRequest(fields(link.index, spec)), { op, object: fdbObject(spec) });
  }

  async delete(spec: FdbSpec): Promise<void> {
    const op = 'delete fdb entry';
    checkFdbSpec(op, spec);
    const link = await this.links.get(spec.dev);
    if (!link) return;
    // ENOENT: the MAC has no entry at all (a missing remote of a MAC that has others is no error).
    await ignoringCodes(['ENOENT', 'ENODEV'], this.socket.ack(nl.deleteFdbRequest(fields(link.index, spec)), { op, object: fdbObject(spec) }));
  }

  async list(dev: string): Promise<FdbEntry[]> {
    const op = 'list fdb';
    v.checkIfName(op, dev, 'dev');
    const link = await this.links.get(dev);
    if (!link) return [];
    const names = new Map([[link.index, link.name]]);
    // The kernel may answer with every device's entries (see dumpFdbRequest): keep this one's.
    return this.socket.dump<FdbEntry>(nl.dumpFdbRequest({ index: link.index }), { op, object: dev }, (m) => {
      if (m.type !== c.RTM_NEWNEIGH) return null;
      const e = toFdbEntry(nl.decodeFdb(m.buf, m.start, m.end), names);
      return e && e.index === link.index ? e : null;
    });
  }
}

function fields(index: number, s: FdbSpec): nl.FdbFields {
  return {
    index, mac: s.mac.toLowerCase(),
    ...(s.dst !== undefined ? { dst: s.dst } : {}),
    ...(s.port !== undefined ? { port: s.port } : {}),
    ...(s.vni !== undefined ? { vni: s.vni } : {}),
  };
}
