// nft commands that take the kernel from one firewall model to the next in one transaction.
// fullCommands: the first time (or to repair drift) the tables are replaced whole: `add table`
// (so the delete cannot fail), `delete table`, then everything anew, with the named counters
// seeded from what they counted before. updateCommands: only chains whose rules changed are flushed
// and refilled, only set elements that changed are added or deleted; a packet sees either
// the old ruleset or the new one, never a mix (the kernel commits a batch at once).
import type { NftCommand, NftExpr, NftFamily, NftObject } from '../../dataplane/nftables/json.js';
import { TABLE } from './ruleset.js';
import { sameRules, type SetModel, type TableModel } from './model.js';

export type CounterSeeds = ReadonlyMap<string, { packets: number; bytes: number }>;

/** Elements per command: one nft message per command stays well under netlink's limits. */
const ELEMENTS_PER_COMMAND = 2000;

const ref = (t: TableModel) => ({ family: t.family, table: t.name });

function setObject(t: TableModel, name: string, s: SetModel): NftObject {
  const base = { ...ref(t), name, type: s.spec.type, ...(s.spec.flags ? { flags: s.spec.flags } : {}) };
  return s.spec.map ? { map: { ...base, map: s.spec.map } } : { set: base };
}

function elementCommands(verb: 'add' | 'delete', t: TableModel, name: string, elements: NftExpr[]): NftCommand[] {
  const out: NftCommand[] = [];
  for (let i = 0; i < elements.length; i += ELEMENTS_PER_COMMAND) {
    const obj: NftObject = { element: { ...ref(t), name, elem: elements.slice(i, i + ELEMENTS_PER_COMMAND) } };
    out.push(verb === 'add' ? { add: obj } : { delete: obj });
  }
  return out;
}

function ruleCommands(t: TableModel, chain: string, rules: NftExpr[][]): NftCommand[] {
  return rules.map((expr) => ({ add: { rule: { ...ref(t), chain, expr } } }));
}

/** Removes the table if it exists (`add` first, so the delete cannot fail). */
export function removeCommands(family: NftFamily, name = TABLE): NftCommand[] {
  return [{ add: { table: { family, name } } }, { delete: { table: { family, name } } }];
}

/** Replaces the table whole. */
export function fullCommands(t: TableModel, seeds: CounterSeeds): NftCommand[] {
  const table = { family: t.family, name: t.name };
  const out: NftCommand[] = [{ add: { table } }, { delete: { table } }, { add: { table } }];
  for (const name of t.counters) out.push({ add: { counter: { ...ref(t), name, ...(seeds.get(name) ?? {}) } } });
  for (const [name, c] of t.chains) out.push({ add: { chain: { ...ref(t), name, ...(c.base ?? {}) } } });
  for (const [name, s] of t.sets) out.push({ add: setObject(t, name, s) });
  for (const [name, s] of t.sets) out.push(...elementCommands('add', t, name, [...s.elements.values()]));
  for (const [name, c] of t.chains) out.push(...ruleCommands(t, name, c.rules));
  return out;
}

/** What changed from `prev` to `next` (the same table). Empty when nothing did. */
export function updateCommands(prev: TableModel, next: TableModel): NftCommand[] {
  if (prev === next) return [];
  const adds: NftCommand[] = [];
  const flushes: NftCommand[] = [];
  const elementDeletes: NftCommand[] = [];
  const elementAdds: NftCommand[] = [];
  const rules: NftCommand[] = [];
  const deletes: NftCommand[] = [];

  for (const name of next.counters) if (!prev.counters.has(name)) adds.push({ add: { counter: { ...ref(next), name } } });
  for (const [name, c] of next.chains) {
    const old = prev.chains.get(name);
    if (!old) adds.push({ add: { chain: { ...ref(next), name, ...(c.base ?? {}) } } });
    else if (sameRules(old, c)) continue;
    else flushes.push({ flush: { chain: { ...ref(next), name } } });
    rules.push(...ruleCommands(next, name, c.rules));
  }
  for (const [name, s] of next.sets) {
    const old = prev.sets.get(name);
    if (old === s) continue;
    if (!old) adds.push({ add: setObject(next, name, s) });
    const gone = old ? [...old.elements].filter(([k]) => !s.elements.has(k)).map(([, e]) => e) : [];
    const added = [...s.elements].filter(([k]) => !old?.elements.has(k)).map(([, e]) => e);
    elementDeletes.push(...elementCommands('delete', next, name, gone));
    elementAdds.push(...elementCommands('add', next, name, added));
  }
  // Removals last, rules before what they refer to: a chain's rules and the map elements
  // that jump to it go before the chain; the rules using a set or counter before those.
  for (const name of prev.chains.keys()) {
    if (next.chains.has(name)) continue;
    flushes.push({ flush: { chain: { ...ref(prev), name } } });
    deletes.push({ delete: { chain: { ...ref(prev), name } } });
  }
  for (const [name, s] of prev.sets) if (!next.sets.has(name)) deletes.push({ delete: setObject(prev, name, s) });
  for (const name of prev.counters) if (!next.counters.has(name)) deletes.push({ delete: { counter: { ...ref(prev), name } } });
  return [...adds, ...flushes, ...elementDeletes, ...elementAdds, ...rules, ...deletes];
}
