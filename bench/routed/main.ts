// bench/routed (issue 13): N routed attachments Applied to the real hostnet-agent process, timed
// from Apply until GetStatus shows every attachment Ready, against `ip -batch` building the same
// kernel state in a fresh namespace in the same run: the devices, the gateway /32 on each (address
// protocol 104 by the agent), one host route <ip>/32 dev <device> proto 104 per workload, and the per-device
// switches (forwarding, proxy_arp, proxy_delay) in one `sysctl -w` process, and the agent's
// nftables table of network isolation (inet hostnet-routers: every routed device is fenced; the
// agent writes it for any routed network), loaded with one `nft -f` of the table the agent
// made, so both sides do the same work. The agent runs first (the reference needs its table).
// Run as root after `npm run build`.
//   node dist/bench/routed/main.js [--attachments 1000]
//
// TAPs, not veths: a veth workload with a static address gets its address and a default route in
// its peer namespace, and 1000 peers in one namespace cannot each hold a default route; a TAP has
// no peer, so both sides build exactly the host's state. Without a guest holding it open a TAP
// has no carrier, so its Ready stays False NoCarrier: the bench waits for every other condition
// (Configured, Routed, AddressesAssigned) True instead. BGP announcement time is not measured
// here (printed as such).
import * as grpc from '@grpc/grpc-js';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { NodeAgentClient, type GetStatusResponse } from '../../agent/api/gen/hostnet/v1/agent.js';
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { NetnsPool } from '../../dataplane/testing/netns.js';
import { AGENT_JS, spawnAgent, stopAgent, killAll, waitForLog, type Agent } from '../../agent/testing/launch.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { markdownTable, ms } from '../lib/table.js';
import { runMain } from '../lib/run-main.js';

// Namespaces hnbench-rtd-<pid>-<n> (the pool's prefix is one word; the label adds "rtd-").
const pool = new NetnsPool('hnbench-');
const newNetns = (): Promise<string> => pool.create({ loopback: false, ipv6: false, label: 'rtd' });

const NETWORK = 'rtd';
const CIDR = '10.80.0.0/22';
const GATEWAY = '10.80.0.1';
const PROTO = 104;

const pause = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const tapName = (i: number): string => `rt${i}`;
/** Workload i's address: 10.80.0.2 upwards (the /22 has room for 1021 after the gateway). */
function workloadIp(i: number): string {
  const n = 2 + i;
  return `10.80.${n >> 8}.${n & 255}`;
}
const macOf = (i: number): string => `52:54:00:50:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

function parseArgs(argv: string[]): { attachments: number } {
  let attachments = 1000;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--attachments') attachments = Number(argv[++i]);
    else throw new Error(`bench/routed: unknown argument "${argv[i]}" (use --attachments 1000)`);
  }
  if (!Number.isInteger(attachments) || attachments < 1 || attachments > 1020) throw new Error('bench/routed: --attachments takes 1..1020 (one /22)');
  return { attachments };
}

function desired(n: number): DesiredState {
  return DesiredState.fromJSON({
    generation: 1,
    networks: [{ name: NETWORK, mode: 'ROUTED', ipFamily: 'IPV4', cidr: CIDR, mtu: 1500 }],
    attachments: Array.from({ length: n }, (_, i) => ({
      name: `a${i}`, network: NETWORK, tap: { ifName: tapName(i) }, mac: macOf(i), ip: { static: workloadIp(i) },
    })),
  });
}

const NFT = process.env['HOSTNET_NFT'] ?? 'nft';

/**
 * CPU time (user + system, ms) of a process and of its children it has waited for, from
 * /proc/<pid>/stat: what each side costs whatever else the machine runs (wall time on a loaded
 * machine is mostly waiting for a core). Kernel work done in the process's syscalls counts;
 * work the kernel defers to its own threads counts for neither side.
 */
function cpuMs(pid: number | 'self', only: 'all' | 'children'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) start at the last ')': state is [0], so
  // utime, stime, cutime, cstime (fields 14-17 of proc(5)) are [11]..[14].
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = (only === 'all' ? [11, 12, 13, 14] : [13, 14]).reduce((sum, i) => sum + Number(f[i]), 0);
  return (ticks * 1000) / CLOCK_TICKS;
}
/** USER_HZ: 100 on every Linux architecture hostnet runs on. */
const CLOCK_TICKS = 100;
const ROUTERS_TABLE = ['table', 'inet', 'hostnet-routers'];

interface Reference { ipBatchMs: number; nftMs: number; cpuMs: number }

/**
 * The same kernel state with one `ip -batch`, one `sysctl -w` and one `nft -f` of `table` (the
 * agent's, as `nft -s list` printed it; empty: none); ms, every process included.
 */
async function ipBatch(n: number, table: string): Promise<Reference> {
  const ns = await newNetns();
  try {
    const cmds: string[] = [];
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      const d = tapName(i);
      cmds.push(`tuntap add dev ${d} mode tap`, `link set ${d} address ${macOf(i)} mtu 1500 alias hostnet:tap:a${i} up`);
      // No `proto` on the address: iproute2 6.1 has no such word for addresses (the agent sets it
      // over netlink; one attribute more in the same message costs the kernel nothing measurable).
      cmds.push(`addr add ${GATEWAY}/32 dev ${d}`, `route add ${workloadIp(i)}/32 dev ${d} scope link proto ${PROTO}`);
      keys.push(`net.ipv4.conf.${d}.forwarding=1`, `net.ipv4.conf.${d}.proxy_arp=1`, `net.ipv4.neigh.${d}.proxy_delay=0`);
    }
    const cpu0 = cpuMs('self', 'children');
    const t0 = performance.now();
    await execa('ip', ['-n', ns, '-batch', '-'], { input: cmds.join('\n') + '\n' });
    await execa('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...keys]);
    const t1 = performance.now();
    if (table) await execa('ip', ['netns', 'exec', ns, NFT, '-f', '-'], { input: table });
    const t2 = performance.now();
    // The CPU of ip, sysctl and nft (children the bench waited for), not the bench's own.
    const childCpu = cpuMs('self', 'children') - cpu0;
    const routes = JSON.parse((await execa('ip', ['-n', ns, '-j', 'route', 'show', 'proto', String(PROTO)])).stdout) as unknown[];
    if (routes.length !== n) throw new Error(`bench/routed: ip -batch made ${routes.length} host routes, expected ${n}`);
    return { ipBatchMs: t1 - t0, nftMs: t2 - t1, cpuMs: childCpu };
  } finally {
    await pool.destroy(ns);
  }
}

type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, options: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;
function rpc<Req, Res>(client: NodeAgentClient, method: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, req, new grpc.Metadata(), { deadline: Date.now() + 120_000 }, (err, res) => (err ? reject(err) : resolve(res))));
}
const isReady = (conds: { type: string; status: ConditionStatus }[]): boolean =>
  conds.find((c) => c.type === 'Ready')?.status === ConditionStatus.CONDITION_STATUS_TRUE;
/**
 * Done: every attachment's conditions True except Negotiated, which for a TAP no process holds
 * open is False NoCarrier (and so Ready False NoCarrier) by design: the bench has no guests.
 */
const converged = (conds: { type: string; status: ConditionStatus }[]): boolean =>
  conds.every((c) => c.type === 'Ready' || c.type === 'Negotiated' || c.status === ConditionStatus.CONDITION_STATUS_TRUE)
  && ['Configured', 'Routed', 'AddressesAssigned'].every((t) => conds.find((c) => c.type === t)?.status === ConditionStatus.CONDITION_STATUS_TRUE);
const allReady = (s: GetStatusResponse, n: number): boolean =>
  s.attachments.length === n && s.attachments.every((a) => converged(a.conditions)) && s.networks.every((x) => isReady(x.conditions));

interface AgentFigures { applyMs: number; applyRpcMs: number; agentRoutes: number; table: string; cpuMs: number }

async function agentApply(n: number): Promise<AgentFigures> {
  const ns = await newNetns();
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-bench-routed-'));
  const socket = path.join(dir, 'agent.sock');
  let agent: Agent | null = null;
  let client: NodeAgentClient | null = null;
  try {
    agent = spawnAgent(ns, socket, path.join(dir, 'state'));
    await waitForLog(agent, '"converged after start"', 0, 30_000);
    client = new NodeAgentClient(`unix://${socket}`, grpc.credentials.createInsecure());
    const c = client;
    await rpc(c, c.getStatus, {}); // connected before timing
    const state = desired(n);
    const cpu0 = cpuMs(agent.pid, 'all');
    const t0 = performance.now();
    await rpc(c, c.apply, { state, dryRun: false });
    const applyRpcMs = performance.now() - t0;
    let last: GetStatusResponse | null = null;
    for (const deadline = Date.now() + 120_000; ;) {
      last = await rpc(c, c.getStatus, {});
      if (allReady(last, n)) break;
      if (Date.now() > deadline) {
        const bad = last.attachments.find((a) => !converged(a.conditions));
        throw new Error(`bench/routed: not every attachment Ready 120 s after Apply (e.g. ${bad?.name}: ${JSON.stringify(bad?.conditions)})`);
      }
      await pause(10);
    }
    const applyMs = performance.now() - t0;
    const cpu = cpuMs(agent.pid, 'all') - cpu0;
    // The agent's kernel state is what ip -batch builds: one proto 104 host route per workload.
    const agentRoutes = (JSON.parse((await execa('ip', ['-n', ns, '-j', 'route', 'show', 'proto', String(PROTO)])).stdout) as unknown[]).length;
    // Its isolation table, for the reference to load the same (none: the reference loads none).
    const listed = await execa('ip', ['netns', 'exec', ns, NFT, '-s', 'list', ...ROUTERS_TABLE], { reject: false });
    return { applyMs, applyRpcMs, agentRoutes, table: listed.exitCode === 0 ? listed.stdout : '', cpuMs: cpu };
  } finally {
    client?.close();
    if (agent) await stopAgent(agent).catch(() => undefined);
    await killAll();
    await pool.destroy(ns);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { attachments: n } = parseArgs(process.argv.slice(2));
  if (!existsSync(AGENT_JS)) throw new Error(`${AGENT_JS} missing: run npm run build first`);
  const machine = machineInfo();
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  process.stderr.write('bench/routed: agent Apply\n');
  const a = await agentApply(n);
  await pause(2000); // let the kernel free those devices before the reference is timed
  process.stderr.write(`bench/routed: ip -batch, ${n} routed TAPs\n`);
  const ref = await ipBatch(n, a.table);
  const reference = ref.ipBatchMs + ref.nftMs;
  const ratio = a.applyMs / reference;
  console.log(`bench/routed: ${describeMachine(machine)}`);
  console.log(`N = ${n} TAP attachments in one routed network ${CIDR} (static addresses, gateway ${GATEWAY}/32 on each device, proto ${PROTO} host routes, forwarding/proxy_arp/proxy_delay per device); the real agent over gRPC.\n`);
  console.log(markdownTable(['metric', 'figure', 'goal', 'met?'], [
    ['date', machine.date, '-', '-'],
    ['CPU', `${machine.cpu} (${machine.cores} cores)`, '-', '-'],
    ['kernel', machine.kernel, '-', '-'],
    ['load average (1/5/15 min, at start)', load, '-', '-'],
    ['Apply to every attachment converged (GetStatus: all conditions True but Negotiated/Ready, NoCarrier without a guest)', ms(a.applyMs), '-', '-'],
    ['  of which the Apply RPC', ms(a.applyRpcMs), '-', '-'],
    ['  proto 104 host routes the agent made', String(a.agentRoutes), String(n), a.agentRoutes === n ? 'met' : 'MISSED'],
    ['ip -batch (devices, gateway /32s, host routes) + one sysctl -w', ms(ref.ipBatchMs), '-', '-'],
    [`+ one nft -f of the agent's isolation table (inet hostnet-routers, ${a.table ? `${a.table.split('\n').length} lines` : 'none made'})`, ms(ref.nftMs), '-', '-'],
    ['Apply vs the reference (ip -batch + sysctl -w + nft -f: the same work)', `${ratio.toFixed(2)}x`, '<= 1.2x', ratio <= 1.2 ? 'met' : 'MISSED'],
    ['Apply vs ip -batch + sysctl -w alone', `${(a.applyMs / ref.ipBatchMs).toFixed(2)}x`, '-', '-'],
    ['CPU time (user+sys), agent process and its children, Apply to converged', ms(a.cpuMs), '-', '-'],
    ['CPU time (user+sys), the reference\'s ip, sysctl and nft', ms(ref.cpuMs), '-', '-'],
    ['CPU agent vs reference (less sensitive to load than wall time)', `${(a.cpuMs / Math.max(ref.cpuMs, 1)).toFixed(2)}x`, '-', '-'],
    [`${n} host routes announced to and learned by a fabric FRR`, 'not measured', '-', '-'],
  ]));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void killAll().finally(() => pool.destroyAll()).finally(() => process.exit(130));
  });
}

runMain(main, async () => {
  await killAll();
  await pool.destroyAll();
});
