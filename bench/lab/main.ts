// bench/lab: networks across hosts in the lab (agent/testing/lab: N hosts as namespaces on one
// underlay bridge, the real hostnet-agent in each, FRR with EVPN, desired state pushed with
// hostnetctl over mutual TLS from a control namespace). For each lab size:
//   - how long after an Apply on one host a new workload there answers every other host, for a
//     flood-list network and for an EVPN network (workloads added one after another);
//   - TCP throughput between workloads on two hosts over VXLAN, against a plain veth pair
//     between two namespaces on the same machine, in the same run (first lab only: the data path
//     does not depend on the number of hosts).
// Run as root after `npm run build`:
//   node dist/bench/lab/main.js [--hosts 3,10] [--samples 5] [--seconds 5] [--json]
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { Lab } from '../../agent/testing/lab/lab.js';
import type { LabNetworkSpec } from '../../agent/testing/lab/networks.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { markdownTable, ms } from '../lib/table.js';
import { PING_INTERVAL_S, PROBER_ARP_RETRANS_MS, FdbWatch, ReachWatch, macOf, tuneProber } from './reach.js';
import { VethPair, deleteVethReference, iperf, type Throughput } from './throughput.js';
import { WarmClient } from './warm-client.js';

interface Args {
  hosts: number[];
  samples: number;
  seconds: number;
  json: boolean;
}

const USAGE = 'use --hosts 3,10 --samples 5 --seconds 5 --json';

function parseArgs(argv: string[]): Args {
  const args: Args = { hosts: [3, 10], samples: 5, seconds: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--hosts') args.hosts = (argv[++i] ?? '').split(',').map(Number);
    else if (a === '--samples') args.samples = Number(argv[++i]);
    else if (a === '--seconds') args.seconds = Number(argv[++i]);
    else throw new Error(`bench/lab: unknown argument "${a}" (${USAGE})`);
  }
  // The lab numbers 15 workloads a host per network (.16*host+n in a /24); host 1 holds a
  // prober and the samples of both ways of applying.
  if (!args.hosts.length || args.hosts.some((h) => !Number.isInteger(h) || h < 2 || h > 14)) throw new Error(`bench/lab: --hosts takes a list of integers from 2 to 14 (${USAGE})`);
  if (!Number.isInteger(args.samples) || args.samples < 1 || args.samples > 7) throw new Error(`bench/lab: --samples takes an integer from 1 to 7 (${USAGE})`);
  if (!Number.isInteger(args.seconds) || args.seconds < 1 || args.seconds > 60) throw new Error(`bench/lab: --seconds takes an integer from 1 to 60 (${USAGE})`);
  return args;
}

const PREFIX = 'hnbench-lab-';
const NETWORKS: Record<'flood' | 'evpn', LabNetworkSpec> = {
  flood: { name: 'green', mode: 'flood', vni: 200, cidr: '10.78.2.0/24' },
  evpn: { name: 'red', mode: 'evpn', vni: 300, cidr: '10.78.3.0/24' },
};
const MODES = ['flood', 'evpn'] as const;
type Mode = (typeof MODES)[number];
const REACH_TIMEOUT_MS = 20_000;
const THROUGHPUT_ROUNDS = 3;

/** How a sample's Apply was sent. */
type Via = 'warm' | 'hostnetctl';
const VIAS: Via[] = ['warm', 'hostnetctl'];

/** One workload added on h1: until every other host's prober had an answer from it; ms. */
interface Sample {
  /**
   * From the moment the Apply left: a warm client's call (its channel connected), or, for
   * hostnetctl, its spawn (process start and TLS handshake before the call).
   */
  fromSent: number;
  /** From the Apply's answer (the agent answers after its pass) or hostnetctl's exit. */
  fromReturned: number;
  /** Sent to returned. */
  callMs: number;
  /** EVPN: from the moment the Apply left until every other host's FDB had the new MAC (its type-2 route). */
  fdbFromSent?: number;
}

interface LabFigures {
  hosts: number;
  setupMs: number;
  reach: Record<Mode, Record<Via, Sample[]>>;
  /** Each path's rounds (first lab only). */
  throughput: Record<Mode | 'veth', Throughput[]> | null;
}

interface Figures {
  load: { start: number; end: number };
  samples: number;
  seconds: number;
  labs: LabFigures[];
}

const otherHostNs = (lab: Lab): string[] => Array.from({ length: lab.hosts - 1 }, (_, k) => lab.hostNs(k + 2));

async function sample(lab: Lab, mode: Mode, name: string, probers: string[], via: Via, warm: WarmClient): Promise<Sample> {
  checkStopping();
  const w = await lab.addWorkload(1, name, NETWORKS[mode].name, undefined, { apply: false });
  const watch = new ReachWatch(probers, w.ip);
  const fdbWatch = mode === 'evpn' ? new FdbWatch(otherHostNs(lab)) : null;
  try {
    await watch.started();
    // bridge monitor prints nothing until an event: a moment for it to subscribe.
    if (fdbWatch) await new Promise((r) => setTimeout(r, 100));
    let sent: number;
    let returned: number;
    if (via === 'hostnetctl') {
      sent = Date.now();
      await lab.apply(1, { wait: false });
      returned = Date.now();
    } else {
      const file = path.join(lab.dir, `bench-${name}.json`);
      await writeFile(file, JSON.stringify(lab.desiredState(1)));
      ({ sentAt: sent, returnedAt: returned } = await warm.apply(file));
    }
    const reached = (await watch.reachedAll(REACH_TIMEOUT_MS)).all;
    // The veth, and so its MAC, exist once the Apply has answered.
    const fdbAt = fdbWatch ? await fdbWatch.everywhere(await macOf(w.ns, 'eth0'), REACH_TIMEOUT_MS) : null;
    return { fromSent: reached - sent, fromReturned: reached - returned, callMs: returned - sent, ...(fdbAt !== null ? { fdbFromSent: fdbAt - sent } : {}) };
  } finally {
    await watch.close();
    await fdbWatch?.close();
  }
}

async function runLab(args: Args, hosts: number, withThroughput: boolean, log: (m: string) => void): Promise<LabFigures> {
  const t0 = Date.now();
  checkStopping();
  currentPrefix = `${PREFIX}h${hosts}-`;
  const lab = await Lab.create({ prefix: currentPrefix, hosts, replace: true, log: (l) => log(`  ${l}`) });
  current = lab;
  try {
    for (const mode of MODES) await lab.addNetwork(NETWORKS[mode], { apply: false });
    // A prober per host and network: the witnesses on the other hosts, and on h1 one that has
    // the network's devices there before the samples.
    for (let h = 1; h <= hosts; h++) for (const mode of MODES) await lab.addWorkload(h, `p${mode[0]}${h}`, NETWORKS[mode].name, undefined, { apply: false });
    log(`${hosts} hosts: pushing the flood-list and EVPN networks and ${hosts * 2} probers to every host (until Ready and BGP established)`);
    await lab.applyAll({ timeoutSeconds: 120 });
    await Promise.all(lab.workloads().map((w) => tuneProber(w.ns)));
    const setupMs = Date.now() - t0;

    const reach = {} as LabFigures['reach'];
    const warm = await WarmClient.start(lab, 1);
    try {
      for (const mode of MODES) {
        const probers = Array.from({ length: hosts - 1 }, (_, k) => lab.workload(`p${mode[0]}${k + 2}`).ns);
        reach[mode] = { warm: [], hostnetctl: [] };
        // Alternating, so that neither way gets the first (colder) Apply of every series.
        for (let i = 1; i <= args.samples; i++) {
          for (const via of i % 2 ? VIAS : [...VIAS].reverse()) {
            const s = await sample(lab, mode, `s${mode[0]}${via[0]}${i}`, probers, via, warm);
            log(`${hosts} hosts, ${mode}, ${via}: sample ${i}: reachable from all ${ms(s.fromSent)} after the Apply left, ${ms(s.fromReturned)} after it returned`);
            reach[mode][via].push(s);
            // Let what the Apply started elsewhere (EVPN routes, neighbour entries) settle first.
            await new Promise((r) => setTimeout(r, 300));
          }
        }
      }
    } finally {
      await warm.close();
    }

    let throughput: LabFigures['throughput'] = null;
    if (withThroughput) {
      // Rounds alternating the paths, so that a busy moment of the machine does not fall on one
      // path only; the veth pair is measured while the lab is up (idle), as the VXLAN paths are.
      throughput = { flood: [], evpn: [], veth: [] };
      const ref = await VethPair.open();
      try {
        for (let round = 1; round <= THROUGHPUT_ROUNDS; round++) {
          for (const mode of MODES) {
            checkStopping();
            log(`${hosts} hosts, ${mode}: iperf3 h1 -> h2, ${args.seconds} s (round ${round} of ${THROUGHPUT_ROUNDS})`);
            const server = lab.workload(`p${mode[0]}2`);
            throughput[mode].push(await iperf(server.ns, server.ip, lab.workload(`p${mode[0]}1`).ns, 'eth0', args.seconds));
          }
          log(`veth pair: iperf3, ${args.seconds} s (round ${round} of ${THROUGHPUT_ROUNDS})`);
          throughput.veth.push(await ref.iperf(args.seconds));
        }
      } finally {
        await ref.close();
      }
    }
    return { hosts, setupMs, reach, throughput };
  } finally {
    const closing = Date.now();
    await lab.close();
    current = null;
    currentPrefix = null;
    log(`${hosts} hosts: lab removed in ${ms(Date.now() - closing)}`);
  }
}

async function run(args: Args, log: (m: string) => void): Promise<Figures> {
  const loadStart = loadavg()[0]!;
  const labs: LabFigures[] = [];
  for (const [i, hosts] of args.hosts.entries()) labs.push(await runLab(args, hosts, i === 0, log));
  return { load: { start: loadStart, end: loadavg()[0]! }, samples: args.samples, seconds: args.seconds, labs };
}

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

const p50max = (xs: number[]): string => `${ms(p50(xs))} / ${ms(Math.max(...xs))}`;

function print(f: Figures): void {
  const m = machineInfo();
  const hostsList = f.labs.map((l) => l.hosts).join(' and ');
  console.log(`bench/lab: ${describeMachine(m)}`);
  console.log([
    `The lab (agent/testing/lab) of ${hostsList} hosts: namespaces on one underlay bridge, the real`,
    'hostnet-agent in each (and its FRR, iBGP full mesh, for EVPN), gRPC over mutual TLS from a',
    'control namespace.',
    `1-minute load average at the start / end of the run: ${f.load.start.toFixed(1)} / ${f.load.end.toFixed(1)} (${cpus().length} cores).`,
    '',
    `Reachability: workloads added on h1 one after another, one Apply each (${f.samples} through a warm`,
    `mTLS client, ${f.samples} with hostnetctl apply without --wait, alternating); a prober on every other host pings`,
    `the new address continuously every ${PING_INTERVAL_S * 1000} ms from before the Apply (ARP retransmission ${PROBER_ARP_RETRANS_MS} ms);`,
    'time until the last prober\'s first answer, p50 / max.',
  ].join('\n'));
  const rows: string[][] = [];
  for (const l of f.labs) {
    for (const mode of MODES) {
      const r = l.reach[mode];
      const col = (via: Via, k: 'fromSent' | 'fromReturned' | 'callMs'): number[] => r[via].map((x) => x[k]);
      const fdb = r.warm.flatMap((x) => (x.fdbFromSent !== undefined ? [x.fdbFromSent] : []));
      rows.push([String(l.hosts), mode === 'flood' ? 'VXLAN flood list' : 'VXLAN EVPN (FRR)',
        p50max(col('warm', 'fromSent')), p50max(col('warm', 'fromReturned')), p50max(col('hostnetctl', 'fromReturned')), p50max(col('hostnetctl', 'fromSent')),
        `${ms(p50(col('warm', 'callMs')))} / ${ms(p50(col('hostnetctl', 'callMs')))}`, fdb.length ? p50max(fdb) : '-']);
    }
  }
  console.log(`\n${markdownTable(['hosts', 'network', 'from Apply sent', 'from Apply returned', 'from hostnetctl apply returned', 'from hostnetctl start',
    'Apply RPC / hostnetctl (p50)', 'MAC in every FDB'], rows)}`);

  const t = f.labs[0]?.throughput;
  if (t) {
    console.log(`\nTCP throughput, iperf3 -t ${f.seconds} (one stream), ${THROUGHPUT_ROUNDS} rounds alternating the paths, median (min - max):`);
    const gbps = (xs: Throughput[]): number => p50(xs.map((x) => x.gbps));
    const cell = (xs: Throughput[]): string => `${gbps(xs).toFixed(2)} Gbit/s (${Math.min(...xs.map((x) => x.gbps)).toFixed(2)} - ${Math.max(...xs.map((x) => x.gbps)).toFixed(2)})`;
    const ref = gbps(t.veth);
    const tRows = MODES.map((mode) => [`workloads h1 -> h2, ${mode === 'flood' ? 'VXLAN flood list' : 'VXLAN EVPN'} (${f.labs[0]!.hosts}-host lab)`,
      String(t[mode][0]!.mtu), cell(t[mode]), String(p50(t[mode].map((x) => x.retransmits))), `${(gbps(t[mode]) / ref).toFixed(2)}x`]);
    tRows.push(['two namespaces joined by a plain veth pair', String(t.veth[0]!.mtu), cell(t.veth), String(p50(t.veth.map((x) => x.retransmits))), '1.00x']);
    console.log(markdownTable(['path', 'MTU', 'throughput', 'retransmits (median)', 'vs veth'], tRows));
  }
  console.log([
    '',
    'Notes: "from Apply sent" and "from Apply returned" time a control plane that keeps its',
    'channel open (bench/lab/apply-client.ts in the control namespace); hostnetctl starts Node and',
    'does a TLS handshake before its call. A negative figure means reachable before that moment.',
    'The Apply answers after the agent\'s pass. Cross-host packets cross workload veth, bridge, VXLAN,',
    'the host\'s underlay veth and the underlay bridge, and back: all on this machine\'s CPUs, as is',
    'the veth reference.',
    '"MAC in every FDB" (EVPN, warm client samples): from the Apply sent until every other host\'s',
    'bridge FDB holds the new MAC with its VTEP (the type-2 route through FRR; seen by bridge monitor fdb).',
    'Reachability does not wait for it: until then the pings\' unknown unicast floods to the VTEPs of',
    'the type-3 routes, and the flood-list network floods to its list.',
    `Lab setup (agents, FRR, networks, probers Ready, BGP up): ${f.labs.map((l) => `${l.hosts} hosts ${(l.setupMs / 1000).toFixed(1)} s`).join(', ')}.`,
  ].join('\n'));
}

/** The lab up now: removed by a signal too (its agents and FRR would outlive this process). */
let current: Lab | null = null;
/** Its prefix, set before Lab.create: a signal while it builds removes what is there so far. */
let currentPrefix: string | null = null;
/** A signal came: the measurements stop at their next step (they would build on a lab going away). */
let stopping = false;

function checkStopping(): void {
  if (stopping) throw new Error('bench/lab: stopped by a signal');
}

// process.on, not once: execa's signal-exit handler re-raises a signal it finds no other
// listener for, which would kill this process before the lab is down.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`bench/lab: ${signal}: removing the lab\n`);
    const lab = current;
    const prefix = currentPrefix;
    const cleanup = async (): Promise<void> => {
      await lab?.close();
      // Again (or only, while the lab builds): a step under way when the signal came may have
      // made a namespace or started a process since.
      if (prefix) await Lab.down(prefix);
    };
    void Promise.allSettled([cleanup(), deleteVethReference()]).then((results) => {
      for (const r of results) if (r.status === 'rejected') process.stderr.write(`bench/lab: cleanup after ${signal}: ${(r.reason as Error).message}\n`);
      process.exit(130);
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (m: string): void => {
    process.stderr.write(`bench/lab: ${m}\n`);
  };
  const f = await run(args, log);
  if (args.json) console.log(JSON.stringify({ machine: machineInfo(), figures: f }, null, 2));
  else print(f);
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await current?.close();
    await deleteVethReference();
  });
