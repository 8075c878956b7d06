// bench/cni: CNI ADD and DEL latency as a container runtime sees it (the plugin spawned with
// CNI_* in its environment and the configuration on stdin, timed until it exits), for N pods one
// after another and N pods at once, each pod a fresh network namespace: hostnet-cni with the real
// agent process, Debian's bridge + host-local in the same run, and the start-up of Node itself
// as the floor under any plugin written for Node. Run as root after `npm run build`.
//   node dist/bench/cni/main.js [--pods 100] [--without-hostnet] [--json]
import { cpus, loadavg } from 'node:os';
import { killAll } from '../../agent/testing/launch.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { markdownTable, ms } from '../lib/table.js';
import type { Mode } from './batch.js';
import { openHostnet, type Hostnet } from './hostnet.js';
import { createNetns, deleteAllNetns } from './netns.js';
import { FLOOR_EMPTY, FLOOR_GRPC, openFloor } from './floor.js';
import { measureFloor, measurePhase, type Env, type PhaseResult } from './phase.js';
import { measureAgentRpc } from './rpc.js';
import { openReference, type Reference } from './reference.js';
import type { Latency } from './stats.js';
import { runMain } from '../lib/run-main.js';

interface Args {
  pods: number;
  withHostnet: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { pods: 100, withHostnet: true, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--without-hostnet') args.withHostnet = false;
    else if (a === '--pods') args.pods = Number(argv[++i]);
    else throw new Error(`bench/cni: unknown argument "${a}" (use --pods 100 --without-hostnet --json)`);
  }
  if (!Number.isInteger(args.pods) || args.pods < 2 || args.pods > 1000) throw new Error('bench/cni: --pods takes an integer from 2 to 1000');
  return args;
}

const GOAL = { p50: 50, p99: 200 };
const MODES: Mode[] = ['sequential', 'parallel'];
/** The runtime's environment, passed on to the plugins (see Env). */
const ENVS: Env[] = ['runtime', 'clean'];

interface Figures {
  pods: number;
  /** 1-minute load average when the run started and ended (a busy machine shows in the figures). */
  load: { start: number; end: number };
  referenceVersion: string;
  /** Variables in the runtime's environment that change how Node starts (NODE_*, UV_*). */
  nodeEnv: Record<string, string>;
  floor: Record<Mode, Record<Env, { node: Latency; nodeGrpc: Latency }>>;
  reference: Record<Mode, PhaseResult>;
  hostnet: Record<Mode, Record<Env, PhaseResult>> | null;
  /** hostnet-cni answering VERSION: its own start-up (modules loaded, no agent call). */
  pluginVersion: Record<Mode, Record<Env, Latency>> | null;
  /** The agent's Cni.Add / Cni.Del alone, from a connected client. */
  agentRpc: Record<Mode, PhaseResult> | null;
}

async function run(args: Args, log: (m: string) => void): Promise<Figures> {
  const loadStart = loadavg()[0]!;
  const hostNs = await createNetns('host');
  const nodeEnv = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => /^(NODE_|UV_)/.test(k) && v !== undefined && v !== '')) as Record<string, string>;

  // The floor: a process that starts and exits, spawned by the same runner as the plugins.
  const floor = {} as Figures['floor'];
  const fl = await openFloor();
  try {
    for (const mode of MODES) {
      floor[mode] = {} as Record<Env, { node: Latency; nodeGrpc: Latency }>;
      for (const env of ENVS) {
        log(`floor: node with an empty script, and importing @grpc/grpc-js, ${args.pods} ${mode}, ${env} environment`);
        floor[mode][env] = {
          node: await measureFloor(hostNs, FLOOR_EMPTY, fl.cniPath, mode, args.pods, env),
          nodeGrpc: await measureFloor(hostNs, FLOOR_GRPC, fl.cniPath, mode, args.pods, env),
        };
      }
    }
  } finally {
    await fl.close();
  }

  let ref: Reference | null = null;
  const reference = {} as Figures['reference'];
  let referenceVersion: string;
  try {
    ref = await openReference(hostNs);
    referenceVersion = ref.version;
    log(`bridge + host-local ${ref.version}: one warm-up pod`);
    await measurePhase(ref.family, 'sequential', 1, 'warm-up', 'runtime');
    for (const mode of MODES) {
      log(`bridge + host-local: ${args.pods} pods ${mode}`);
      reference[mode] = await measurePhase(ref.family, mode, args.pods, 'run', 'runtime');
    }
  } finally {
    await ref?.close();
  }

  let hostnet: Figures['hostnet'] = null;
  let agentRpc: Figures['agentRpc'] = null;
  let pluginVersion: Figures['pluginVersion'] = null;
  if (args.withHostnet) {
    const agentNs = await createNetns('agent');
    let hn: Hostnet | null = null;
    try {
      log(`hostnet-agent in ${agentNs}`);
      hn = await openHostnet(agentNs);
      log('hostnet-cni: one warm-up pod');
      await measurePhase(hn.family, 'sequential', 1, 'warm-up', 'runtime');
      const h = {} as Record<Mode, Record<Env, PhaseResult>>;
      for (const mode of MODES) {
        h[mode] = {} as Record<Env, PhaseResult>;
        for (const env of ENVS) {
          log(`hostnet-cni: ${args.pods} pods ${mode}, ${env} environment`);
          h[mode][env] = await measurePhase(hn.family, mode, args.pods, `run-${env}`, env);
        }
      }
      hostnet = h;
      const v = {} as Record<Mode, Record<Env, Latency>>;
      for (const mode of MODES) {
        v[mode] = {} as Record<Env, Latency>;
        for (const env of ENVS) {
          log(`hostnet-cni VERSION, ${args.pods} ${mode}, ${env} environment`);
          v[mode][env] = await measureFloor(agentNs, hn.family.type, hn.family.cniPath, mode, args.pods, env);
        }
      }
      pluginVersion = v;
      const r = {} as Record<Mode, PhaseResult>;
      for (const mode of MODES) {
        log(`hostnet-agent: Cni.Add and Cni.Del alone, ${args.pods} pods ${mode}`);
        r[mode] = await measureAgentRpc(hn.socket, hn.family, mode, args.pods, 'run');
      }
      agentRpc = r;
    } catch (err) {
      if (hn) process.stderr.write(`bench/cni: the agent's last output:\n${hn.agent.logs().slice(-3000)}\n`);
      throw err;
    } finally {
      await hn?.close();
    }
  }
  return { pods: args.pods, load: { start: loadStart, end: loadavg()[0]! }, referenceVersion, nodeEnv, floor, reference, hostnet, pluginVersion, agentRpc };
}

const three = (l: Latency | undefined): string[] => (l ? [ms(l.p50), ms(l.p99), ms(l.max)] : ['-', '-', '-']);
const wall = (l: Latency | undefined): string => (l ? ms(l.wallMs) : '-');
const held = (met: boolean): string => (met ? 'met' : 'MISSED');

function print(f: Figures, header: string): void {
  const nodeEnv = Object.entries(f.nodeEnv).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
  console.log(header);
  console.log([
    `${f.pods} pods one after another, then ${f.pods} at once; every pod a fresh network namespace. Each plugin is found by type`,
    'in CNI_PATH and exec\'d as a runtime does (CNI_* env, configuration on stdin; agent/testing/cni-runtime.ts) by one',
    'runner process in the node\'s host namespace, and timed from spawn to exit. p99 is the',
    `${Math.ceil(0.99 * f.pods)}th of ${f.pods} (nearest rank). One warm-up pod per plugin is not counted. Every ADD result is checked`,
    'against the address the pod holds, every DEL against the pod and the host side (nothing left).',
    'Floor rows: an empty Node script exec\'d the same way (#!/usr/bin/env node, ES module: node -e 0 plus the env',
    'exec), and one that imports @grpc/grpc-js (what that library alone adds). "runtime env": the runner has',
    'this benchmark\'s environment and passes it on, as libcni does (os.Environ() + CNI_*); "clean env": PATH alone,',
    `as a runtime started by systemd would. Node start-up variables in the runtime env here: ${nodeEnv}.`,
    'Agent alone: the same Cni.Add/Del from a gRPC client already connected to the agent (no plugin process).',
    `1-minute load average at the start / end of the run: ${f.load.start.toFixed(1)} / ${f.load.end.toFixed(1)} (${cpus().length} cores).`,
  ].join('\n') + '\n');
  const hn = (e: Env): string => `hostnet-cni + hostnet-agent, ${e} env`;
  const br = `bridge + host-local (Debian ${f.referenceVersion}, Go)`;
  const rows: string[][] = [];
  for (const mode of MODES) {
    for (const env of ENVS) {
      rows.push([`floor: node, empty script, ${env} env`, mode, ...three(f.floor[mode][env].node), '-', '-', '-', wall(f.floor[mode][env].node)]);
    }
    for (const env of ENVS) {
      rows.push([`floor: node importing @grpc/grpc-js, ${env} env`, mode, ...three(f.floor[mode][env].nodeGrpc), '-', '-', '-', wall(f.floor[mode][env].nodeGrpc)]);
    }
    rows.push([br, mode, ...three(f.reference[mode].add), ...three(f.reference[mode].del), wall(f.reference[mode].add)]);
    for (const env of ENVS) {
      const h = f.hostnet?.[mode][env];
      rows.push([hn(env), mode, ...(h ? [...three(h.add), ...three(h.del), wall(h.add)] : ['not run', '-', '-', '-', '-', '-', '-'])]);
    }
    for (const env of ENVS) {
      const v = f.pluginVersion?.[mode][env];
      rows.push([`hostnet-cni VERSION (start-up; no agent call, ADD's modules not loaded), ${env} env`, mode, ...(v ? [...three(v), '-', '-', '-', wall(v)] : ['not run', '-', '-', '-', '-', '-', '-'])]);
    }
    const r = f.agentRpc?.[mode];
    rows.push(['hostnet-agent alone: Cni.Add / Cni.Del RPC', mode, ...(r ? [...three(r.add), ...three(r.del), wall(r.add)] : ['not run', '-', '-', '-', '-', '-', '-'])]);
  }
  console.log(markdownTable(['plugin', 'pods', 'ADD p50', 'ADD p99', 'ADD max', 'DEL p50', 'DEL p99', 'DEL max', `all ${f.pods} ADDs`], rows));

  // The goals, for hostnet-cni; the same bar held against the floor and the reference
  // shows which misses no plugin started by Node could avoid.
  console.log(`\nGoals of the issue for ADD: p50 < ${GOAL.p50} ms, p99 < ${GOAL.p99} ms.\n`);
  const goalRows: string[][] = [];
  for (const mode of MODES) {
    for (const [q, limit] of [['p50', GOAL.p50], ['p99', GOAL.p99]] as const) {
      const cell = (l: Latency | undefined): string => (l ? `${ms(l[q])} ${held(l[q] < limit)}` : 'not run');
      goalRows.push([
        `ADD ${q} < ${limit} ms, ${mode}`,
        cell(f.hostnet?.[mode].runtime.add),
        cell(f.hostnet?.[mode].clean.add),
        cell(f.floor[mode].runtime.node),
        cell(f.floor[mode].clean.node),
        cell(f.reference[mode].add),
      ]);
    }
  }
  console.log(markdownTable(['goal', 'hostnet-cni, runtime env', 'hostnet-cni, clean env', 'node floor, runtime env', 'node floor, clean env', 'bridge + host-local'], goalRows));
  if (f.hostnet) {
    for (const [col, e] of [[1, 'runtime'], [2, 'clean']] as const) {
      const missed = goalRows.filter((r) => r[col]!.endsWith('MISSED')).map((r) => r[0]);
      console.log(missed.length === 0 ? `hostnet-cni, ${e} env: every goal met in this run.` : `hostnet-cni, ${e} env: missed ${missed.join('; ')}.`);
    }
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('bench/cni: run as root (it makes network namespaces)');
  const machine = machineInfo();
  const log = (m: string): void => {
    if (!args.json) process.stderr.write(`bench/cni: ${m}\n`);
  };
  const f = await run(args, log);
  if (args.json) console.log(JSON.stringify({ machine, figures: f }, null, 2));
  else print(f, `bench/cni: ${describeMachine(machine)}`);
}

runMain(main, async () => {
  await killAll();
  await deleteAllNetns();
});
