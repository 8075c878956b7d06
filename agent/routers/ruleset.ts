// The nftables table of the routers and of the isolation between hostnet networks (inet family,
// one transaction replaces it whole):
//   forward: a packet entering by a hostnet network's device (a bridge, or a routed network's
//     TAP / veth host end) jumps, through the map `zones`, to its network's chain, which accepts
//     it out the devices the network may reach and drops it (counter `isolated`) out any other
//     hostnet device or router external interface (out any other device at all for a routed
//     network no one announces: hostnet made it forward, so it has no way out but a router's). A network reaches its own devices (bridged
//     traffic passes this hook too when bridge netfilter is on), every routed network if it is
//     routed itself (they are routed to each other by design, security groups being the
//     control), and the networks and external interfaces of the routers that connect it. A packet
//     entering by an external interface jumps to that interface's chain: it reaches the networks
//     of its NO_NAT routers, only replies (`ct state established,related`) to those behind NAT,
//     and no other network. A routed network announced over BGP is the exception: the fabric
//     routes its addresses, so it reaches every external interface and is reached from them,
//     without NAT, as it would with no router at all. So networks no router connects stay apart at layer 3 even when
//     forwarding is on for other reasons (a routed network's own devices forward, the host's
//     ip_forward, another router's external interface).
//   postrouting (NAT): sources in a router's IPv4 networks leaving through its external
//     interface are masqueraded or rewritten to the SNAT address.
// Traffic that enters by no hostnet device or external interface (e.g. from the BGP fabric to a
// routed workload) is not this table's business: the chain's policy is accept.
import {
  accept, counterRef, ct, drop, jump, match, meta, named, payload, setOf, vmap, type NftCommand, type NftExpr,
} from '../../dataplane/nftables/json.js';
import type { NetworkZone, RoutersModel } from './model.js';

export const ROUTERS_TABLE = 'hostnet-routers';
const family = 'inet' as const;
/** Dropped forwarded packets between networks no router connects: a test's and an operator's witness. */
export const ISOLATED_COUNTER = 'isolated';
export const ZONES_MAP = 'zones';
/** Every hostnet network device and router external interface: what the drop rules fence. */
export const GUARDED_SET = 'guarded';
/** Every hostnet network device. */
export const MEMBERS_SET = 'members';

/** One chain per group of devices entering the same way: a network's, or an external interface's. */
export interface Zone {
  /** Chain name: `from_net_<networks>` or `from_ext_<device>` ('_' is in no network name: no clash). */
  chain: string;
  /** The devices that jump to it. */
  devices: string[];
  /** Out-devices accepted in any state. */
  reach: string[];
  /** Out-devices accepted for established and related connections only (in through a NAT). */
  replies: string[];
  /**
   * Drop out of every other device, not only hostnet's and the routers': a routed network no
   * one announces. hostnet turned its devices' forwarding on, so hostnet fences it: without
   * this it would leave by any interface the host has a route through (its default route).
   */
  closed: boolean;
}

export interface Isolation {
  zones: Zone[];
  members: string[];
  guarded: string[];
}

const sorted = (s: Iterable<string>): string[] => [...new Set(s)].sort();

/** Whether hostnet must fence its networks at all: while a router connects one, or a network is routed. */
export function wantsTable(model: RoutersModel): boolean {
  return model.routers.some((r) => r.networks.length > 0) || model.zones.some((z) => z.routed);
}

export function isolationOf(model: RoutersModel): Isolation {
  const routedDevices = model.zones.filter((z) => z.routed).flatMap((z) => z.devices);
  const routers = model.routers.filter((r) => r.networks.length > 0);
  const externalDevices = sorted(routers.flatMap((r) => (r.external ? [r.external.device] : [])));
  const announcedDevices = model.zones.filter((z) => z.announced).flatMap((z) => z.devices);
  const reachOf = (z: NetworkZone): string[] => {
    const out = [...z.devices, ...(z.routed ? routedDevices : []), ...(z.announced ? externalDevices : [])];
    for (const r of routers) {
      if (!r.networks.some((n) => n.name === z.name)) continue;
      for (const n of r.networks) out.push(...n.devices);
      if (r.external) out.push(r.external.device);
    }
    return out;
  };
  // A device shared by networks (one bridge for several) enters with the reach of all of them.
  const netsOfDevice = new Map<string, NetworkZone[]>();
  for (const z of model.zones) for (const d of z.devices) netsOfDevice.set(d, [...(netsOfDevice.get(d) ?? []), z]);
  const groups = new Map<string, Zone>();
  for (const [dev, zs] of netsOfDevice) {
    const chain = `from_net_${sorted(zs.map((z) => z.name)).join('+')}`;
    const closed = zs.every((z) => z.routed && !z.announced);
    const g = groups.get(chain) ?? { chain, devices: [], reach: sorted(zs.flatMap(reachOf)), replies: [], closed };
    g.devices.push(dev);
    groups.set(chain, g);
  }
  const externals = new Map<string, Zone>();
  for (const r of routers) {
    if (!r.external) continue;
    const dev = r.external.device;
    const x = externals.get(dev) ?? { chain: `from_ext_${dev}`, devices: [dev], reach: [...announcedDevices], replies: [], closed: false };
    // Without NAT the outside routes the networks' addresses back: it may open connections too.
    for (const n of r.networks) (r.external.nat.mode === 'none' ? x.reach : x.replies).push(...n.devices);
    externals.set(dev, x);
  }
  const zones = [...groups.values(), ...[...externals.values()].map((x) => ({ ...x, reach: sorted(x.reach), replies: sorted(x.replies.filter((d) => !x.reach.includes(d))) }))]
    .map((z) => ({ ...z, devices: sorted(z.devices) }))
    .sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0));
  const members = sorted(netsOfDevice.keys());
  return { zones, members, guarded: sorted([...members, ...externals.keys()]) };
}

/** The NAT rules: one per router with an external interface, NAT and IPv4 networks. */
function natRules(model: RoutersModel): NftExpr[][] {
  const rules: NftExpr[][] = [];
  for (const r of model.routers) {
    if (!r.external || r.external.nat.mode === 'none') continue;
    const cidrs = r.networks.flatMap((n) => (n.cidr4 ? [n.cidr4] : []));
    if (cidrs.length === 0) continue;
    const sources = setOf(cidrs.map((c) => {
      const [addr, len] = c.split('/');
      return { prefix: { addr: addr!, len: Number(len) } };
    }));
    const nat = r.external.nat;
    const action: NftExpr = nat.mode === 'snat' ? { snat: { family: 'ip', addr: nat.address } } : { masquerade: null };
    rules.push([match(meta('oifname'), r.external.device), match(payload('ip', 'saddr'), sources), action]);
  }
  return rules;
}

/**
 * The whole table for this model, as one transaction that replaces it (`add`, `delete`, then
 * anew: a packet sees the old table or the new one), or that removes it when nothing needs it.
 */
export function routerCommands(model: RoutersModel | null): NftCommand[] {
  const table = { family, name: ROUTERS_TABLE };
  const out: NftCommand[] = [{ add: { table } }, { delete: { table } }];
  if (!model || !wantsTable(model)) return out;
  const ref = { family, table: ROUTERS_TABLE };
  const iso = isolationOf(model);
  out.push({ add: { table } });
  out.push({ add: { counter: { ...ref, name: ISOLATED_COUNTER } } });
  const set = (name: string, elem: string[]): void => {
    out.push({ add: { set: { ...ref, name, type: 'ifname' } } });
    if (elem.length) out.push({ add: { element: { ...ref, name, elem } } });
  };
  set(MEMBERS_SET, iso.members);
  set(GUARDED_SET, iso.guarded);
  for (const z of iso.zones) {
    out.push({ add: { chain: { ...ref, name: z.chain } } });
    const rules: NftExpr[][] = [];
    if (z.reach.length) {
      set(`to_${z.chain.slice('from_'.length)}`, z.reach);
      rules.push([match(meta('oifname'), named(`to_${z.chain.slice('from_'.length)}`)), accept]);
    }
    if (z.replies.length) {
      set(`replies_${z.chain.slice('from_'.length)}`, z.replies);
      rules.push([match(ct('state'), ['established', 'related'], 'in'), match(meta('oifname'), named(`replies_${z.chain.slice('from_'.length)}`)), accept]);
    }
    // From a network: no other hostnet device, no external interface (a routed network no one
    // announces: no other device at all); from outside: no network.
    const fenced = z.chain.startsWith('from_net_') ? GUARDED_SET : MEMBERS_SET;
    rules.push([...(z.closed ? [] : [match(meta('oifname'), named(fenced))]), counterRef(ISOLATED_COUNTER), drop]);
    for (const expr of rules) out.push({ add: { rule: { ...ref, chain: z.chain, expr } } });
  }
  out.push({ add: { map: { ...ref, name: ZONES_MAP, type: 'ifname', map: 'verdict' } } });
  const entries = iso.zones.flatMap((z) => z.devices.map((d) => [d, jump(z.chain)] as NftExpr));
  if (entries.length) out.push({ add: { element: { ...ref, name: ZONES_MAP, elem: entries } } });
  // Before the firewall's forward chains (priority 0): what is dropped here is not seen there.
  out.push({ add: { chain: { ...ref, name: 'forward', type: 'filter', hook: 'forward', prio: -10, policy: 'accept' } } });
  out.push({ add: { rule: { ...ref, chain: 'forward', expr: [vmap(meta('iifname'), ZONES_MAP)] } } });
  out.push({ add: { chain: { ...ref, name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } } });
  for (const expr of natRules(model)) out.push({ add: { rule: { ...ref, chain: 'postrouting', expr } } });
  return out;
}
