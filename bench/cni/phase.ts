// One measured phase: N fresh pod namespaces, N ADDs (one after another, or all at once), the
// results checked against what the pods actually hold, then N DELs, then nothing may be left
// on the host side. The invocations are made by runner-main.ts inside the family's host
// namespace; only the plugins' spawn -> exit is timed, never namespace creation or checks.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { execa } from 'execa';
import type { PluginRun } from '../../agent/testing/cni-runtime.js';
import { ipJson } from '../../dataplane/testing/ip.js';
import type { BatchResult, Job, Mode, RunSpec } from './batch.js';
import { createPods, deleteNetns, eachLimited, netnsPath } from './netns.js';
import { latency, type Latency } from './stats.js';

const RUNNER_JS = path.join(import.meta.dirname, 'runner-main.js');
export const IF_NAME = 'eth0';

type Json = Record<string, unknown>;
type Outcome = PluginRun;

/**
 * The environment the runtime (the runner process) has and passes on to every plugin, as libcni
 * does: 'runtime' is this benchmark's own; 'clean' is PATH alone, like a runtime started by
 * systemd. It matters for Node: NODE_EXTRA_CA_CERTS, for one, makes every start read and parse
 * a CA bundle.
 */
export type Env = 'runtime' | 'clean';

/** A plugin as a runtime is configured to call it. */
export interface Family {
  /** Short word for namespace labels and container ids. */
  key: string;
  /** The namespace the runtime (and so the plugin) runs in: the node's host namespace. */
  hostNs: string;
  /** The plugin's type, found in cniPath. */
  type: string;
  cniPath: string[];
  /** The network configuration as the runtime hands it over. */
  config: Json;
  /** Host-side objects still there after every pod's DEL (should be none). */
  leftovers(): Promise<string[]>;
}

export interface PhaseResult {
  add: Latency;
  del: Latency;
}

/** Runs one job in a runner process inside `netns` whose environment is `env`. */
export async function runJob(netns: string, job: Job, env: Env): Promise<BatchResult> {
  const r = await execa('ip', ['netns', 'exec', netns, process.execPath, RUNNER_JS], {
    input: JSON.stringify(job), reject: false, timeout: 15 * 60_000, maxBuffer: 256 * 2 ** 20,
    ...(env === 'clean' ? { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, extendEnv: false } : {}),
  });
  if (r.exitCode !== 0) throw new Error(`bench/cni runner in ${netns} (${job.mode}, ${job.runs.length} runs): exit ${String(r.exitCode)}${r.timedOut ? ' (timed out)' : ''}: ${r.stderr}`);
  return JSON.parse(r.stdout) as BatchResult;
}

/** A container id as runtimes make them: 64 hex digits. */
export const containerId = (words: string): string => createHash('sha256').update(words).digest('hex');

function failures(what: string, outcomes: Outcome[], bad: (o: Outcome) => string | null): void {
  const problems = outcomes.map((o, i) => ({ i, why: bad(o) })).filter((p) => p.why !== null);
  if (problems.length === 0) return;
  const first = problems.slice(0, 3).map((p) => `  pod ${p.i}: ${p.why}`).join('\n');
  throw new Error(`${what}: ${problems.length} of ${outcomes.length} failed, e.g.\n${first}`);
}

const describe = (o: Outcome): string => `exit ${o.code} after ${o.ms.toFixed(0)} ms; stdout ${o.stdout.trim().slice(0, 400) || '(empty)'}; stderr ${o.stderr.trim().slice(0, 400) || '(empty)'}`;

/** The first IPv4 address of an ADD result ("10.88.0.2/16"), or why there is none. */
function resultAddress(o: Outcome): { address: string } | { error: string } {
  if (o.code !== 0) return { error: describe(o) };
  try {
    const r = JSON.parse(o.stdout) as { ips?: { address?: string }[] };
    const address = r.ips?.find((x) => x.address?.includes('.'))?.address;
    return address ? { address } : { error: `no IPv4 address in the result: ${o.stdout.slice(0, 400)}` };
  } catch (err) {
    return { error: `result is not JSON (${(err as Error).message}): ${describe(o)}` };
  }
}

export async function podAddresses(pod: string): Promise<string[] | null> {
  const links = await ipJson(pod, 'addr', 'show');
  const eth = links.find((l) => l['ifname'] === IF_NAME);
  if (!eth) return null;
  const infos = Array.isArray(eth['addr_info']) ? (eth['addr_info'] as Record<string, unknown>[]) : [];
  return infos.filter((a) => a['family'] === 'inet').map((a) => `${String(a['local'])}/${String(a['prefixlen'])}`);
}

export async function measurePhase(f: Family, mode: Mode, n: number, round: string, env: Env): Promise<PhaseResult> {
  const pods = await createPods(`${f.key}${mode === 'parallel' ? 'p' : 's'}`, n);
  try {
    const ids = pods.map((_, i) => containerId(`hbc ${process.pid} ${f.key} ${round} ${mode} ${i}`));
    // CNI_ARGS as kubelet's runtimes spell it for a pod.
    const job = (command: 'ADD' | 'DEL'): Job => ({
      mode,
      runs: pods.map((pod, i): RunSpec => ({
        type: f.type, cniPath: f.cniPath, command, config: f.config, timeoutMs: 60_000,
        attachment: {
          containerId: ids[i]!, netns: netnsPath(pod), ifName: IF_NAME,
          args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-${i};K8S_POD_INFRA_CONTAINER_ID=${ids[i]!}`,
        },
      })),
    });

    const added = await runJob(f.hostNs, job('ADD'), env);
    const addresses = added.outcomes.map(resultAddress);
    failures(`${f.key} ${mode} ADD`, added.outcomes, (o) => {
      const a = resultAddress(o);
      return 'error' in a ? a.error : null;
    });
    const got = addresses.map((a) => ('address' in a ? a.address : ''));
    const dup = got.find((a, i) => got.indexOf(a) !== i);
    if (dup) throw new Error(`${f.key} ${mode} ADD: address ${dup} handed to two pods`);
    // What the results claim is what the pods hold.
    await eachLimited(pods.map((_, i) => i), 8, async (i) => {
      const held = await podAddresses(pods[i]!);
      if (held === null) throw new Error(`${f.key} ${mode} ADD: pod ${pods[i]} has no ${IF_NAME} after a successful ADD`);
      if (!held.includes(got[i]!)) throw new Error(`${f.key} ${mode} ADD: pod ${pods[i]} holds [${held.join(', ')}], the result said ${got[i]}`);
    });

    const deleted = await runJob(f.hostNs, job('DEL'), env);
    failures(`${f.key} ${mode} DEL`, deleted.outcomes, (o) => (o.code === 0 ? null : describe(o)));
    await eachLimited(pods.map((_, i) => i), 8, async (i) => {
      if ((await podAddresses(pods[i]!)) !== null) throw new Error(`${f.key} ${mode} DEL: pod ${pods[i]} still has ${IF_NAME}`);
    });
    const left = await f.leftovers();
    if (left.length > 0) throw new Error(`${f.key} ${mode} DEL: left behind on the host side: ${left.join(', ')}`);

    return {
      add: latency(added.outcomes.map((o) => o.ms), added.wallMs),
      del: latency(deleted.outcomes.map((o) => o.ms), deleted.wallMs),
    };
  } finally {
    await eachLimited(pods.filter((p) => p !== undefined), 8, (p) => deleteNetns(p));
  }
}

/**
 * A process that does no CNI work at all (the floor): N starts of `type` (an executable in
 * `cniPath`), exec'd and timed exactly like the plugins.
 */
export async function measureFloor(netns: string, type: string, cniPath: string[], mode: Mode, n: number, env: Env): Promise<Latency> {
  const r = await runJob(netns, {
    mode,
    runs: Array.from({ length: n }, (): RunSpec => ({ type, cniPath, command: 'VERSION', config: { cniVersion: '1.1.0' }, timeoutMs: 60_000 })),
  }, env);
  failures(`floor ${type} ${mode}`, r.outcomes, (o) => (o.code === 0 ? null : describe(o)));
  return latency(r.outcomes.map((o) => o.ms), r.wallMs);
}

/** Every interface name in `netns`. */
export async function linksIn(netns: string): Promise<string[]> {
  return (await ipJson(netns, 'link', 'show')).map((l) => String(l['ifname']));
}
