// bench/dhcp: perfdhcp from a client namespace against hostnet (serve-main, leases durable),
// Kea 2.2 and dnsmasq, in the same run on the same veth + bridge. For each: the highest rate
// with under 1 % drops (searched: doubling, then bisection) and the p50/p99 delays at 1,000
// exchanges/s. Prints a Markdown table (--json: the figures). Run as root, after `npm run build`.
//   node dist/bench/dhcp/main.js [--seconds 3] [--servers hostnet,kea,dnsmasq] [--json]
// With --v6 it measures DHCPv6 instead (v6-main.ts: hostnet's Dhcp6Server and kea-dhcp6).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkDhcpConfig } from '../../dhcp/types.js';
import { addDhcpClient, createDhcpLan, testMac, waitForwarding } from '../../dhcp/testing/lan.js';
import { rateFigures, searchRate, sustained, type RateFigures, type ServerRates } from '../../dhcp/testing/rate-search.js';
import { percentile, runPerfdhcp, type PerfResult } from '../../dhcp/testing/perfdhcp.js';
import { ip } from '../../dataplane/testing/ip.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { createBenchNetns, deleteAllBenchNetns } from '../lib/netns.js';
import { markdownTable, ms } from '../lib/table.js';
import { benchServers, type BenchServer } from './servers.js';
import { parseArgs as parseBenchArgs, type Args } from './args.js';

const parseArgs = (argv: string[]): Args => parseBenchArgs(argv, 'bench/dhcp', ['hostnet', 'kea', 'dnsmasq']);

const CONFIG: NetworkDhcpConfig = {
  network: 'bench',
  cidr: '10.64.0.0/16',
  serverAddress: '10.64.0.1',
  gateway: '10.64.0.1',
  pools: [{ start: '10.64.0.10', end: '10.64.255.200' }],
  dnsServers: ['10.64.0.53'],
  domainName: 'bench.example',
  routes: [{ destination: '10.99.0.0/16', via: '10.64.0.254' }],
  leaseSeconds: 3600,
};
/** perfdhcp relays from this address (outside the pool). */
const PERF_ADDR = '10.64.255.250/16';
/** Distinct client MACs perfdhcp draws from: fewer than the pool holds. */
const CLIENTS = 50_000;

interface Trial extends RateFigures {
  doP50: number | null;
  doP99: number | null;
  raP50: number | null;
  raP99: number | null;
}

interface ServerFigures extends ServerRates<Trial> {
  atThousand: Trial;
}

/** ACKs per second of sending, and DISCOVER-OFFER and REQUEST-ACK delays. */
function toTrial(target: number, seconds: number, r: PerfResult): Trial {
  const d = r.discoverOffer.delaysMs;
  const q = r.requestAck.delaysMs;
  return { ...rateFigures(target, seconds, r.requestAck, r.dropRatio),
    doP50: percentile(d, 50), doP99: percentile(d, 99), raP50: percentile(q, 50), raP99: percentile(q, 99) };
}

/** One perfdhcp run against a freshly started server with an empty lease file. */
async function trial(s: BenchServer, hostNs: string, clientNs: string, ifname: string, rate: number, seconds: number, timestamps: boolean): Promise<Trial> {
  const dir = await mkdtemp(join(tmpdir(), 'hnbench-dhcp-'));
  try {
    const running = await s.start(hostNs, 'br0', CONFIG, dir);
    try {
      const r = await runPerfdhcp({ netns: clientNs, ifname, rate, clients: CLIENTS, seconds, timestamps });
      return toTrial(rate, seconds, r);
    } finally {
      await running.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measure(s: BenchServer, hostNs: string, clientNs: string, ifname: string, a: Args, log: (m: string) => void): Promise<ServerFigures> {
  const trials: Trial[] = [];
  const run = async (rate: number): Promise<Trial> => {
    const t = await trial(s, hostNs, clientNs, ifname, rate, a.seconds, false);
    trials.push(t);
    log(`  ${s.name}: ${rate}/s -> ${t.rate.toFixed(0)}/s, ${(t.dropRatio * 100).toFixed(2)} % drops ${sustained(t) ? 'ok' : 'too many'}`);
    return t;
  };
  // Doubling from 250/s, down to 100, 50, 25 if even that fails; then bisect (3 steps).
  const best = await searchRate<Trial>({ start: 250, maxRate: a.maxRate, fallback: [100, 50, 25], bisectSteps: 3, run, passes: sustained });
  const atThousand = await trial(s, hostNs, clientNs, ifname, 1000, a.latencySeconds, true);
  log(`  ${s.name}: 1000/s with timestamps -> ${(atThousand.dropRatio * 100).toFixed(2)} % drops, REQUEST-ACK p50 ${ms(atThousand.raP50)}`);
  return { server: s.name, durability: s.durability, best, atThousand, trials };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--v6')) {
    const { benchDhcp6 } = await import('./v6-main.js');
    return benchDhcp6(argv.filter((x) => x !== '--v6'));
  }
  const a = parseArgs(argv);
  const machine = machineInfo();
  const log = (m: string): void => {
    if (!a.json) console.error(m);
  };
  const hostNs = await createBenchNetns();
  const clientNs = await createBenchNetns();
  const lan = await createDhcpLan(hostNs, 'br0', `${CONFIG.serverAddress}/16`);
  const perf = await addDhcpClient(lan, clientNs, 'hnpf0', testMac(64, 1));
  await ip(clientNs, 'addr', 'add', PERF_ADDR, 'dev', perf.ifname);
  await waitForwarding(lan);

  const figures: ServerFigures[] = [];
  for (const s of benchServers) {
    const key = s.name.split(' ')[0]!.toLowerCase();
    if (!a.servers.includes(key)) continue;
    log(`measuring ${s.name}`);
    figures.push(await measure(s, hostNs, clientNs, perf.ifname, a, log));
  }

  const host = figures.find((f) => f.server === 'hostnet');
  const keaF = figures.find((f) => f.server.startsWith('Kea'));
  const goals = {
    rateAtOrAboveKea: host?.best && keaF?.best ? host.best.rate >= keaF.best.rate : null,
    p50UnderOneMs: host ? (host.atThousand.raP50 ?? Infinity) < 1 && (host.atThousand.doP50 ?? Infinity) < 1 : null,
  };
  if (a.json) {
    console.log(JSON.stringify({ machine, trialSeconds: a.seconds, latencySeconds: a.latencySeconds, clients: CLIENTS, figures, goals }, null, 2));
    return;
  }
  console.log(`bench/dhcp: ${describeMachine(machine)}`);
  console.log(`perfdhcp -4 from a client namespace, relaying over one veth to a bridge; ${CLIENTS} client MACs; each trial`);
  console.log(`${a.seconds} s against a freshly started server with an empty lease file; rate = 4-way exchanges/s perfdhcp completed.\n`);
  console.log(markdownTable(
    ['server', 'max rate, < 1 % drops', 'DISCOVER-OFFER p50 / p99 @ 1000/s', 'REQUEST-ACK p50 / p99 @ 1000/s', 'drops @ 1000/s', 'leases'],
    figures.map((f) => [
      f.server,
      f.best ? `${f.best.rate.toFixed(0)}/s (${pct(f.best.dropRatio)})` : 'none found',
      `${ms(f.atThousand.doP50)} / ${ms(f.atThousand.doP99)}`,
      `${ms(f.atThousand.raP50)} / ${ms(f.atThousand.raP99)}`,
      pct(f.atThousand.dropRatio),
      f.durability,
    ]),
  ));
  if (host) {
    console.log('\nGoals:');
    console.log(`${goals.rateAtOrAboveKea ? 'met   ' : 'MISSED'}  hostnet rate at or above Kea's (${host.best?.rate.toFixed(0) ?? 'n/a'}/s vs ${keaF?.best?.rate.toFixed(0) ?? 'n/a'}/s)`);
    console.log(`${goals.p50UnderOneMs ? 'met   ' : 'MISSED'}  hostnet p50 under 1 ms at 1000/s (OFFER ${ms(host.atThousand.doP50)}, ACK ${ms(host.atThousand.raP50)})`);
  }
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(() => deleteAllBenchNetns());
