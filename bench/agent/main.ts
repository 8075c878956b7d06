// bench/agent: the real hostnet-agent process with N veth attachments in M networks, in one
// run: Apply to all Ready, a no-op resync, drift repair after a bridge deletion, restart to
// converged, agent RSS; and the same devices built with `ip -batch` for comparison. Run as root
// after `npm run build`.
//   node dist/bench/agent/main.js [--attachments 1000] [--networks 10] [--json]
import * as grpc from '@grpc/grpc-js';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NodeAgentClient, type GetStatusResponse } from '../../agent/api/gen/hostnet/v1/agent.js';
import { openNetlinkDataplane } from '../../dataplane/netlink/backend.js';
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { createBenchNetns, deleteAllBenchNetns, deleteBenchNetns } from '../lib/netns.js';
import { markdownTable, ms } from '../lib/table.js';
import { AGENT_JS, spawnAgent, stopAgent, killAll, waitForLog, type Agent } from '../../agent/testing/launch.js';
import { runMain } from '../lib/run-main.js';


interface Args {
  attachments: number;
  networks: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { attachments: 1000, networks: 10, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--attachments') args.attachments = Number(argv[++i]);
    else if (a === '--networks') args.networks = Number(argv[++i]);
    else throw new Error(`bench/agent: unknown argument "${a}" (use --attachments 1000 --networks 10 --json)`);
  }
  for (const [k, v] of [['attachments', args.attachments], ['networks', args.networks]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`bench/agent: --${k} takes a positive integer`);
  }
  if (args.networks > 200) throw new Error('bench/agent: at most 200 networks');
  return args;
}

const pause = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Kernel writes the agent reports in its per-pass debug lines ("pass": actions applied). */
function writesIn(lines: readonly Record<string, unknown>[]): number {
  return lines.filter((l) => l.msg === 'pass').reduce((n, l) => n + Number(l.applied ?? 0), 0);
}

/** The agent's pino lines (JSON) logged after `from` (a character offset into its output). */
function logLines(agent: Agent, from: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of agent.logs().slice(from).split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a partial line
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// gRPC

type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, options: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;

function rpc<Req, Res>(client: NodeAgentClient, method: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, req, new grpc.Metadata(), { deadline: Date.now() + 120_000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

const isReady = (conds: { type: string; status: ConditionStatus }[]): boolean =>
  conds.find((c) => c.type === 'Ready')?.status === ConditionStatus.CONDITION_STATUS_TRUE;

function allReady(s: GetStatusResponse, networks: number, attachments: number): boolean {
  return s.networks.length === networks && s.attachments.length === attachments
    && s.networks.every((n) => isReady(n.conditions)) && s.attachments.every((a) => isReady(a.conditions));
}

async function pollUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Desired state and the ip -batch equivalent

const netName = (n: number): string => `bn${n}`;
const hostIf = (n: number, i: number): string => `hv${n}-${i}`;
const peerIf = (n: number, i: number): string => `p${n}-${i}`;

function perNetwork(args: Args): number[] {
  const base = Math.floor(args.attachments / args.networks);
  return Array.from({ length: args.networks }, (_, n) => base + (n < args.attachments % args.networks ? 1 : 0));
}

function desired(args: Args, workNs: string, generation: number): DesiredState {
  const counts = perNetwork(args);
  return DesiredState.fromJSON({
    generation,
    networks: counts.map((_, n) => ({
      name: netName(n), mtu: 1500, ipFamily: 'IPV4', cidr: `10.${100 + n}.0.0/16`, gateway: `10.${100 + n}.0.1`, gatewayOnBridge: true,
    })),
    attachments: counts.flatMap((count, n) => Array.from({ length: count }, (_, i) => ({
      name: `a${n}-${i}`, network: netName(n), veth: { ifName: hostIf(n, i), peerNetns: workNs, peerIfName: peerIf(n, i) },
    }))),
  });
}

/** The same devices with one `ip -batch` file per namespace; ms. */
async function ipBatch(args: Args): Promise<number> {
  const hostNs = await createBenchNetns();
  const workNs = await createBenchNetns();
  try {
    const counts = perNetwork(args);
    const host: string[] = [];
    const work: string[] = [];
    counts.forEach((count, n) => {
      const br = `hn-${netName(n)}`;
      host.push(`link add ${br} mtu 1500 type bridge`, `link set ${br} alias hostnet:bridge:${netName(n)} up`, `addr add 10.${100 + n}.0.1/16 dev ${br}`);
      for (let i = 0; i < count; i++) {
        host.push(`link add ${hostIf(n, i)} mtu 1500 type veth peer name ${peerIf(n, i)} netns ${workNs}`);
        host.push(`link set ${hostIf(n, i)} master ${br} alias hostnet:veth:a${n}-${i} up`);
        work.push(`link set ${peerIf(n, i)} up`);
      }
    });
    const t0 = performance.now();
    await execa('ip', ['-n', hostNs, '-batch', '-'], { input: host.join('\n') + '\n' });
    await execa('ip', ['-n', workNs, '-batch', '-'], { input: work.join('\n') + '\n' });
    const took = performance.now() - t0;
    const links = JSON.parse((await execa('ip', ['-n', hostNs, '-j', 'link', 'show'])).stdout) as unknown[];
    if (links.length !== args.attachments + args.networks + 1) throw new Error(`ip -batch built ${links.length} links, expected ${args.attachments + args.networks + 1}`);
    return took;
  } finally {
    await deleteBenchNetns(hostNs);
    await deleteBenchNetns(workNs);
  }
}

interface IpLink { ifname: string; ifindex: number }

async function links(netns: string): Promise<Map<string, number>> {
  const list = JSON.parse((await execa('ip', ['-n', netns, '-j', 'link', 'show'])).stdout) as IpLink[];
  return new Map(list.map((l) => [l.ifname, l.ifindex]));
}

async function vmRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]);
  return kb / 1024;
}

/** Netlink notifications in the namespaces while `during` runs (a write shows as an event). */
async function monitorEvents(namespaces: string[], during: () => Promise<void>): Promise<number> {
  const mons = namespaces.map((ns) => execa('ip', ['-n', ns, 'monitor', 'link', 'address'], { reject: false, buffer: true }));
  await pause(200); // let ip subscribe
  try {
    await during();
    await pause(200);
  } finally {
    for (const m of mons) m.kill('SIGTERM');
  }
  let events = 0;
  for (const m of mons) {
    const r = await m;
    events += String(r.stdout ?? '').split('\n').filter((l) => l.trim() !== '').length;
  }
  return events;
}

// ---------------------------------------------------------------------------------------------

interface Figures {
  attachments: number;
  networks: number;
  applyMs: number;
  applyRpcMs: number;
  applyPassMs: number | null;
  passesUntilReady: string[];
  ipBatchMs: number;
  applyVsIpBatch: number;
  noopResync: {
    sighupWrites: number; sighupKernelEvents: number; applyUnchangedMs: number; applyUnchangedWrites: number; applyUnchangedPassLogged: boolean;
    unchangedKernelEvents: number; noopPassMs: number | null; noopPassDumps: number;
  };
  driftRepair: { ms: number | null; byKernelEvents: boolean; sighupRepairMs: number | null; passMs: number | null; writes: number; monitorOverflows: number };
  restart: { toConvergedMs: number; firstPassMs: number | null; firstPassActions: number | null; linksRecreated: number; peersRecreated: number };
  agentRssMiB: number;
}

async function run(args: Args): Promise<Figures> {
  if (!existsSync(AGENT_JS)) throw new Error(`${AGENT_JS} missing: run npm run build first`);
  const log = (m: string): void => {
    if (!args.json) process.stderr.write(`bench/agent: ${m}\n`);
  };
  const N = args.attachments;
  const M = args.networks;

  log(`ip -batch: ${N} veth attachments in ${M} bridges`);
  const ipBatchMs = await ipBatch(args);
  await pause(Number(process.env.BENCH_SETTLE_MS ?? 2000)); // let the kernel free those devices before the agent is timed

  const hostNs = await createBenchNetns();
  const workNs = await createBenchNetns();
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-bench-agent-'));
  const socket = path.join(dir, 'agent.sock');
  const stateDir = path.join(dir, 'state');
  let agent: Agent | null = null;
  let client: NodeAgentClient | null = null;
  try {
    agent = spawnAgent(hostNs, socket, stateDir);
    await waitForLog(agent, '"converged after start"', 0, 30_000);
    client = new NodeAgentClient(`unix://${socket}`, grpc.credentials.createInsecure());
    const c = client;
    const status = (): Promise<GetStatusResponse> => rpc(c, c.getStatus, {});
    await status(); // connect before timing

    // Apply
    log('apply');
    const state = desired(args, workNs, 1);
    let from = agent.logs().length;
    let t0 = performance.now();
    await rpc(c, c.apply, { state, dryRun: false });
    const applyRpcMs = performance.now() - t0;
    await pollUntil('everything Ready after Apply', async () => allReady(await status(), M, N), 120_000);
    const applyMs = performance.now() - t0;
    const agentRssMiB = await vmRssMiB(agent.pid);
    const applyPass = logLines(agent, from).find((l) => l.msg === 'reconciled' && l.trigger === 'apply');
    const applyPassMs = typeof applyPass?.durationMs === 'number' ? applyPass.durationMs : null;
    const readyPasses = logLines(agent, from).filter((l) => l.msg === 'reconciled').map((l) => `${String(l.trigger)}:${String(l.durationMs)}ms`);
    await pause(500);

    // No-op resync: SIGHUP (a full pass; the agent logs nothing for a pass with no actions and
    // no transitions, so writes are counted as `applied` debug lines and as kernel events), then
    // an Apply of the unchanged state: its RPC waits for one pass, which is timed from outside.
    log('no-op resync');
    const a = agent;
    from = a.logs().length;
    const sighupKernelEvents = await monitorEvents([hostNs, workNs], async () => {
      process.kill(a.pid, 'SIGHUP');
      await pause(1500);
    });
    const sighupWrites = writesIn(logLines(a, from));
    from = a.logs().length;
    const unchanged: number[] = [];
    const unchangedKernelEvents = await monitorEvents([hostNs, workNs], async () => {
      for (let r = 0; r < 5; r++) {
        t0 = performance.now();
        await rpc(c, c.apply, { state, dryRun: false });
        unchanged.push(performance.now() - t0);
      }
    });
    const applyUnchangedMs = median(unchanged);
    const afterUnchanged = logLines(a, from);
    const applyUnchangedWrites = writesIn(afterUnchanged);
    const applyUnchangedPassLogged = afterUnchanged.some((l) => l.msg === 'reconciled');
    // The agent's own measure of those passes (served by the event-fed model: no dump).
    const noopPasses = afterUnchanged.filter((l) => l.msg === 'pass' && l.trigger === 'apply' && l.actions === 0);
    const noopPassMs = noopPasses.length > 0 ? median(noopPasses.map((l) => Number(l.durationMs))) : null;
    const noopPassDumps = noopPasses.reduce((n, l) => n + Number(l.dumps ?? 0), 0);

    // Drift repair: delete one bridge, time until its network is Ready again and it exists.
    log('drift repair');
    const victim = netName(0);
    const before = (await status()).networks.find((n) => n.name === victim)!;
    const bridge = before.bridgeName;
    from = a.logs().length;
    // Timed from the deletion (made in-process, so no ip process start is counted) to the end
    // of the agent's pass that repaired it (its own log line, wall clock): GetStatus confirms
    // the repair afterwards, polled gently, since polling a 1000-attachment status every few
    // ms would itself slow the agent down.
    const deleter = await openNetlinkDataplane(hostNs);
    t0 = performance.now();
    const wallT0 = performance.timeOrigin + t0;
    await deleter.deleteLink(bridge);
    await deleter.close();
    // Repaired: the status shows a new bridge (a new ifindex), the network and every attachment Ready.
    const repaired = async (): Promise<boolean> => {
      const s = await status();
      const net = s.networks.find((n) => n.name === victim)!;
      return net.bridgeIfindex !== before.bridgeIfindex && net.bridgeIfindex > 0 && isReady(net.conditions) && s.attachments.every((x) => isReady(x.conditions));
    };
    // Event-driven repair first (the agent watches the kernel); if it does not come within
    // 5 s, SIGHUP asks for a pass and that repair is timed from the signal.
    let driftByEvents = true;
    let sighupRepairMs: number | null = null;
    await pollUntil(`${victim} Ready again`, repaired, 5_000, 25).catch(async () => {
      driftByEvents = false;
      const t1 = performance.now();
      process.kill(a.pid, 'SIGHUP');
      await pollUntil(`${victim} Ready again after SIGHUP`, repaired, 30_000);
      sighupRepairMs = performance.now() - t1;
    });
    const repairPassEnd = logLines(a, from).filter((l) => l.msg === 'pass' && Number(l.applied) > 0).map((l) => Number(l.time)).at(-1);
    const driftMs = driftByEvents && repairPassEnd !== undefined ? repairPassEnd - wallT0 : performance.now() - t0;
    if (!(await links(hostNs)).has(bridge)) throw new Error(`drift repair: ${bridge} does not exist, yet ${victim} is Ready`);
    const driftLines = logLines(a, from);
    const driftPass = driftLines.find((l) => l.msg === 'reconciled' && typeof l.applied === 'number' && l.applied > 0);
    const driftPassMs = typeof driftPass?.durationMs === 'number' ? driftPass.durationMs : null;
    const driftWrites = writesIn(driftLines);
    const monitorOverflows = logLines(a, 0).filter((l) => l.event === 'events-lost').length;
    await pause(500);

    // Restart: SIGTERM, start again, time until converged; every link keeps its ifindex.
    log('restart');
    const beforeHost = await links(hostNs);
    const beforeWork = await links(workNs);
    await stopAgent(a);
    t0 = performance.now();
    agent = spawnAgent(hostNs, socket, stateDir);
    const b = agent;
    await waitForLog(b, '"converged after start"', 0, 60_000);
    const toConvergedMs = performance.now() - t0;
    const converged = logLines(b, 0).find((l) => l.msg === 'converged after start');
    client.close();
    client = new NodeAgentClient(`unix://${socket}`, grpc.credentials.createInsecure());
    const c2 = client;
    const s2 = await rpc(c2, c2.getStatus, {});
    if (!allReady(s2, M, N)) throw new Error('restart: not everything is Ready after the first pass');
    const afterHost = await links(hostNs);
    const afterWork = await links(workNs);
    const recreated = (before: Map<string, number>, after: Map<string, number>): number =>
      [...before].filter(([name, idx]) => after.get(name) !== idx).length;

    return {
      attachments: N, networks: M, applyMs, applyRpcMs, applyPassMs, passesUntilReady: readyPasses, ipBatchMs, applyVsIpBatch: applyMs / ipBatchMs,
      noopResync: { sighupWrites, sighupKernelEvents, applyUnchangedMs, applyUnchangedWrites, applyUnchangedPassLogged, unchangedKernelEvents, noopPassMs, noopPassDumps },
      driftRepair: { ms: driftByEvents ? driftMs : null, byKernelEvents: driftByEvents, sighupRepairMs, passMs: driftPassMs, writes: driftWrites, monitorOverflows },
      restart: {
        toConvergedMs,
        firstPassMs: typeof converged?.durationMs === 'number' ? converged.durationMs : null,
        firstPassActions: typeof converged?.actions === 'number' ? converged.actions : null,
        linksRecreated: recreated(beforeHost, afterHost), peersRecreated: recreated(beforeWork, afterWork),
      },
      agentRssMiB,
    };
  } finally {
    client?.close();
    if (agent) await stopAgent(agent).catch(() => undefined);
    await killAll();
    await deleteBenchNetns(hostNs);
    await deleteBenchNetns(workNs);
    await rm(dir, { recursive: true, force: true });
  }
}

function row(metric: string, figure: string, goal: string, met: boolean | null): string[] {
  return [metric, figure, goal, met === null ? '-' : met ? 'met' : 'MISSED'];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  const f = await run(args);
  if (args.json) {
    console.log(JSON.stringify({ machine, figures: f }, null, 2));
    return;
  }
  const nr = f.noopResync;
  console.log(`bench/agent: ${describeMachine(machine)}`);
  console.log(`N = ${f.attachments} veth attachments in ${f.networks} networks (bridge with gateway address, no uplink),`);
  console.log('peers in a second namespace; the real agent process (--log-level debug), driven over gRPC. IPv6 off.\n');
  // The goals of issue 7, by size: N = 1000 in 10 networks, and N = 10,000 in 100.
  const big = f.attachments >= 10_000;
  const goal = {
    applyRatio: big ? null : 1.2, applyMs: big ? 15_000 : null, noopMs: big ? 150 : 20, driftMs: big ? null : 100,
    restartMs: 3000, rssMB: big ? 300 : 150,
  };
  const writes = nr.sighupWrites + nr.applyUnchangedWrites;
  console.log(markdownTable(['metric', 'figure', 'goal', 'met?'], [
    row('Apply to all Ready', ms(f.applyMs), goal.applyMs ? `< ${goal.applyMs} ms` : '-', goal.applyMs ? f.applyMs < goal.applyMs : null),
    row('  of which the Apply RPC (returns after its pass)', ms(f.applyRpcMs), '-', null),
    row('  of which the apply pass (agent log)', ms(f.applyPassMs), '-', null),
    row('  passes until Ready (agent log)', f.passesUntilReady.join(', '), '-', null),
    row('ip -batch, same devices', ms(f.ipBatchMs), '-', null),
    row('Apply vs ip -batch', `${f.applyVsIpBatch.toFixed(2)}x`, goal.applyRatio ? `<= ${goal.applyRatio}x` : '-', goal.applyRatio ? f.applyVsIpBatch <= goal.applyRatio : null),
    row('no-op pass (agent log, Apply of the unchanged state, median of 5)', ms(nr.noopPassMs), `< ${goal.noopMs} ms`, nr.noopPassMs !== null && nr.noopPassMs < goal.noopMs),
    row('  full dumps in those passes', String(nr.noopPassDumps), '0', nr.noopPassDumps === 0),
    row('  Apply of the unchanged state, RPC round trip (stores it, median of 5)', ms(nr.applyUnchangedMs), '-', null),
    row('no-op netlink writes (SIGHUP + 5 unchanged Applies; kernel events seen by ip monitor)', `${writes} (kernel events: ${nr.sighupKernelEvents + nr.unchangedKernelEvents})`, '0', writes === 0 && nr.sighupKernelEvents + nr.unchangedKernelEvents === 0),
    row('drift repair (bridge deleted -> end of the pass that made it and all ports Ready)', f.driftRepair.byKernelEvents ? ms(f.driftRepair.ms) : 'not repaired in 5 s', goal.driftMs ? `< ${goal.driftMs} ms` : '-', goal.driftMs ? f.driftRepair.ms !== null && f.driftRepair.ms < goal.driftMs : null),
    ...(f.driftRepair.byKernelEvents ? [] : [row('  repair after SIGHUP instead (signal -> Ready)', ms(f.driftRepair.sighupRepairMs), '-', null)]),
    row('  kernel events lost (ENOBUFS) logged by the agent', String(f.driftRepair.monitorOverflows), '-', null),
    row('  of which the repair pass (agent log)', ms(f.driftRepair.passMs), '-', null),
    row('restart to converged (spawn -> first pass done)', ms(f.restart.toConvergedMs), `< ${goal.restartMs} ms`, f.restart.toConvergedMs < goal.restartMs),
    row('  of which the first pass (agent log)', `${ms(f.restart.firstPassMs)}, ${f.restart.firstPassActions ?? 'n/a'} actions`, '-', null),
    row('links recreated by the restart (host / peers)', `${f.restart.linksRecreated} / ${f.restart.peersRecreated}`, '0', f.restart.linksRecreated + f.restart.peersRecreated === 0),
    row('agent RSS after Apply', `${f.agentRssMiB.toFixed(0)} MiB`, `< ${goal.rssMB} MB`, f.agentRssMiB * 1.048576 < goal.rssMB),
  ]));
}

runMain(main, async () => {
  await killAll();
  await deleteAllBenchNetns();
});
