// bench/dataplane: builds N veth attachments, observes, tears down, with four methods in the
// same run, and prints a comparison table (--json: one JSON object). Run as root.
//   node dist/bench/dataplane/main.js [--n 100,1000] [--json]
import { execa } from 'execa';
import { openNetlinkDataplane } from '../../dataplane/netlink/backend.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { createBenchNetns, deleteAllBenchNetns, deleteBenchNetns } from '../lib/netns.js';
import { markdownTable, ms, ratio } from '../lib/table.js';
import { methods, observeWithIp, type Method, type PhaseTimes } from './methods.js';

interface Args {
  sizes: number[];
  json: boolean;
  observeLinks: number;
  repeats: number;
  rounds: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sizes: [100, 1000], json: false, observeLinks: 2000, repeats: 5, rounds: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--n') args.sizes = (argv[++i] ?? '').split(',').map(Number);
    else if (a === '--observe-links') args.observeLinks = Number(argv[++i]);
    else if (a === '--repeats') args.repeats = Number(argv[++i]);
    else if (a === '--rounds') args.rounds = Number(argv[++i]);
    else throw new Error(`bench/dataplane: unknown argument "${a}" (use --n 100,1000 --rounds 3 --observe-links 2000 --repeats 5 --json)`);
  }
  if (args.sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('bench/dataplane: --n takes positive integers, e.g. 100,1000');
  return args;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One method, one size, in fresh namespaces; checks that it built what was asked. */
async function runOnce(m: Method, n: number): Promise<PhaseTimes> {
  const hostNs = await createBenchNetns();
  const peerNs = await createBenchNetns();
  try {
    const t = await m.run(n, hostNs, peerNs);
    // Every method must have built the same thing: N host ends + bridge + lo.
    if (t.observedLinks !== n + 2) throw new Error(`${m.name} built ${t.observedLinks - 2} attachments, expected ${n}`);
    return t;
  } finally {
    await deleteBenchNetns(hostNs);
    await deleteBenchNetns(peerNs);
    // Let the kernel finish freeing the devices before the next method is timed.
    await pause(2000);
  }
}

/** Rounds interleave the methods, so slow phases of the machine hit all of them alike; medians. */
async function runSize(n: number, rounds: number): Promise<Record<string, PhaseTimes>> {
  const samples = new Map<string, PhaseTimes[]>(methods.map((m) => [m.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const m of methods) {
      if (m.slow && r > 0) continue;
      samples.get(m.name)!.push(await runOnce(m, n));
    }
  }
  const out: Record<string, PhaseTimes> = {};
  for (const [name, ts] of samples) {
    out[name] = {
      createMs: median(ts.map((t) => t.createMs)),
      observeMs: median(ts.map((t) => t.observeMs)),
      teardownMs: median(ts.map((t) => t.teardownMs)),
      observedLinks: ts[0]!.observedLinks,
    };
  }
  return out;
}

/**
 * Observation of a namespace holding `links` links, each up, half with an IPv4 address. IPv6
 * stays on here: every link's link-local address and routes make this the heavier, real case.
 */
async function runObserve(links: number, repeats: number): Promise<{ netlinkMs: number; ipJsonMs: number; links: number; addresses: number; routes: number }> {
  const ns = await createBenchNetns({ ipv6: true });
  try {
    const pairs = Math.floor(links / 2);
    const lines: string[] = [];
    for (let i = 0; i < pairs; i++) {
      lines.push(`link add oa${i} up type veth peer name ob${i}`, `link set ob${i} up`);
      lines.push(`addr add 10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32 dev oa${i}`);
    }
    await execa('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
    const dp = await openNetlinkDataplane(ns);
    const netlink: number[] = [];
    const ipJson: number[] = [];
    let seen = { links: 0, addresses: 0, routes: 0 };
    try {
      await pause(1000); // link-local addresses appear as the links come up
      for (let r = 0; r < repeats; r++) {
        let t0 = performance.now();
        const state = await dp.observe(['addresses', 'routes']);
        seen = { links: state.links.length, addresses: state.addresses.length, routes: state.routes.length };
        netlink.push(performance.now() - t0);
        t0 = performance.now();
        await observeWithIp(ns);
        ipJson.push(performance.now() - t0);
      }
    } finally {
      await dp.close();
    }
    return { netlinkMs: median(netlink), ipJsonMs: median(ipJson), ...seen };
  } finally {
    await deleteBenchNetns(ns);
  }
}

function goal(label: string, value: number | null, limit: number, unit: string): string {
  const ok = value !== null && value <= limit;
  const shown = value === null ? 'n/a' : unit === 'x' ? `${value.toFixed(2)}x` : ms(value);
  return `${ok ? 'met ' : 'MISSED'}  ${label}: ${shown} (goal <= ${unit === 'x' ? `${limit}x` : ms(limit)})`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  const results: Record<string, Record<string, PhaseTimes>> = {};
  for (const n of args.sizes) results[String(n)] = await runSize(n, args.rounds);
  const observe = await runObserve(args.observeLinks, args.repeats);

  const biggest = String(Math.max(...args.sizes));
  const big = results[biggest]!;
  const nl = big['hostnet over netlink'];
  const batch = big['ip -batch (one file)'];
  const goals = {
    createVsIpBatch: nl && batch ? nl.createMs / batch.createMs : null,
    observe2000LinksMs: observe.netlinkMs,
    teardownMs: nl?.teardownMs ?? null,
  };
  if (args.json) {
    console.log(JSON.stringify({ machine, results, observe, goals }, null, 2));
    return;
  }
  console.log(`bench/dataplane: ${describeMachine(machine)}`);
  console.log('create: veth pair + MTU + MAC + alias + group + master + up, peer up + address; observe: links,');
  console.log('addresses and routes; teardown: one link-group delete (ip per operation: one process per device).');
  console.log('IPv6 is off in the benchmark namespaces.\n');
  for (const [n, byMethod] of Object.entries(results)) {
    const ref = byMethod['ip -batch (one file)'];
    console.log(`N = ${n} veth attachments; median of ${args.rounds} rounds (ip per operation: 1 round)\n`);
    console.log(markdownTable(
      ['method', 'create', 'vs ip -batch', 'observe', 'teardown'],
      Object.entries(byMethod).map(([name, t]) => [
        name, ms(t.createMs), ratio(t.createMs, ref?.createMs ?? null), ms(t.observeMs), ms(t.teardownMs),
      ]),
    ));
    console.log('');
  }
  console.log(`Observing ${observe.links} links, ${observe.addresses} addresses, ${observe.routes} routes (IPv6 on), median of ${args.repeats}:\n`);
  console.log(markdownTable(['method', 'observe'], [
    ['hostnet over netlink (links, addresses, routes: one dump each)', ms(observe.netlinkMs)],
    ['ip -j link/addr/route (3 processes)', ms(observe.ipJsonMs)],
  ]));
  console.log(`\nGoals (N = ${biggest}):`);
  console.log(goal('netlink create vs ip -batch', goals.createVsIpBatch, 1.0, 'x'));
  console.log(goal(`observe ${observe.links} links`, goals.observe2000LinksMs, 50, 'ms'));
  console.log(goal(`teardown of ${biggest} attachments`, goals.teardownMs, 500, 'ms'));
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(() => deleteAllBenchNetns());
