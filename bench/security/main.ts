// bench/security: port security at scale with the real agent process. N protected ports
// (TAPs, plus two veth probe workloads), 50 security groups of 10 rules with remote-group
// rules; figures: the full apply (with and without port security, and the firewall's share),
// one rule change and one membership change until real traffic shows them enforced, the same
// ruleset loaded by `nft -f` as one file, and TCP throughput through the filter vs without.
// Run as root after `npm run build`.
//   node dist/bench/security/main.js [--ports 1000] [--changes 10] [--rounds 3] [--iperf-seconds 3] [--json]
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { AGENT_JS, killAll } from '../../agent/testing/launch.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import type { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { markdownTable, ms } from '../lib/table.js';
import { AgentSession, nowMs } from './agent.js';
import { createBenchNetns, deleteAllBenchNetns } from '../lib/netns.js';

/** Loopback up (the probes' listeners use it), labelled so a leftover is recognisable. */
const createSecNetns = (): Promise<string> => createBenchNetns({ label: 'sec', loopback: true });
import { agentTransactions, median, nft, nftFigures, type AgentTransactions, type NftFigures } from './nft-load.js';
import {
  desiredState, emptyState, GROUPS, IPERF_PORT, JOIN_GROUP, MEMBER_PORT, PEER_IF, PREFIX_LEN, RULE_PORT, workloads, Y_GROUP,
  type StateShape, type WorkloadKey,
} from './state.js';
import { iperf, Prober } from './traffic.js';
import { runMain } from '../lib/run-main.js';

interface Args {
  ports: number;
  changes: number;
  rounds: number;
  iperfSeconds: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { ports: 1000, changes: 10, rounds: 3, iperfSeconds: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--ports') args.ports = Number(argv[++i]);
    else if (a === '--changes') args.changes = Number(argv[++i]);
    else if (a === '--rounds') args.rounds = Number(argv[++i]);
    else if (a === '--iperf-seconds') args.iperfSeconds = Number(argv[++i]);
    else throw new Error(`bench/security: unknown argument "${a}" (use --ports 1000 --changes 10 --rounds 3 --iperf-seconds 3 --json)`);
  }
  for (const [k, v] of [['ports', args.ports], ['changes', args.changes], ['rounds', args.rounds], ['iperf-seconds', args.iperfSeconds]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`bench/security: --${k} takes a positive integer`);
  }
  if (args.ports < 3 || args.ports > 4095) throw new Error('bench/security: --ports between 3 and 4095 (the agent protects at most 4095)');
  return args;
}

const pause = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

/** p50 and max of a list of ms, and every value. */
interface Spread {
  p50: number;
  max: number;
  values: number[];
}

function spread(values: number[]): Spread {
  return { p50: median(values), max: Math.max(...values), values: values.map((v) => Math.round(v * 10) / 10) };
}

async function until<T>(what: string, check: () => Promise<T | null> | T | null, timeoutMs: number, everyMs = 1): Promise<T> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== null) return v;
    if (nowMs() > deadline) throw new Error(`bench/security: timed out waiting for ${what}`);
    await pause(everyMs);
  }
}

interface ChangeFigures {
  /** Apply sent -> first datagram through (rule or membership added). */
  enforcedOn: Spread;
  /** Apply sent -> last datagram through (rule or membership removed). */
  enforcedOff: Spread;
  /** The Apply RPC of those changes (it returns after the agent's pass). */
  applyRpc: Spread;
  /** The agent's own pass duration (its debug log). */
  pass: Spread;
}

interface Figures {
  ports: number;
  taps: number;
  groups: number;
  rulesPerGroup: number;
  securityAppliedTrue: number;
  /** Apply of every device from an empty node (after a teardown), without and with port security; medians. */
  scratch: { rounds: number; plainRpcMs: number; plainPassMs: number; secureRpcMs: number; securePassMs: number };
  /** The agent's pass for an Apply of the unchanged state (median of 5), without and with port security. */
  noopPass: { plainMs: number; secureMs: number };
  /** Port security turned on for the existing devices: the firewall alone, one transaction; medians. */
  enable: { rounds: number; rpcMs: number; passMs: number };
  /** SIGHUP refresh passes (full dump; with port security also the whole ruleset replaced). */
  sighup: { plainMs: number; secureMs: number };
  plan: { fullMs: number; ruleChangeMs: number; memberChangeMs: number };
  transactions: { fullCommands: number; fullBytes: number; ruleChangeCommands: number; memberChangeCommands: number };
  nft: NftFigures;
  ruleChange: ChangeFigures;
  memberChange: ChangeFigures;
  /**
   * iperf3 Gbit/s, medians of `rounds` runs per pair, the pairs alternating: with port security
   * on, X -> Y (both protected) and U -> V (unprotected, same bridge); before it was on, both
   * pairs on a node without any port security (no tables, br_netfilter off).
   */
  throughput: { rounds: number; protectedGbps: number; unprotectedGbps: number; ratio: number; nodeWithoutGbps: number; ratioToNodeWithout: number };
}

async function run(args: Args): Promise<Figures> {
  if (!existsSync(AGENT_JS)) throw new Error(`${AGENT_JS} missing: run npm run build first`);
  const log = (m: string): void => {
    if (!args.json) process.stderr.write(`bench/security: ${m}\n`);
  };
  const agentNs = await createSecNetns();
  const scratchNs = await createSecNetns();
  const netns = {} as Record<WorkloadKey, string>;
  for (const k of Object.keys(workloads) as WorkloadKey[]) netns[k] = await createSecNetns();
  const shape: StateShape = { ports: args.ports, netns };
  let generation = 0;
  const at = (s: DesiredState): DesiredState => ({ ...s, generation: ++generation });
  const plain = desiredState(shape, { secure: false }, 0);
  const secure = desiredState(shape, { secure: true }, 0);
  const withRule = desiredState(shape, { secure: true, extraRule: true }, 0);
  const joined = desiredState(shape, { secure: true, xJoined: true }, 0);

  log('the agent\'s transactions, recorded in-process');
  const tx: AgentTransactions = await agentTransactions(secure, withRule, joined, Math.max(args.rounds, 5));

  log(`agent in ${agentNs}`);
  const agent = await AgentSession.start(agentNs);
  let prober: Prober | null = null;
  try {
    const passOf = async (from: number, trigger: string, gen: number): Promise<number> => {
      const p = await until(`the agent's ${trigger} pass of generation ${gen}`, () => agent.pass(from, trigger, gen), 10_000, 5);
      return Number(p.durationMs);
    };
    const applyTimed = async (s: DesiredState): Promise<{ rpcMs: number; passMs: number }> => {
      const state = at(s);
      const from = agent.mark();
      const rpcMs = await agent.apply(state);
      return { rpcMs, passMs: await passOf(from, 'apply', state.generation) };
    };
    const tablesGone = async (): Promise<boolean> => !(await nft(agentNs, ['list', 'tables'], 'list tables')).includes('hostnet');
    const teardown = async (): Promise<void> => {
      await agent.apply(at(emptyState(0)));
      // The firewall lets a port's rules go in the pass after its device is gone.
      await until('the port security tables gone', async () => ((await tablesGone()) ? true : null), 30_000, 50);
      await pause(Number(process.env.BENCH_SETTLE_MS ?? 2000)); // the kernel frees the devices in the background
    };

    const noopPass = async (s: DesiredState): Promise<number> => {
      const passes: number[] = [];
      for (let r = 0; r < 5; r++) passes.push((await applyTimed(s)).passMs);
      return median(passes);
    };

    // 1. Every device without port security; the unfiltered throughput.
    log(`apply ${args.ports - 2} TAPs + 4 veth workloads, no port security`);
    await applyTimed(plain);
    for (const k of Object.keys(workloads) as WorkloadKey[]) {
      await execa('ip', ['-n', netns[k], 'addr', 'add', `${workloads[k].ip}/${PREFIX_LEN}`, 'dev', PEER_IF]);
    }
    const sighupPlain: number[] = [];
    for (let r = 0; r < args.rounds; r++) sighupPlain.push((await agent.sighupPass()).ms);
    const noopPlain = await noopPass(plain);
    log('iperf3 without port security');
    const tp = (from: WorkloadKey, to: WorkloadKey): Promise<number> =>
      iperf({ clientNetns: netns[from], serverNetns: netns[to], serverIp: workloads[to].ip, port: IPERF_PORT, seconds: args.iperfSeconds });
    const nodeWithout: number[] = [];
    for (let r = 0; r < args.rounds; r++) nodeWithout.push(await tp('x', 'y'), await tp('u', 'v'));

    // 2. Port security on for the existing devices: one full transaction.
    log('port security on');
    const from = agent.mark();
    // Off again (the tables go) and on, `rounds` times.
    const enableRpc: number[] = [];
    const enablePass: number[] = [];
    for (let r = 0; r < args.rounds; r++) {
      if (r > 0) await applyTimed(plain);
      const e = await applyTimed(secure);
      enableRpc.push(e.rpcMs);
      enablePass.push(e.passMs);
    }
    const enable = { rounds: args.rounds, rpcMs: median(enableRpc), passMs: median(enablePass) };
    const problems = agent.problems(from);
    if (problems.length > 0) throw new Error(`the agent logged problems applying port security:\n${problems.join('\n')}`);
    const st = await agent.status();
    const securityAppliedTrue = st.attachments.filter((a) => a.conditions.some((c) => c.type === 'SecurityApplied' && c.status === ConditionStatus.CONDITION_STATUS_TRUE)).length;
    if (securityAppliedTrue !== args.ports) throw new Error(`SecurityApplied True on ${securityAppliedTrue} of ${args.ports} protected ports`);
    const sighupSecure: number[] = [];
    for (let r = 0; r < args.rounds; r++) sighupSecure.push((await agent.sighupPass()).ms);
    const noopSecure = await noopPass(secure);

    // 3. The same ruleset by nft itself, and the agent's transactions replayed, in a fresh namespace.
    log('nft -f of the same ruleset');
    const nftFig = await nftFigures({
      agentNetns: agentNs, scratchNetns: scratchNs, tx, rounds: args.rounds,
      handRuleChange: `add rule inet hostnet sg-${Y_GROUP}-in ip saddr ${workloads.x.ip} meta l4proto udp th dport ${RULE_PORT} accept`,
      handMemberChange: `add element inet hostnet sg-${JOIN_GROUP}-v4 { ${workloads.x.ip} }`,
    });

    // 4. Throughput through the filter (X and Y protected) and past it (U and V, same bridge).
    log('iperf3 with port security');
    const prot: number[] = [];
    const unprot: number[] = [];
    for (let r = 0; r < args.rounds; r++) {
      prot.push(await tp('x', 'y'));
      unprot.push(await tp('u', 'v'));
    }
    const protectedGbps = median(prot);
    const unprotectedGbps = median(unprot);
    const nodeWithoutGbps = median(nodeWithout);

    // 5. One rule change and one membership change, until traffic shows them.
    log(`rule and membership changes, ${args.changes} each way`);
    prober = await Prober.start({ senderNetns: netns.x, receiverNetns: netns.y, dst: workloads.y.ip, ports: [RULE_PORT, MEMBER_PORT] });
    const p = prober;
    const change = async (port: number, on: DesiredState, off: DesiredState): Promise<ChangeFigures> => {
      const onMs: number[] = [];
      const offMs: number[] = [];
      const rpc: number[] = [];
      const passes: number[] = [];
      for (let i = 0; i < args.changes; i++) {
        // Closed before: nothing arrived for 100 ms.
        await pause(100);
        if (p.since(port, nowMs() - 100).length > 0) throw new Error(`UDP ${port} to Y passes before the change is applied`);
        let state = at(on);
        let mark = agent.mark();
        let t0 = nowMs();
        rpc.push(await agent.apply(state));
        const first = await until(`the first datagram to UDP ${port} after the change`, () => p.since(port, t0)[0] ?? null, 10_000);
        onMs.push(first.recvMs - t0);
        passes.push(await passOf(mark, 'apply', state.generation));
        await pause(100);
        state = at(off);
        mark = agent.mark();
        t0 = nowMs();
        rpc.push(await agent.apply(state));
        passes.push(await passOf(mark, 'apply', state.generation));
        // Enforced: nothing arrives for 150 ms; the last datagram through marks the moment.
        await pause(150);
        await until(`UDP ${port} to Y to stop after the change is undone`, () => (p.since(port, nowMs() - 150).length === 0 ? true : null), 10_000, 10);
        const through = p.since(port, t0);
        offMs.push(through.length > 0 ? through[through.length - 1]!.recvMs - t0 : 0);
      }
      return { enforcedOn: spread(onMs), enforcedOff: spread(offMs), applyRpc: spread(rpc), pass: spread(passes) };
    };
    // Both probes run all the time: each change must open its own port only.
    const ruleChange = await change(RULE_PORT, withRule, secure);
    const memberChange = await change(MEMBER_PORT, joined, secure);
    await prober.stop();
    prober = null;

    // 6. Every device from an empty node, without and with port security, alternately; each
    // after a teardown and the same pause, so both find the kernel in the same state.
    const scratch = { plainRpc: [] as number[], plainPass: [] as number[], secureRpc: [] as number[], securePass: [] as number[] };
    for (let r = 0; r < args.rounds; r++) {
      log(`every device from an empty node, without and with port security (round ${r + 1} of ${args.rounds})`);
      await teardown();
      const pl = await applyTimed(plain);
      scratch.plainRpc.push(pl.rpcMs);
      scratch.plainPass.push(pl.passMs);
      await teardown();
      const se = await applyTimed(secure);
      scratch.secureRpc.push(se.rpcMs);
      scratch.securePass.push(se.passMs);
    }

    return {
      ports: args.ports, taps: args.ports - 2, groups: GROUPS, rulesPerGroup: 10, securityAppliedTrue,
      scratch: {
        rounds: args.rounds, plainRpcMs: median(scratch.plainRpc), plainPassMs: median(scratch.plainPass),
        secureRpcMs: median(scratch.secureRpc), securePassMs: median(scratch.securePass),
      },
      noopPass: { plainMs: noopPlain, secureMs: noopSecure },
      enable,
      sighup: { plainMs: median(sighupPlain), secureMs: median(sighupSecure) },
      plan: { fullMs: tx.planFullMs, ruleChangeMs: tx.planRuleChangeMs, memberChangeMs: tx.planMemberChangeMs },
      transactions: { fullCommands: tx.full.length, fullBytes: nftFig.agentFullBytes, ruleChangeCommands: tx.ruleChange.length, memberChangeCommands: tx.memberChange.length },
      nft: nftFig,
      ruleChange, memberChange,
      throughput: {
        rounds: args.rounds, protectedGbps, unprotectedGbps, ratio: protectedGbps / unprotectedGbps, nodeWithoutGbps, ratioToNodeWithout: protectedGbps / nodeWithoutGbps,
      },
    };
  } finally {
    await prober?.stop();
    await agent.close();
  }
}

function row(metric: string, figure: string, goal: string, met: boolean | null): string[] {
  return [metric, figure, goal, met === null ? '-' : met ? 'met' : 'MISSED'];
}

const p50max = (s: Spread): string => `${ms(s.p50)} / ${ms(s.max)}`;

function print(f: Figures, header: string): void {
  console.log(header);
  console.log(`N = ${f.ports} protected ports (${f.taps} TAPs + 2 veth probe workloads; 2 more veth workloads unprotected) on one bridge,`);
  console.log(`${f.groups} security groups x ${f.rulesPerGroup} rules (3 by remote group), 1-3 groups per port; the real agent process`);
  console.log(`(--log-level debug) over gRPC. Changes probed by UDP datagrams every 1 ms; p50 / max of ${f.ruleChange.enforcedOn.values.length}.\n`);
  const goalFull = 1000;
  const goalChange = 100;
  console.log(markdownTable(['metric', 'figure', 'goal', 'met?'], [
    row(`full apply from an empty node, with port security (Apply RPC, median of ${f.scratch.rounds})`, ms(f.scratch.secureRpcMs), `< ${goalFull} ms`, f.scratch.secureRpcMs < goalFull),
    row('  of which the pass (agent log)', ms(f.scratch.securePassMs), '-', null),
    row('  same devices without port security: Apply RPC / pass', `${ms(f.scratch.plainRpcMs)} / ${ms(f.scratch.plainPassMs)}`, '-', null),
    row(`port security on for existing devices (Apply RPC, median of ${f.enable.rounds})`, ms(f.enable.rpcMs), `< ${goalFull} ms`, f.enable.rpcMs < goalFull),
    row('  of which the pass (agent log)', ms(f.enable.passMs), '-', null),
    row('  of which the firewall plan (buildRuleset, in-process)', ms(f.plan.fullMs), '-', null),
    row('SIGHUP refresh pass, ruleset replaced whole (median)', ms(f.sighup.secureMs), '-', null),
    row('  the same pass without port security (median)', ms(f.sighup.plainMs), '-', null),
    row('  nft -j list counters of both tables (carried over by a full reload)', ms(f.nft.counterListMs), '-', null),
    row('no-op pass (Apply of the unchanged state, median of 5), with / without port security', `${ms(f.noopPass.secureMs)} / ${ms(f.noopPass.plainMs)}`, '-', null),
    row(`nft -f of the same ruleset as one text file (${f.nft.dumpLines} lines)`, ms(f.nft.textLoadMs), '-', null),
    row('nft -j -f of the same ruleset as nft\'s JSON dump', ms(f.nft.jsonDumpLoadMs), '-', null),
    row(`nft -j -f of the agent's full transaction (${f.transactions.fullCommands} commands, ${(f.transactions.fullBytes / 1e6).toFixed(1)} MB)`, ms(f.nft.agentFullLoadMs), '-', null),
    row('  the same over its own tables (what a refresh sends)', ms(f.nft.agentReplaceMs), '-', null),
    row('port security on vs nft -f text', `${(f.enable.rpcMs / f.nft.textLoadMs).toFixed(2)}x`, '-', null),
    row('one rule change: Apply sent -> enforced (first datagram through)', p50max(f.ruleChange.enforcedOn), `< ${goalChange} ms`, f.ruleChange.enforcedOn.max < goalChange),
    row('  rule removed: Apply sent -> last datagram through', p50max(f.ruleChange.enforcedOff), `< ${goalChange} ms`, f.ruleChange.enforcedOff.max < goalChange),
    row('  Apply RPC / agent pass (p50)', `${ms(f.ruleChange.applyRpc.p50)} / ${ms(f.ruleChange.pass.p50)}`, '-', null),
    row(`  firewall plan (in-process) / nft -j -f of its ${f.transactions.ruleChangeCommands} commands`, `${ms(f.plan.ruleChangeMs)} / ${ms(f.nft.agentRuleChangeMs)}`, '-', null),
    row('  nft -f of the one added rule by hand', ms(f.nft.handRuleChangeMs), '-', null),
    row('one membership change: Apply sent -> enforced (first datagram through)', p50max(f.memberChange.enforcedOn), `< ${goalChange} ms`, f.memberChange.enforcedOn.max < goalChange),
    row('  membership removed: Apply sent -> last datagram through', p50max(f.memberChange.enforcedOff), `< ${goalChange} ms`, f.memberChange.enforcedOff.max < goalChange),
    row('  Apply RPC / agent pass (p50)', `${ms(f.memberChange.applyRpc.p50)} / ${ms(f.memberChange.pass.p50)}`, '-', null),
    row(`  firewall plan (in-process) / nft -j -f of its ${f.transactions.memberChangeCommands} commands`, `${ms(f.plan.memberChangeMs)} / ${ms(f.nft.agentMemberChangeMs)}`, '-', null),
    row('  nft -f of the one added set element by hand', ms(f.nft.handMemberChangeMs), '-', null),
    row(`TCP throughput (iperf3, median of ${f.throughput.rounds}): both ends protected`, `${f.throughput.protectedGbps.toFixed(2)} Gbit/s`, '-', null),
    row('  unprotected pair on the same bridge, same phase', `${f.throughput.unprotectedGbps.toFixed(2)} Gbit/s`, '-', null),
    row('  ratio through the filter / past it', f.throughput.ratio.toFixed(2), '-', null),
    row('  both pairs before port security was on (no tables, no br_netfilter)', `${f.throughput.nodeWithoutGbps.toFixed(2)} Gbit/s`, '-', null),
    row('  ratio through the filter / node without port security', f.throughput.ratioToNodeWithout.toFixed(2), '-', null),
  ]));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  const f = await run(args);
  if (args.json) {
    console.log(JSON.stringify({ machine, figures: f }, null, 2));
    return;
  }
  print(f, `bench/security: ${describeMachine(machine)}`);
}

runMain(main, async () => {
  await killAll();
  await deleteAllBenchNetns();
});
