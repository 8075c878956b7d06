// The nft commands between two firewall models: a full replacement, and updates that touch
// only what changed, in an order the kernel accepts in one transaction (a rule before what it
// refers to is removed, a chain after the map elements that jump to it).
import { describe, expect, it } from 'vitest';
import { buildRuleset, groupListKey, type PortWithId } from '../../../agent/firewall/ruleset.js';
import { fullCommands, removeCommands, updateCommands } from '../../../agent/firewall/transaction.js';
import { addElements, emptyTable, type TableModel } from '../../../agent/firewall/model.js';
import type { SecurityGroup } from '../../../agent/api/gen/hostnet/v1/resources.js';
import type { NftCommand } from '../../../dataplane/nftables/json.js';
import { group, port, rule } from './firewall-fixtures.js';

const both = (ports: PortWithId[], groups: SecurityGroup[]) => buildRuleset(ports, groups);
const update = (prev: ReturnType<typeof both>, next: ReturnType<typeof both>): NftCommand[] =>
  [...updateCommands(prev.bridge, next.bridge), ...updateCommands(prev.inet, next.inet)];

/** "verb kind name" of a command, e.g. "flush chain sg-web-in", "add rule sg-web-in". */
function label(c: NftCommand): string {
  const [verb, obj] = Object.entries(c)[0] as [string, Record<string, Record<string, unknown>>];
  const [kind, body] = Object.entries(obj)[0]!;
  return `${verb} ${kind} ${String(body['name'] ?? body['chain'] ?? '')}`;
}
const labels = (cs: NftCommand[]): string[] => cs.map(label);
const indexOf = (cs: NftCommand[], l: string, pred: (c: NftCommand) => boolean = () => true): number => cs.findIndex((c) => label(c) === l && pred(c));

const web = (port80 = 80) => group('web', [rule('in', { protocol: 'TCP', fromPort: port80, toPort: port80 }), rule('out')]);
const ssh = () => group('ssh', [rule('in', { protocol: 'TCP', fromPort: 22, group: 'ssh' })]);
const a = port('a', 1, { groups: ['web', 'ssh'] });
const b = port('b', 2, { groups: ['web'] });

describe('updateCommands', () => {
  it('no change: no commands', () => {
    expect(update(both([a, b], [web(), ssh()]), both([a, b], [web(), ssh()]))).toEqual([]);
  });

  it('a changed group rule: flush and refill of just that chain', () => {
    const cs = update(both([a, b], [web(), ssh()]), both([a, b], [web(8080), ssh()]));
    expect(labels(cs)).toEqual(['flush chain sg-web-in', 'add rule sg-web-in']);
    expect(JSON.stringify(cs[1])).toContain('8080');
    expect(cs[0]).toEqual({ flush: { chain: { family: 'inet', table: 'hostnet', name: 'sg-web-in' } } });
  });

  it('set elements: only the delta is added and deleted', () => {
    const prev = emptyTable('inet', 'hostnet');
    const next = emptyTable('inet', 'hostnet');
    const spec = { type: 'ipv4_addr', flags: ['interval' as const] };
    prev.sets.set('s', { spec, elements: new Map() });
    next.sets.set('s', { spec, elements: new Map() });
    addElements(prev.sets.get('s')!, ['10.0.0.1', '10.0.0.2', { range: ['10.0.1.0', '10.0.1.9'] }]);
    addElements(next.sets.get('s')!, ['10.0.0.2', '10.0.0.3', { range: ['10.0.1.0', '10.0.1.9'] }]);
    expect(updateCommands(prev, next)).toEqual([
      { delete: { element: { family: 'inet', table: 'hostnet', name: 's', elem: ['10.0.0.1'] } } },
      { add: { element: { family: 'inet', table: 'hostnet', name: 's', elem: ['10.0.0.3'] } } },
    ]);
  });

  it('a new member of a group: its set gains the address, nothing else of the group changes', () => {
    const c = port('c', 3, { groups: ['ssh'], v4: ['10.70.0.99'] });
    const cs = update(both([a, b], [web(), ssh()]), both([a, b, c], [web(), ssh()]));
    const setAdds = cs.filter((x) => label(x) === 'add element sg-ssh-v4');
    expect(setAdds).toHaveLength(1);
    expect(JSON.stringify(setAdds[0])).toContain('10.70.0.99');
    expect(labels(cs)).not.toContain('flush chain sg-ssh-in');
    expect(labels(cs).filter((l) => l.startsWith('flush'))).toEqual([]);
  });

  it('a new port: its counters and chains are added before rules that use them and elements that jump to them', () => {
    const c = port('c', 3, { groups: ['web'] });
    const prev = both([a], [web(), ssh()]);
    const next = both([a, c], [web(), ssh()]);
    for (const t of ['bridge', 'inet'] as const) {
      const cs = updateCommands(prev[t], next[t]);
      const added = [...next[t].chains.keys()].filter((n) => !prev[t].chains.has(n));
      const counters = [...next[t].counters].filter((n) => !prev[t].counters.has(n));
      expect(added.length + counters.length, t).toBeGreaterThan(0);
      for (const name of [...added, ...counters]) {
        const at = cs.findIndex((x) => label(x) === `add ${added.includes(name) ? 'chain' : 'counter'} ${name}`);
        expect(at, name).toBeGreaterThanOrEqual(0);
        const users = cs.map((x, i) => [x, i] as const).filter(([x]) => /^add (rule|element)/.test(label(x)) && JSON.stringify(x).includes(`"${name}"`));
        for (const [x, i] of users) expect(i, `${label(x)} after its ${name}`).toBeGreaterThan(at);
      }
      expect(labels(cs).filter((l) => l.startsWith('delete') || l.startsWith('flush')), t).toEqual([]);
    }
  });

  it('a removed port: its chains are flushed, the map elements that jump to them deleted, then the chains, then its counters', () => {
    const prev = both([a, b], [web(), ssh()]);
    const next = both([a], [web(), ssh()]);
    let chainsSeen = 0;
    for (const t of ['bridge', 'inet'] as const) {
      const cs = updateCommands(prev[t], next[t]);
      const removed = [...prev[t].chains.keys()].filter((n) => !next[t].chains.has(n));
      chainsSeen += removed.length;
      for (const chain of removed) {
        // b's own chains, and in inet the chains of its list of groups, which no one else has.
        expect(chain).toMatch(t === 'bridge' ? /-b$/ : new RegExp(`^groups-${groupListKey(['web'])}-(in|out)$`));
        const flush = indexOf(cs, `flush chain ${chain}`);
        const del = indexOf(cs, `delete chain ${chain}`);
        expect(flush, chain).toBeGreaterThanOrEqual(0);
        expect(flush, chain).toBeLessThan(del);
        // Every element that jumps to the chain goes before the chain.
        const jumpers = cs.map((c, i) => [c, i] as const).filter(([c]) => label(c).startsWith('delete element') && JSON.stringify(c).includes(`"${chain}"`));
        for (const [, i] of jumpers) expect(i).toBeLessThan(del);
      }
      // A counter goes after every chain whose rules may have used it.
      const lastChainDelete = Math.max(...removed.map((n) => indexOf(cs, `delete chain ${n}`)));
      for (const counter of [...prev[t].counters].filter((n) => !next[t].counters.has(n))) {
        expect(counter).toMatch(/-b$/);
        if (removed.length === 0) continue;
        expect(indexOf(cs, `delete counter ${counter}`), counter).toBeGreaterThan(lastChainDelete);
      }
      // Nothing of a's is touched, and no chain is rewritten: b's address leaves its group's set.
      expect(labels(cs).filter((l) => l.startsWith('add rule') || (l.startsWith('flush') && !removed.some((n) => l === `flush chain ${n}`))), t).toEqual([]);
    }
    expect(chainsSeen).toBeGreaterThanOrEqual(3);
    expect(updateCommands(prev.inet, next.inet).filter((c) => label(c) === 'delete element sg-web-v4'))
      .toEqual([{ delete: { element: { family: 'inet', table: 'hostnet', name: 'sg-web-v4', elem: [b.v4[0]] } } }]);
    const webList = groupListKey(['web']);
    expect(labels(updateCommands(prev.inet, next.inet))).toEqual(expect.arrayContaining([`delete chain groups-${webList}-in`, `delete chain groups-${webList}-out`, 'delete counter policy-in-b', 'delete counter policy-out-b']));
  });

  it('a removed group: the chains that jumped to it are rewritten before its chains and sets go', () => {
    const a2 = { ...a, groups: ['web'] };
    const cs = update(both([a, b], [web(), ssh()]), both([a2, b], [web()]));
    const del = indexOf(cs, 'delete chain sg-ssh-in');
    expect(indexOf(cs, `flush chain groups-${groupListKey(['web', 'ssh'])}-in`)).toBeLessThan(del);
    expect(indexOf(cs, 'flush chain sg-ssh-in')).toBeLessThan(del);
    expect(indexOf(cs, 'delete set sg-ssh-v4')).toBeGreaterThan(del);
    expect(indexOf(cs, 'delete set sg-ssh-v6')).toBeGreaterThan(del);
  });

  it('the order: adds, flushes, element deletes, element adds, rules, deletes', () => {
    const c = port('c', 3, { groups: ['ssh'] });
    const prev = both([a, b], [web(), ssh()]);
    const next = both([a, c], [web(8080), ssh()]);
    const rank = (c: NftCommand): number => {
      const l = label(c);
      if (l.startsWith('add element')) return 3;
      if (l.startsWith('delete element')) return 2;
      if (l.startsWith('add rule')) return 4;
      if (l.startsWith('add')) return 0;
      if (l.startsWith('flush')) return 1;
      return 5;
    };
    for (const t of ['bridge', 'inet'] as const) {
      const ranks = updateCommands(prev[t], next[t]).map(rank);
      expect(ranks, t).toEqual([...ranks].sort((x, y) => x - y));
      expect(new Set(ranks), t).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    }
  });

  it('many elements are split into commands of at most 2000', () => {
    const prev = emptyTable('inet', 'hostnet');
    const next: TableModel = emptyTable('inet', 'hostnet');
    next.sets.set('s', { spec: { type: 'ipv4_addr' }, elements: new Map() });
    addElements(next.sets.get('s')!, Array.from({ length: 4500 }, (_, i) => `10.${i >> 8}.${i & 255}.1`));
    const cs = updateCommands(prev, next);
    expect(labels(cs)).toEqual(['add set s', 'add element s', 'add element s', 'add element s']);
    const sizes = cs.slice(1).map((c) => ((c as { add: { element: { elem: unknown[] } } }).add.element.elem.length));
    expect(sizes).toEqual([2000, 2000, 500]);
  });
});

describe('fullCommands', () => {
  it('replaces the table: add, delete, add; then counters (seeded), chains, sets, elements, rules', () => {
    const rs = both([a, b], [web(), ssh()]);
    const cs = fullCommands(rs.inet, new Map([['policy-in-a', { packets: 7, bytes: 700 }]]));
    expect(cs.slice(0, 3)).toEqual([
      { add: { table: { family: 'inet', name: 'hostnet' } } },
      { delete: { table: { family: 'inet', name: 'hostnet' } } },
      { add: { table: { family: 'inet', name: 'hostnet' } } },
    ]);
    expect(cs).toContainEqual({ add: { counter: { family: 'inet', table: 'hostnet', name: 'policy-in-a', packets: 7, bytes: 700 } } });
    expect(cs).toContainEqual({ add: { counter: { family: 'inet', table: 'hostnet', name: 'policy-in-b' } } });
    const kinds = cs.slice(3).map((c) => label(c).split(' ').slice(0, 2).join(' '));
    const order = ['add counter', 'add chain', 'add map', 'add set', 'add element', 'add rule'];
    const firstOf = (k: string) => kinds.indexOf(k);
    const lastOf = (k: string) => kinds.lastIndexOf(k);
    expect(lastOf('add counter')).toBeLessThan(firstOf('add chain'));
    expect(lastOf('add chain')).toBeLessThan(Math.min(firstOf('add map'), firstOf('add set')));
    expect(Math.max(lastOf('add map'), lastOf('add set'))).toBeLessThan(firstOf('add element'));
    expect(lastOf('add element')).toBeLessThan(firstOf('add rule'));
    expect(kinds.every((k) => order.includes(k))).toBe(true);
    // Base chains carry their hook.
    expect(cs).toContainEqual({ add: { chain: { family: 'inet', table: 'hostnet', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } } });
  });
  it('removeCommands: add then delete, so a missing table is no error', () => {
    expect(removeCommands('bridge')).toEqual([
      { add: { table: { family: 'bridge', name: 'hostnet' } } },
      { delete: { table: { family: 'bridge', name: 'hostnet' } } },
    ]);
  });
});
