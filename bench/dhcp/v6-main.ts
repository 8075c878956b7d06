// bench/dhcp, IPv6: perfdhcp -6 from a client namespace against hostnet's Dhcp6Server (stateful,
// durable leases, run inside this process as the agent runs it) and Kea 2.2's kea-dhcp6, in the
// same run on the same veth + bridge. perfdhcp sends directly (no -A: hostnet refuses relay
// messages), from its link-local address to ff02::1:2. For each server: the highest rate with
// under 1 % drops (a ladder: doubling, then a little bisection) and the p50/p99 delays of
// Solicit-Advertise and Request-Reply at 1,000 exchanges/s. Run as root, after the build:
//   node dist/bench/dhcp/main.js --v6 [--seconds 3] [--servers hostnet,kea] [--json]
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { NetnsPool } from '../../dataplane/testing/netns.js';
import { rateFigures, searchRate, sustained, type RateFigures, type ServerRates } from '../../dhcp/testing/rate-search.js';
import { percentile } from '../../dhcp/testing/perfdhcp.js';
import type { Dhcp6Config } from '../../dhcp/v6/types.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { markdownTable, ms } from '../lib/table.js';
import { runPerfdhcp6, type Perf6Result } from './v6-perfdhcp.js';
import { benchServers6, type BenchServer6 } from './v6-servers.js';
import { parseArgs as parseBenchArgs, type Args } from './args.js';

const parseArgs = (argv: string[]): Args => parseBenchArgs(argv, 'bench/dhcp --v6', ['hostnet', 'kea']);

const BRIDGE = 'br0';
const PERF_IF = 'hnpf6';
const CONFIG: Dhcp6Config = {
  network: 'bench6',
  prefix: 'fd00:64::/64',
  // Far more addresses than perfdhcp's clients: no trial runs the pool dry.
  pools: [{ start: 'fd00:64::1:0', end: 'fd00:64::ffff:ffff' }],
  dnsServers: ['fd00:64::53'],
  searchDomains: ['bench.example'],
  preferredLifetimeSec: 3600,
  validLifetimeSec: 7200,
  serverDuid: { type: 'll', hardwareType: 1, linkLayerAddress: '02:4e:00:64:00:01' },
  stateful: true,
};
/** Distinct client DUIDs perfdhcp draws from. */
const CLIENTS = 50_000;

interface Trial extends RateFigures {
  saP50: number | null;
  saP99: number | null;
  rrP50: number | null;
  rrP99: number | null;
  /** CPU the bench process used during the run, in cores (hostnet's server is in it). */
  benchCpu?: number;
}

interface ServerFigures extends ServerRates<Trial> {
  unavailable: string | null;
  atThousand: Trial | null;
}

/** Replies per second of sending, and Solicit-Advertise and Request-Reply delays. */
function toTrial(target: number, seconds: number, r: Perf6Result): Trial {
  const sa = r.solicitAdvertise.delaysMs;
  const rr = r.requestReply.delaysMs;
  return { ...rateFigures(target, seconds, r.requestReply, r.dropRatio),
    saP50: percentile(sa, 50), saP99: percentile(sa, 99), rrP50: percentile(rr, 50), rrP99: percentile(rr, 99) };
}

const pool = new NetnsPool('hb6-');

async function sysctl(ns: string, settings: string[]): Promise<void> {
  await execa('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...settings]);
}

/**
 * Server namespace with the bridge (fd00:64::1/64) and a client namespace behind one veth.
 * DAD, RAs and autoconf are off before any link exists: addresses are usable at once and no
 * background SLAAC runs during the trials.
 */
async function topology(): Promise<{ hostNs: string; clientNs: string }> {
  const hostNs = await pool.create({ label: 'srv' });
  const clientNs = await pool.create({ label: 'perf' });
  for (const ns of [hostNs, clientNs]) {
    await sysctl(ns, ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_ra=0',
      'net.ipv6.conf.default.accept_ra=0', 'net.ipv6.conf.all.autoconf=0', 'net.ipv6.conf.default.autoconf=0']);
  }
  const ipn = (ns: string, args: string[]): Promise<unknown> => execa('ip', ['-n', ns, ...args]);
  await ipn(hostNs, ['link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  await ipn(hostNs, ['addr', 'add', 'fd00:64::1/64', 'dev', BRIDGE]);
  await ipn(hostNs, ['link', 'set', BRIDGE, 'up']);
  await ipn(hostNs, ['link', 'add', 'vhpf6', 'type', 'veth', 'peer', 'name', PERF_IF, 'address', '02:4e:00:64:00:02', 'netns', clientNs]);
  await ipn(hostNs, ['link', 'set', 'vhpf6', 'master', BRIDGE, 'up']);
  await ipn(clientNs, ['link', 'set', PERF_IF, 'up']);
  // Wait for the bridge port to forward and both link-locals to exist.
  const deadline = Date.now() + 5000;
  for (;;) {
    const port = JSON.parse((await execa('bridge', ['-n', hostNs, '-j', 'link', 'show', 'dev', 'vhpf6'])).stdout) as { state?: string }[];
    const ll = async (ns: string, dev: string): Promise<boolean> => (await execa('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', dev, 'scope', 'link'])).stdout.includes('fe80:');
    if (port[0]?.state === 'forwarding' && (await ll(hostNs, BRIDGE)) && (await ll(clientNs, PERF_IF))) break;
    if (Date.now() > deadline) throw new Error(`bench/dhcp --v6: bridge port vhpf6 in ${hostNs} not forwarding or link-locals missing after 5 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { hostNs, clientNs };
}

/** One perfdhcp -6 run against a freshly started server with an empty lease file. */
async function trial(s: BenchServer6, hostNs: string, clientNs: string, rate: number, seconds: number, timestamps: boolean, log: (m: string) => void): Promise<Trial> {
  const dir = await mkdtemp(join(tmpdir(), 'hnbench-dhcp6-'));
  try {
    const running = await s.start(hostNs, BRIDGE, CONFIG, dir);
    try {
      // CPU of this process during the run: hostnet's server runs in it (Kea's is another process).
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await runPerfdhcp6({ netns: clientNs, ifname: PERF_IF, rate, clients: CLIENTS, seconds, timestamps });
      const cpu = process.cpuUsage(cpu0);
      const benchCpu = (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
      if (r.requestReply.received === 0) log(`  ${s.name}: no Reply at all; perfdhcp said: ${r.raw.slice(0, 600)}`);
      return { ...toTrial(rate, seconds, r), benchCpu };
    } finally {
      await running.stop();
      // Whatever the server dropped itself (overload, decode errors, relay messages) is worth seeing.
      const c = running.counters?.() as { ignored?: number; overloadDrops?: number; decodeErrors?: number } | undefined;
      if (c && (c.ignored || c.overloadDrops || c.decodeErrors)) log(`    ${s.name} dropped some: ${JSON.stringify(c)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measure(s: BenchServer6, hostNs: string, clientNs: string, a: Args, log: (m: string) => void): Promise<ServerFigures> {
  const unavailable = await s.unavailable();
  if (unavailable) {
    log(`  ${s.name}: skipped: ${unavailable}`);
    return { server: s.name, durability: s.durability, unavailable, best: null, atThousand: null, trials: [] };
  }
  const trials: Trial[] = [];
  const run = async (rate: number): Promise<Trial> => {
    const t = await trial(s, hostNs, clientNs, rate, a.seconds, false, log);
    trials.push(t);
    log(`  ${s.name}: ${rate}/s -> ${t.rate.toFixed(0)}/s, ${(t.dropRatio * 100).toFixed(2)} % drops ${sustained(t) ? 'ok' : 'too many'}; bench process CPU ${(t.benchCpu ?? 0).toFixed(2)} cores, load ${load()}`);
    return t;
  };
  // Doubling from 500/s, down to 250, 100, 50 if even that fails; then a short bisection (2 steps).
  const best = await searchRate<Trial>({ start: 500, maxRate: a.maxRate, fallback: [250, 100, 50], bisectSteps: 2, run, passes: sustained });
  const atThousand = await trial(s, hostNs, clientNs, 1000, a.latencySeconds, true, log);
  log(`  ${s.name}: 1000/s with timestamps -> ${(atThousand.dropRatio * 100).toFixed(2)} % drops, Solicit-Advertise p50 ${ms(atThousand.saP50)}, Request-Reply p50 ${ms(atThousand.rrP50)}; bench process CPU ${(atThousand.benchCpu ?? 0).toFixed(2)} cores`);
  return { server: s.name, durability: s.durability, unavailable: null, best, atThousand, trials };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(', ');

export async function benchDhcp6(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const machine = machineInfo();
  const log = (m: string): void => {
    if (!a.json) console.error(m);
  };
  const loadBefore = loadavg();
  try {
    const { hostNs, clientNs } = await topology();
    const figures: ServerFigures[] = [];
    for (const s of benchServers6) {
      const key = s.name.split(' ')[0]!.toLowerCase();
      if (!a.servers.includes(key)) continue;
      log(`measuring ${s.name} (load average ${load()})`);
      figures.push(await measure(s, hostNs, clientNs, a, log));
    }
    const loadAfter = loadavg();

    const host = figures.find((f) => f.server === 'hostnet');
    const keaF = figures.find((f) => f.server.startsWith('Kea'));
    const goals = {
      rateAtOrAboveKea: host?.best && keaF?.best ? host.best.rate >= keaF.best.rate : null,
      p50UnderOneMs: host?.atThousand ? (host.atThousand.saP50 ?? Infinity) < 1 && (host.atThousand.rrP50 ?? Infinity) < 1 : null,
    };
    if (a.json) {
      console.log(JSON.stringify({ machine, loadBefore, loadAfter, trialSeconds: a.seconds, latencySeconds: a.latencySeconds, clients: CLIENTS, figures, goals }, null, 2));
      return;
    }
    console.log(`bench/dhcp --v6: ${describeMachine(machine)}`);
    console.log(`load average (1, 5, 15 min): ${loadBefore.map((x) => x.toFixed(2)).join(', ')} at start, ${loadAfter.map((x) => x.toFixed(2)).join(', ')} at end`);
    console.log(`perfdhcp -6 from a client namespace, sending directly (no relay: hostnet refuses relayed messages) from its`);
    console.log(`link-local to ff02::1:2 over one veth to a bridge; ${CLIENTS} client DUIDs; each trial ${a.seconds} s against a`);
    console.log(`freshly started server with an empty lease file; rate = Solicit-Advertise-Request-Reply exchanges/s completed.\n`);
    console.log(markdownTable(
      ['server', 'max rate, < 1 % drops', 'Solicit-Advertise p50 / p99 @ 1000/s', 'Request-Reply p50 / p99 @ 1000/s', 'drops @ 1000/s', 'leases'],
      figures.map((f) => f.unavailable
        ? [f.server, `not run: ${f.unavailable}`, 'n/a', 'n/a', 'n/a', f.durability]
        : [
            f.server,
            f.best ? `${f.best.rate.toFixed(0)}/s (${pct(f.best.dropRatio)})` : 'none found',
            `${ms(f.atThousand?.saP50 ?? null)} / ${ms(f.atThousand?.saP99 ?? null)}`,
            `${ms(f.atThousand?.rrP50 ?? null)} / ${ms(f.atThousand?.rrP99 ?? null)}`,
            f.atThousand ? pct(f.atThousand.dropRatio) : 'n/a',
            f.durability,
          ]),
    ));
    if (host) {
      const mark = (g: boolean | null): string => (g === null ? 'n/a   ' : g ? 'met   ' : 'MISSED');
      console.log('\nGoals:');
      console.log(`${mark(goals.rateAtOrAboveKea)}  hostnet rate at or above Kea's (${host.best?.rate.toFixed(0) ?? 'n/a'}/s vs ${keaF?.best?.rate.toFixed(0) ?? 'n/a'}/s)`);
      console.log(`${mark(goals.p50UnderOneMs)}  hostnet p50 under 1 ms at 1000/s (Advertise ${ms(host.atThousand?.saP50 ?? null)}, Reply ${ms(host.atThousand?.rrP50 ?? null)})`);
    }
  } finally {
    await pool.destroyAll();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void pool.destroyAll());
