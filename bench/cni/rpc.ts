// The agent's share of an ADD: the same Cni.Add and Cni.Del a plugin sends, from a gRPC client
// already connected to the agent's socket (no process start, no module loading, no connect),
// timed per call for N fresh pods, one after another and all at once. The plugin rows minus
// these are what starting the plugin costs.
import * as grpc from '@grpc/grpc-js';
import { CniClient, type CniAddRequest, type CniAddResponse, type CniDelRequest, type CniDelResponse } from '../../agent/api/gen/hostnet/v1/cni.js';
import type { Mode } from './batch.js';
import { createPods, deleteNetns, eachLimited, netnsPath } from './netns.js';
import { containerId, IF_NAME, podAddresses, type Family, type PhaseResult } from './phase.js';
import { latency } from './stats.js';

type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, options: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;

function call<Req, Res>(client: CniClient, method: Unary<Req, Res>, op: string, req: Req): Promise<{ res: Res; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => method.call(client, req, new grpc.Metadata(), { deadline: Date.now() + 60_000 }, (err, res) =>
    err ? reject(new Error(`${op}: ${err.message}`)) : resolve({ res, ms: performance.now() - t0 })));
}

async function batch<T>(mode: Mode, n: number, one: (i: number) => Promise<T>): Promise<{ out: T[]; wallMs: number }> {
  const t0 = performance.now();
  const out: T[] = [];
  if (mode === 'parallel') out.push(...(await Promise.all(Array.from({ length: n }, (_, i) => one(i)))));
  else for (let i = 0; i < n; i++) out.push(await one(i));
  return { out, wallMs: performance.now() - t0 };
}

export async function measureAgentRpc(socket: string, f: Family, mode: Mode, n: number, round: string): Promise<PhaseResult> {
  const client = new CniClient(`unix://${socket}`, grpc.credentials.createInsecure());
  const pods = await createPods(`rpc${mode === 'parallel' ? 'p' : 's'}`, n);
  try {
    // Connected before anything is timed: a Status call.
    await new Promise<void>((resolve, reject) => client.status({ network: 'web' }, (err) => (err ? reject(new Error(`Cni.Status: ${err.message}`)) : resolve())));
    const ids = pods.map((_, i) => containerId(`hbc ${process.pid} rpc ${round} ${mode} ${i}`));
    const network = String(f.config.network);
    const added = await batch(mode, n, (i) => call<CniAddRequest, CniAddResponse>(client, client.add, `Cni.Add of pod ${i}`, {
      ref: { containerId: ids[i]!, ifName: IF_NAME }, netns: netnsPath(pods[i]!), network, cniNetwork: String(f.config.name), ips: [], mac: '',
    }));
    await eachLimited(pods.map((_, i) => i), 8, async (i) => {
      const a = added.out[i]!.res.attachment?.addresses[0];
      const want = a ? `${a.ip}/${a.prefixLength}` : '(none)';
      const held = await podAddresses(pods[i]!);
      if (!held?.includes(want)) throw new Error(`Cni.Add ${mode}: pod ${pods[i]} holds [${held?.join(', ') ?? `no ${IF_NAME}`}], the answer said ${want}`);
    });
    const deleted = await batch(mode, n, (i) => call<CniDelRequest, CniDelResponse>(client, client.del, `Cni.Del of pod ${i}`, {
      ref: { containerId: ids[i]!, ifName: IF_NAME }, network,
    }));
    const notRemoved = deleted.out.filter((d) => !d.res.removed).length;
    if (notRemoved > 0) throw new Error(`Cni.Del ${mode}: ${notRemoved} of ${n} answered removed=false`);
    const left = await f.leftovers();
    if (left.length > 0) throw new Error(`Cni.Del ${mode}: left behind on the host side: ${left.join(', ')}`);
    return { add: latency(added.out.map((x) => x.ms), added.wallMs), del: latency(deleted.out.map((x) => x.ms), deleted.wallMs) };
  } finally {
    client.close();
    await eachLimited(pods.filter((p) => p !== undefined), 8, (p) => deleteNetns(p));
  }
}
