// Incremental firewall updates converge: a ruleset loaded whole and then changed through a
// series of updateCommands transactions is, after every step, the same kernel ruleset (chains,
// rules in order, sets and their elements, counters) as a fresh full load of that step's model.
// Two scratch namespaces, the real kernel through dataplane/nftables/run.ts, `nft -j list
// ruleset` as the witness. Counter values and handles are left out of the comparison.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { SecurityGroup } from '../../agent/api/gen/hostnet/v1/resources.js';
import { buildRuleset, type PortWithId, type Ruleset } from '../../agent/firewall/ruleset.js';
import { fullCommands, removeCommands, updateCommands } from '../../agent/firewall/transaction.js';
import { nftRunner } from '../../dataplane/nftables/run.js';
import { useNetns } from '../lib/netns.js';
import { canonicalRuleset } from '../lib/nft-ruleset.js';
import { group, port, rule } from '../unit/agent/firewall-fixtures.js';

/** The models of a life of a node: ports come and go, groups and rules change, leases move. */
function steps(): Array<{ what: string; ports: PortWithId[]; groups: SecurityGroup[] }> {
  const web = (p: number) => group('web', [rule('in', { protocol: 'TCP', fromPort: p, toPort: p, cidr: '0.0.0.0/0' }), rule('in', { group: 'web' }), rule('out')]);
  const ssh = group('ssh', [rule('in', { protocol: 'TCP', fromPort: 22, group: 'ssh' }), rule('in', { protocol: 'ICMP' })]);
  const db = group('db', [rule('in', { protocol: 'TCP', fromPort: 5432, toPort: 5433, group: 'web' }), rule('out', { cidr: '2001:db8::/32' })]);
  const db2 = group('db', [rule('in', { protocol: 'TCP', fromPort: 5432, toPort: 5433, cidr: '10.0.0.0/8' }), rule('out', { cidr: '2001:db8::/32' })]);
  const a = port('a', 1, { groups: ['web', 'ssh'], v6: ['2001:db8::a', 'fe80::1'] });
  const b = port('b', 2, { groups: ['web'] });
  const c = port('c', 3, { groups: ['ssh', 'db'], v4: ['10.70.0.30', '10.70.0.31'] });
  // A port of a routed network: checked in the inet and arp tables by its device.
  const r = port('r', 4, { routed: true, bridge: '', ifName: 'hv-r', groups: ['web'], v4: ['10.95.0.11'] });
  return [
    { what: 'two ports, two groups', ports: [a, b], groups: [web(80), ssh] },
    { what: 'a rule of web changes', ports: [a, b], groups: [web(8080), ssh] },
    { what: 'a third port, a routed port and a new group', ports: [a, b, c, r], groups: [web(8080), ssh, db] },
    { what: 'b goes, a gets a lease and an address pair CIDR, r a lease', ports: [{ ...a, v4: ['10.70.0.10', '10.70.0.100', '10.70.0.128/28'] }, c, { ...r, v4: ['10.95.0.11', '10.95.0.120'] }], groups: [web(8080), ssh, db] },
    { what: 'ssh goes (and with it the ports\' jumps to it); r moves to db', ports: [{ ...a, groups: ['web'], v4: ['10.70.0.10', '10.70.0.100', '10.70.0.128/28'] }, { ...c, groups: ['db'] }, { ...r, groups: ['db'] }], groups: [web(8080), db] },
    { what: 'b comes back with its old id, c loses its second address, r goes', ports: [{ ...a, groups: ['web'] }, b, { ...c, groups: ['db', 'web'], v4: ['10.70.0.30'] }], groups: [web(443), db] },
    // web goes while db's rule that used its set is rewritten in the same transaction.
    { what: 'only c is left, in no group; web goes and db stops referring to it', ports: [{ ...c, groups: [] }], groups: [db2] },
  ];
}

const TABLES = ['bridge', 'inet', 'arp'] as const;
const load = (m: Ruleset) => TABLES.flatMap((t) => fullCommands(m[t], new Map()));
const remove = () => TABLES.flatMap((t) => removeCommands(t));

describe('firewall transactions in the kernel', () => {
  const ns = useNetns(2, 'all', 'psf');

  it('a full load then updateCommands step by step equals a full load of each step', async () => {
    const incremental = nftRunner(ns[0]!);
    const full = nftRunner(ns[1]!);
    const seq = steps();
    let prev: Ruleset | null = null;
    for (const [i, s] of seq.entries()) {
      const next = buildRuleset(s.ports, s.groups);
      if (prev === null) await incremental.apply(load(next), 'first load');
      else {
        const cmds = TABLES.flatMap((t) => updateCommands(prev![t], next[t]));
        expect(cmds.length, `step ${i}: ${s.what} changes something`).toBeGreaterThan(0);
        await incremental.apply(cmds, `step ${i}: ${s.what}`);
      }
      await full.apply([...remove(), ...load(next)], `full load of step ${i}`);
      const [got, want] = [await canonicalRuleset(ns[0]!), await canonicalRuleset(ns[1]!)];
      expect(got, `step ${i}: ${s.what}`).toEqual(want);
      // And no change is no change.
      const again = buildRuleset(s.ports, s.groups);
      expect(TABLES.flatMap((t) => updateCommands(next[t], again[t]))).toEqual([]);
      prev = next;
    }
  });

  it('a full load over a changed kernel (hand edits, extra chains) replaces it whole and keeps the seeded counters', async () => {
    const nft = nftRunner(ns[0]!);
    const s = steps()[2]!;
    const model = buildRuleset(s.ports, s.groups);
    // Whatever the first test left (port c's chains are there), then edits by hand.
    await nft.apply([...removeCommands('bridge'), ...removeCommands('inet'), ...fullCommands(model.bridge, new Map()), ...fullCommands(model.inet, new Map())], 'start');
    await execa('ip', ['netns', 'exec', ns[0]!, '/usr/sbin/nft', 'add chain inet hostnet intruder; flush chain inet hostnet ingress; delete table bridge hostnet']);
    await nft.apply([...fullCommands(model.bridge, new Map([['policy-in-c', { packets: 42, bytes: 4200 }]])), ...fullCommands(model.inet, new Map([['policy-in-c', { packets: 42, bytes: 4200 }]]))], 'repair');
    const fresh = nftRunner(ns[1]!);
    await fresh.apply([...removeCommands('bridge'), ...removeCommands('inet'), ...fullCommands(model.bridge, new Map()), ...fullCommands(model.inet, new Map())], 'reference');
    expect(await canonicalRuleset(ns[0]!)).toEqual(await canonicalRuleset(ns[1]!));
    const counters = await nft.list(['counter', 'inet', 'hostnet', 'policy-in-c']);
    expect(counters?.find((x) => x['counter'])?.['counter']).toMatchObject({ name: 'policy-in-c', packets: 42, bytes: 4200 });
  });
});
