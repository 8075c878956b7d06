// The nftables table of the routers (inet family, one transaction replaces it whole):
//   forward: traffic between the bridges of one router, and from a router's bridges out its
//     external interface (and, NAT aside, replies back), is accepted; any other forwarded
//     traffic between a hostnet bridge and another hostnet bridge or an external interface is
//     dropped. So two networks no router connects stay apart at layer 3 even when forwarding is
//     on for other reasons (the host's ip_forward, another router's external interface).
//     Bridged traffic within one network is let through too: with bridge netfilter on (the
//     firewall turns it on) it passes this hook with the bridge as both iif and oif.
//   postrouting (NAT): sources in a router's IPv4 networks leaving through its external
//     interface are masqueraded or rewritten to the SNAT address.
// Traffic that touches no hostnet bridge is not this table's business: the chain's policy is accept.
import {
  accept, concat, counterRef, ct, drop, match, meta, named, payload, setOf, type NftCommand, type NftExpr,
} from '../../dataplane/nftables/json.js';
import type { RoutersModel } from './model.js';

export const ROUTERS_TABLE = 'hostnet-routers';
const family = 'inet' as const;
/** Dropped forwarded packets between networks no router connects: a test's and an operator's witness. */
export const ISOLATED_COUNTER = 'isolated';

const SETS = { bridges: 'bridges', guarded: 'guarded', allowed: 'allowed', replies: 'replies' } as const;

interface Sets {
  bridges: string[];
  /** Bridges and external interfaces: what the drop rules fence. */
  guarded: string[];
  /** iif . oif pairs forwarded in any state. */
  allowed: Array<[string, string]>;
  /** iif . oif pairs forwarded for established and related connections only (in through a NAT). */
  replies: Array<[string, string]>;
}

function setsOf(model: RoutersModel): Sets {
  const allowed = new Map<string, [string, string]>();
  const replies = new Map<string, [string, string]>();
  const pair = (m: Map<string, [string, string]>, a: string, b: string): void => void m.set(`${a}\0${b}`, [a, b]);
  for (const b of model.bridges) pair(allowed, b, b);
  const externals = new Set<string>();
  for (const r of model.routers) {
    for (const x of r.networks) for (const y of r.networks) pair(allowed, x.bridge, y.bridge);
    if (!r.external || r.networks.length === 0) continue;
    const ext = r.external.device;
    externals.add(ext);
    for (const x of r.networks) {
      pair(allowed, x.bridge, ext);
      // Without NAT the outside routes the networks' addresses back: it may open connections too.
      pair(r.external.nat.mode === 'none' ? allowed : replies, ext, x.bridge);
    }
  }
  const byKey = (m: Map<string, [string, string]>): Array<[string, string]> => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return {
    bridges: model.bridges,
    guarded: [...new Set([...model.bridges, ...externals])].sort(),
    allowed: byKey(allowed),
    replies: byKey(replies).filter(([a, b]) => !allowed.has(`${a}\0${b}`)),
  };
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
 * The whole table for these routers, as one transaction that replaces it (`add`, `delete`, then
 * anew: a packet sees the old table or the new one), or that removes it when there are none.
 */
export function routerCommands(model: RoutersModel | null): NftCommand[] {
  const table = { family, name: ROUTERS_TABLE };
  const out: NftCommand[] = [{ add: { table } }, { delete: { table } }];
  if (!model || model.routers.every((r) => r.networks.length === 0)) return out;
  const ref = { family, table: ROUTERS_TABLE };
  const s = setsOf(model);
  out.push({ add: { table } });
  out.push({ add: { counter: { ...ref, name: ISOLATED_COUNTER } } });
  const one = (name: string, elem: NftExpr[]): void => {
    out.push({ add: { set: { ...ref, name, type: 'ifname' } } });
    if (elem.length) out.push({ add: { element: { ...ref, name, elem } } });
  };
  const pairs = (name: string, elem: Array<[string, string]>): void => {
    out.push({ add: { set: { ...ref, name, type: ['ifname', 'ifname'] } } });
    if (elem.length) out.push({ add: { element: { ...ref, name, elem: elem.map(([a, b]) => concat(a, b)) } } });
  };
  one(SETS.bridges, s.bridges);
  one(SETS.guarded, s.guarded);
  pairs(SETS.allowed, s.allowed);
  pairs(SETS.replies, s.replies);

  const ifPair = match(concat(meta('iifname'), meta('oifname')), named(SETS.allowed));
  const replyPair = match(concat(meta('iifname'), meta('oifname')), named(SETS.replies));
  const counted = [counterRef(ISOLATED_COUNTER), drop];
  // Before the firewall's forward chains (priority 0): what is dropped here is not seen there.
  out.push({ add: { chain: { ...ref, name: 'forward', type: 'filter', hook: 'forward', prio: -10, policy: 'accept' } } });
  const forward: NftExpr[][] = [
    [ifPair, accept],
    [match(ct('state'), ['established', 'related'], 'in'), replyPair, accept],
    [match(meta('iifname'), named(SETS.bridges)), match(meta('oifname'), named(SETS.guarded)), ...counted],
    [match(meta('iifname'), named(SETS.guarded)), match(meta('oifname'), named(SETS.bridges)), ...counted],
  ];
  for (const expr of forward) out.push({ add: { rule: { ...ref, chain: 'forward', expr } } });
  out.push({ add: { chain: { ...ref, name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } } });
  for (const expr of natRules(model)) out.push({ add: { rule: { ...ref, chain: 'postrouting', expr } } });
  return out;
}
