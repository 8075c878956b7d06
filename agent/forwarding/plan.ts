// What the forwarding participant does with the switches on devices hostnet did not make, as a
// pure function of the owners' wants, the devices present, the record of what hostnet turned on
// and the switches' values: on where wanted and off, back off only where recorded and wanted by
// no owner any more. One key wanted by two owners (a router's external interface that is also
// the device towards a BGP peer) stays on while either still wants it.

/** Who needs a switch: the routers (bridges, external interfaces) or the BGP peers' devices. */
export type ForwardingOwner = 'routers' | 'bgp-peers';

/** One /proc/sys key (slash form, e.g. "net/ipv4/conf/uplink0/forwarding") an owner needs at 1. */
export interface ForwardingWant {
  readonly key: string;
  readonly device: string;
  readonly owner: ForwardingOwner;
}

/** The device of a per-device key (its fourth component), '' for another key. */
export function deviceOfKey(key: string): string {
  return key.split('/')[3] ?? '';
}

/** The wanted keys whose device exists, each with every owner that wants it. */
export function wantedKeys(wants: readonly ForwardingWant[], links: ReadonlySet<string>): Map<string, Set<ForwardingOwner>> {
  const out = new Map<string, Set<ForwardingOwner>>();
  for (const w of wants) {
    // A device not there yet has no switch to set; it is looked at again once it appears.
    if (!links.has(w.device)) continue;
    let owners = out.get(w.key);
    if (!owners) out.set(w.key, (owners = new Set()));
    owners.add(w.owner);
  }
  return out;
}

export interface ForwardingPlanInput {
  wanted: ReadonlyMap<string, ReadonlySet<ForwardingOwner>>;
  /** The wanted keys' values as read (null: this kernel has no such key). */
  values: ReadonlyMap<string, string | null>;
  /** The keys hostnet turned from 0 to 1 and has not turned back. */
  record: ReadonlySet<string>;
  links: ReadonlySet<string>;
  /**
   * Whether recorded keys no one wants go back off: not while the desired state could not be
   * read (holdTeardown), nor while an owner's wants are unknown (a failed peer lookup).
   */
  teardown: boolean;
}

export interface ForwardingPlan {
  /** Wanted keys found at 0: recorded, then written 1. */
  on: string[];
  /** Wanted keys this kernel lacks (force_forwarding before Linux 6.17). */
  missing: string[];
  /** Recorded keys no owner wants, on devices still there: written 0. */
  off: string[];
  /** Every recorded key no owner wants (a device that went took its switch with it): dropped from the record. */
  forget: string[];
}

export function planForwarding(i: ForwardingPlanInput): ForwardingPlan {
  const on: string[] = [];
  const missing: string[] = [];
  for (const key of i.wanted.keys()) {
    const v = i.values.get(key);
    // Found on (by the admin, another tool, or us earlier): left alone, and not recorded here.
    if (v === '0') on.push(key);
    else if (v === null) missing.push(key);
  }
  const forget = i.teardown ? [...i.record].filter((k) => !i.wanted.has(k)).sort() : [];
  const off = forget.filter((k) => i.links.has(deviceOfKey(k)));
  return { on: on.sort(), missing: missing.sort(), off, forget };
}

/** Records of older agents (one per participant) merged into one: every key any of them turned on. */
export function mergeRecords(...records: ReadonlyArray<Iterable<string>>): Set<string> {
  const out = new Set<string>();
  for (const r of records) for (const k of r) out.add(k);
  return out;
}
