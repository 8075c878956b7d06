// The reference figures for bench/security: the same ruleset loaded by nft itself, as one file,
// in a fresh namespace, and the agent's own transactions replayed there. The agent's commands
// come from its own FirewallParticipant, run in this process against a recording nft runner,
// so they are byte for byte what the agent sends; its plan() is timed here as well (the CPU
// work a pass does for the firewall before nft runs).
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { FirewallParticipant, type FirewallStep } from '../../agent/firewall/participant.js';
import { assignAddresses } from '../../agent/ipam/assignments.js';
import type { PassContext, ParticipantPlan } from '../../agent/reconcile/participant.js';
import type { NftCommand } from '../../dataplane/nftables/json.js';
import type { NftRunner } from '../../dataplane/nftables/run.js';
import { netnsPath } from '../../dataplane/netns-path.js';

const NFT = '/usr/sbin/nft';
const env = { LC_ALL: 'C', LANG: 'C' };

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** nft in `netns`, entered the way the agent enters it (nsenter --net). */
function nftArgs(netns: string, args: string[]): [string, string[]] {
  return ['nsenter', [`--net=${netnsPath(netns)}`, '--', NFT, ...args]];
}

export async function nft(netns: string, args: string[], what: string): Promise<string> {
  const [file, a] = nftArgs(netns, args);
  const r = await execa(file, a, { env, reject: false });
  if (r.exitCode !== 0) throw new Error(`nft ${what} in ${netns}: ${r.stderr.split('\n')[0] ?? r.message}`);
  return r.stdout;
}

/** Runs `nft [-j] -f file` in `netns`; ms, the process's whole life (what the agent pays too). */
async function timedLoad(netns: string, file: string, json: boolean, what: string): Promise<number> {
  const t0 = performance.now();
  await nft(netns, [...(json ? ['-j'] : []), '-f', file], what);
  return performance.now() - t0;
}

export interface AgentTransactions {
  /** The first transaction of a process: both tables replaced whole. */
  full: NftCommand[];
  /** From the full state to the state with one rule more in one group. */
  ruleChange: NftCommand[];
  /** From the full state to the state where one port is in one group more. */
  memberChange: NftCommand[];
  /** plan() of the firewall participant, median of `rounds`, ms. */
  planFullMs: number;
  planRuleChangeMs: number;
  planMemberChangeMs: number;
}

/** What the agent's firewall participant sends for these states (a recording nft runner). */
export async function agentTransactions(full: DesiredState, rule: DesiredState, member: DesiredState, rounds: number): Promise<AgentTransactions> {
  const sent: NftCommand[][] = [];
  const recorder: NftRunner = {
    apply: async (commands) => {
      sent.push([...commands]);
    },
    list: async () => null, // no tables yet: no counters to carry over
  };
  const fw = new FirewallParticipant(recorder, {
    addressBook: () => ({ addressesOf: () => [], serverAddress: () => undefined, nextExpiry: () => undefined }),
    assignedAddresses: (desired) => {
      const assigned = assignAddresses(desired, {}, () => []);
      return (name) => assigned.addressesOf(name);
    },
    enableBridgeNetfilter: async () => undefined,
  });
  // `held`: nothing held back by an earlier participant (the firewall runs first anyway).
  const ctx = (desired: DesiredState): PassContext => ({
    desired, observed: { links: [], addresses: [], routes: [], neighbours: [] }, holdTeardown: false, refresh: false, held: new Map(),
  }) as PassContext;
  const timePlan = async (desired: DesiredState): Promise<{ ms: number; plan: ParticipantPlan<FirewallStep> }> => {
    const times: number[] = [];
    let plan: ParticipantPlan<FirewallStep> | null = null;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      plan = await fw.plan(ctx(desired));
      times.push(performance.now() - t0);
    }
    return { ms: median(times), plan: plan! };
  };
  // plan() keeps nothing until apply(): the first plan is the full load, however often it runs.
  const first = await timePlan(full);
  await fw.apply(first.plan, ctx(full));
  const ruleChange = await timePlan(rule);
  const memberChange = await timePlan(member);
  const commandsOf = (p: ParticipantPlan<FirewallStep>, what: string): NftCommand[] => {
    const step = p.steps[0];
    if (!step || step.mode !== 'update') throw new Error(`bench/security: the firewall planned ${step ? `a ${step.mode}` : 'nothing'} for the ${what}`);
    return step.commands;
  };
  return {
    full: sent[0] ?? [],
    ruleChange: commandsOf(ruleChange.plan, 'rule change'),
    memberChange: commandsOf(memberChange.plan, 'membership change'),
    planFullMs: first.ms, planRuleChangeMs: ruleChange.ms, planMemberChangeMs: memberChange.ms,
  };
}

/**
 * nft's JSON dump with each table's chains moved before its sets and maps: nft 1.0.6 lists a
 * verdict map (whose elements jump to chains) before the chains and so cannot load its own
 * JSON dump ("Could not process rule: No such file or directory"); the text dump loads as is.
 */
function loadableJsonDump(json: string): string {
  const items = (JSON.parse(json) as { nftables: Array<Record<string, unknown>> }).nftables;
  const rank: Record<string, number> = { metainfo: 0, table: 1, counter: 2, chain: 3, set: 4, map: 4, rule: 5 };
  let table = 0;
  const keyed = items.map((item, i) => {
    const kind = Object.keys(item)[0] ?? '';
    if (kind === 'table') table++;
    return { item, table, rank: rank[kind] ?? 6, i };
  });
  keyed.sort((a, b) => a.table - b.table || a.rank - b.rank || a.i - b.i);
  return JSON.stringify({ nftables: keyed.map((k) => k.item) });
}

export interface NftFigures {
  /** `nft list ruleset` of the agent's namespace: lines, and rules + elements for scale. */
  dumpLines: number;
  /** Load into an empty namespace, median of the rounds, ms. */
  textLoadMs: number;
  /** nft's JSON dump, reordered so it loads (see loadableJsonDump). */
  jsonDumpLoadMs: number;
  agentFullLoadMs: number;
  /** The agent's full transaction again, over its own tables (what a SIGHUP refresh sends). */
  agentReplaceMs: number;
  /** One change on top of the loaded ruleset, median of the rounds, ms. */
  agentRuleChangeMs: number;
  agentMemberChangeMs: number;
  /** The same changes as nft commands an admin would write, `nft -f` of a one-line file. */
  handRuleChangeMs: number;
  handMemberChangeMs: number;
  /** `nft -j list counters table ...` of both tables in the agent's namespace, as a full reload reads them; ms. */
  counterListMs: number;
  /** Bytes of the agent's full transaction (JSON). */
  agentFullBytes: number;
}

/**
 * Times the reference loads in `scratchNetns` (nothing else in it): the agent namespace's
 * ruleset as nft's own text and JSON dumps, and the agent's transactions.
 */
export async function nftFigures(opts: {
  agentNetns: string; scratchNetns: string; tx: AgentTransactions; rounds: number;
  handRuleChange: string; handMemberChange: string;
}): Promise<NftFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-bench-security-nft-'));
  const ns = opts.scratchNetns;
  try {
    const text = await nft(opts.agentNetns, ['list', 'ruleset'], 'list ruleset');
    const json = await nft(opts.agentNetns, ['-j', 'list', 'ruleset'], 'list ruleset (JSON)');
    const files = {
      text: path.join(dir, 'ruleset.nft'),
      json: path.join(dir, 'ruleset.json'),
      full: path.join(dir, 'agent-full.json'),
      rule: path.join(dir, 'agent-rule.json'),
      member: path.join(dir, 'agent-member.json'),
      handRule: path.join(dir, 'hand-rule.nft'),
      handMember: path.join(dir, 'hand-member.nft'),
    };
    const fullJson = JSON.stringify({ nftables: opts.tx.full });
    await writeFile(files.text, text);
    await writeFile(files.json, loadableJsonDump(json));
    await writeFile(files.full, fullJson);
    await writeFile(files.rule, JSON.stringify({ nftables: opts.tx.ruleChange }));
    await writeFile(files.member, JSON.stringify({ nftables: opts.tx.memberChange }));
    await writeFile(files.handRule, `${opts.handRuleChange}\n`);
    await writeFile(files.handMember, `${opts.handMemberChange}\n`);
    const flush = (): Promise<string> => nft(ns, ['flush', 'ruleset'], 'flush ruleset');

    const counters: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      const t0 = performance.now();
      for (const family of ['bridge', 'inet']) await nft(opts.agentNetns, ['-j', 'list', 'counters', 'table', family, 'hostnet'], `list counters (${family})`);
      counters.push(performance.now() - t0);
    }
    const t = { text: [] as number[], json: [] as number[], full: [] as number[], replace: [] as number[], rule: [] as number[], member: [] as number[], handRule: [] as number[], handMember: [] as number[] };
    for (let r = 0; r < opts.rounds; r++) {
      await flush();
      t.text.push(await timedLoad(ns, files.text, false, 'load of the text dump'));
      // A one-rule change by hand, on top of nft's own load of the same ruleset.
      t.handRule.push(await timedLoad(ns, files.handRule, false, 'hand-written rule change'));
      t.handMember.push(await timedLoad(ns, files.handMember, false, 'hand-written membership change'));
      await flush();
      t.json.push(await timedLoad(ns, files.json, true, 'load of the JSON dump'));
      await flush();
      t.full.push(await timedLoad(ns, files.full, true, "load of the agent's transaction"));
      t.replace.push(await timedLoad(ns, files.full, true, "the agent's transaction over its own tables"));
      t.rule.push(await timedLoad(ns, files.rule, true, "the agent's rule change"));
      t.member.push(await timedLoad(ns, files.member, true, "the agent's membership change"));
    }
    await flush();
    return {
      dumpLines: text.split('\n').length,
      textLoadMs: median(t.text), jsonDumpLoadMs: median(t.json), agentFullLoadMs: median(t.full), agentReplaceMs: median(t.replace),
      agentRuleChangeMs: median(t.rule), agentMemberChangeMs: median(t.member),
      handRuleChangeMs: median(t.handRule), handMemberChangeMs: median(t.handMember),
      counterListMs: median(counters),
      agentFullBytes: Buffer.byteLength(fullJson),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
