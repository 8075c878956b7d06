// The slice of libnftables-json(5) hostnet writes: commands (add, flush, delete) of tables,
// chains, sets, maps, counters, elements and rules, and the expressions rules are made of.
// Plain data: a ruleset is built as values, compared as values, and sent as one transaction.

export type NftFamily = 'inet' | 'bridge' | 'ip' | 'ip6' | 'arp' | 'netdev';

export type Verdict =
  | { accept: null } | { drop: null } | { return: null } | { continue: null }
  | { jump: { target: string } } | { goto: { target: string } };

/** An expression on either side of a match, or a statement of a rule. */
export type NftExpr =
  | string | number | boolean | null
  | readonly NftExpr[]
  | { [key: string]: unknown };

export interface NftTableRef {
  family: NftFamily;
  table: string;
}

export interface BaseChainSpec {
  type: 'filter' | 'nat' | 'route';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress';
  prio: number;
  policy: 'accept' | 'drop';
}

export interface SetSpec {
  /** One type or a concatenation, e.g. "ipv4_addr" or ["ifname", "ipv4_addr"]. */
  type: string | string[];
  flags?: Array<'interval' | 'constant' | 'timeout'>;
  /** For a map: the data type ("verdict", "mark", ...). */
  map?: string;
}

export const accept: Verdict = { accept: null };
export const drop: Verdict = { drop: null };
export const ret: Verdict = { return: null };
export const jump = (target: string): Verdict => ({ jump: { target } });
export const goto = (target: string): Verdict => ({ goto: { target } });

export const meta = (key: string): NftExpr => ({ meta: { key } });
export const payload = (protocol: string, field: string): NftExpr => ({ payload: { protocol, field } });
/** Raw payload bits relative to a base ("ll", "nh", "th"). */
export const raw = (base: 'll' | 'nh' | 'th', offset: number, len: number): NftExpr => ({ payload: { base, offset, len } });
export const ct = (key: string): NftExpr => ({ ct: { key } });
export const and = (left: NftExpr, mask: number): NftExpr => ({ '&': [left, mask] });
export const concat = (...parts: NftExpr[]): NftExpr => ({ concat: parts });
export const setOf = (items: NftExpr[]): NftExpr => (items.length === 1 ? items[0]! : { set: items });
export const range = (from: NftExpr, to: NftExpr): NftExpr => ({ range: [from, to] });
export const prefix = (addr: string, len: number): NftExpr => ({ prefix: { addr, len } });
/** A reference to a named set or map. */
export const named = (name: string): string => `@${name}`;

export const match = (left: NftExpr, right: NftExpr, op: '==' | '!=' | 'in' = '=='): NftExpr => ({ match: { op, left, right } });
export const setMark = (value: NftExpr): NftExpr => ({ mangle: { key: meta('mark'), value } });
export const orMark = (bits: number): NftExpr => setMark({ '|': [meta('mark'), bits] });
export const counterRef = (name: string): NftExpr => ({ counter: name });
export const vmap = (key: NftExpr, map: string): NftExpr => ({ vmap: { key, data: named(map) } });

/** One command of a transaction. */
export type NftCommand =
  | { add: NftObject } | { flush: NftObject } | { delete: NftObject };

export type NftObject =
  | { table: { family: NftFamily; name: string } }
  | { chain: { family: NftFamily; table: string; name: string } & Partial<BaseChainSpec> }
  | { set: { family: NftFamily; table: string; name: string } & Partial<Pick<SetSpec, 'type' | 'flags'>> }
  | { map: { family: NftFamily; table: string; name: string; type?: string | string[]; map?: string; flags?: string[] } }
  | { counter: { family: NftFamily; table: string; name: string; packets?: number; bytes?: number } }
  | { element: { family: NftFamily; table: string; name: string; elem: NftExpr[] } }
  | { rule: { family: NftFamily; table: string; chain: string; expr: NftExpr[]; comment?: string } };
