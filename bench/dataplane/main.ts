// bench/dataplane: builds N veth attachments, observes, tears down, with four methods in the
// same run, and prints a comparison table (--json: one JSON object). Run as root.
//   node dist/bench/dataplane/main.js [--n 100,1000] [--json]
import { execa } from 'execa';
import { openNetlinkDataplane } from '../../dataplane/netlink/backend.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { createBenchNetns, deleteAllBenchNetns, deleteBenchNetns } from '../lib/netns.js';
import { markdownTable, ms, ratio } from '../lib/table.js';
import { methods, observeWithIp, type PhaseTimes } from './methods.js';

interface Args {
  sizes: number[];
  json: boolean;
  observeLinks: number;
  repeats: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sizes: [100, 1000], json: false, observeLinks: 2000, repeats: 5 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--n') args.sizes = (argv[++i] ?? '').split(',').map(Number);
    else if (a === '--observe-links') args.observeLinks = Number(argv[++i]);
    else if (a === '--repeats') args.repeats = Number(argv[++i]);
    else throw new Error(`bench/dataplane: unknown argument "${a}" (use --n 100,1000 --observe-links 2000 --repeats 5 --json)`);
  }
  if (args.sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('bench/dataplane: --n takes positive integers, e.g. 100,1000');
  return args;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function runSize(n: number): Promise<Record<string, PhaseTimes>> {
  const out: Record<string, PhaseTimes> = {};
  for (const m of methods) {
    const hostNs = await createBenchNetns();
    const peerNs = await createBenchNetns();
    try {
      out[m.name] = await m.run(n, hostNs, peerNs);
      // Every method must have built the same thing: N host ends + bridge + lo.
      if (out[m.name]!.observedLinks !== n + 2) {
        throw new Error(`${m.name} built ${out[m.name]!.observedLinks - 2} attachments, expected ${n}`);
      }
    } finally {
      await deleteBenchNetns(hostNs);
      await deleteBenchNetns(peerNs);
    }
  }
  return out;
}

/** Observation of a namespace holding `links` links, each veth end with an address. */
async function runObserve(links: number, repeats: number): Promise<{ netlinkMs: number; ipJsonMs: number; links: number }> {
  const ns = await createBenchNetns();
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
    let seen = 0;
    try {
      for (let r = 0; r < repeats; r++) {
        let t0 = performance.now();
        seen = (await dp.observe()).links.length;
        netlink.push(performance.now() - t0);
        t0 = performance.now();
        await observeWithIp(ns);
        ipJson.push(performance.now() - t0);
      }
    } finally {
      await dp.close();
    }
    return { netlinkMs: median(netlink), ipJsonMs: median(ipJson), links: seen };
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
  for (const n of args.sizes) results[String(n)] = await runSize(n);
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
  console.log(`bench/dataplane: ${describeMachine(machine)}\n`);
  for (const [n, byMethod] of Object.entries(results)) {
    const ref = byMethod['ip -batch (one file)'];
    console.log(`N = ${n} veth attachments (create: pair + MTU + MAC + alias + group + master + up, peer up + address; observe: links + addresses + routes; teardown)\n`);
    console.log(markdownTable(
      ['method', 'create', 'vs ip -batch', 'observe', 'teardown'],
      Object.entries(byMethod).map(([name, t]) => [
        name, ms(t.createMs), ratio(t.createMs, ref?.createMs ?? null), ms(t.observeMs), ms(t.teardownMs),
      ]),
    ));
    console.log('');
  }
  console.log(`Observing ${observe.links} links (links + addresses + routes + neighbours), median of ${args.repeats}:\n`);
  console.log(markdownTable(['method', 'observe'], [
    ['hostnet over netlink (one dump per kind)', ms(observe.netlinkMs)],
    ['ip -j link/addr/route (3 processes)', ms(observe.ipJsonMs)],
  ]));
  console.log(`\nGoals (N = ${biggest}):`);
  console.log(goal('netlink create vs ip -batch', goals.createVsIpBatch, 1.25, 'x'));
  console.log(goal(`observe ${observe.links} links`, goals.observe2000LinksMs, 50, 'ms'));
  console.log(goal(`teardown of ${biggest} attachments`, goals.teardownMs, 1000, 'ms'));
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(() => deleteAllBenchNetns());
