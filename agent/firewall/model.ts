// A firewall as values: tables of chains, sets/maps with their elements, and named counters.
// The ruleset module builds one from the desired state; the transaction module turns the
// difference between two of them into nft commands.
import type { BaseChainSpec, NftExpr, NftFamily, SetSpec } from '../../dataplane/nftables/json.js';

export interface ChainModel {
  base?: BaseChainSpec;
  rules: NftExpr[][];
}

export interface SetModel {
  spec: SetSpec;
  /** Elements by a stable key (their JSON), so two models compare element by element. */
  elements: Map<string, NftExpr>;
}

export interface TableModel {
  family: NftFamily;
  name: string;
  chains: Map<string, ChainModel>;
  sets: Map<string, SetModel>;
  counters: Set<string>;
}

export function emptyTable(family: NftFamily, name: string): TableModel {
  return { family, name, chains: new Map(), sets: new Map(), counters: new Set() };
}

export function addElements(set: SetModel, elements: readonly NftExpr[]): void {
  for (const e of elements) set.elements.set(JSON.stringify(e), e);
}

const keys = new WeakMap<ChainModel, string>();

/** Whether two chains have the same rules (the same object, or the same rules as text). */
export function sameRules(a: ChainModel, b: ChainModel): boolean {
  return a === b || chainKey(a) === chainKey(b);
}

/** Rules of a chain as one comparable text (computed once per chain object). */
export function chainKey(c: ChainModel): string {
  let k = keys.get(c);
  if (k === undefined) keys.set(c, (k = JSON.stringify(c.rules)));
  return k;
}
