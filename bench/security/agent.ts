// The real agent process for bench/security, driven over gRPC: Apply timed from outside, the
// agent's own pass durations read from its debug log, SIGHUP refresh passes.
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NodeAgentClient, type GetStatusResponse } from '../../agent/api/gen/hostnet/v1/agent.js';
import type { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { spawnAgent, stopAgent, waitForLog, type Agent } from '../../agent/testing/launch.js';

type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, options: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;

function rpc<Req, Res>(client: NodeAgentClient, method: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, req, new grpc.Metadata(), { deadline: Date.now() + 120_000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

export type LogLine = Record<string, unknown>;

/** Monotonic clock in ms (CLOCK_MONOTONIC, the clock the probes stamp their packets with). */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export class AgentSession {
  private constructor(
    readonly agent: Agent,
    private readonly client: NodeAgentClient,
    private readonly dir: string,
  ) {}

  static async start(netns: string): Promise<AgentSession> {
    const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-bench-security-'));
    const socket = path.join(dir, 'agent.sock');
    const agent = spawnAgent(netns, socket, path.join(dir, 'state'));
    try {
      await waitForLog(agent, '"converged after start"', 0, 30_000);
    } catch (err) {
      await stopAgent(agent).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const client = new NodeAgentClient(`unix://${socket}`, grpc.credentials.createInsecure());
    const s = new AgentSession(agent, client, dir);
    await s.status(); // connect before anything is timed
    return s;
  }

  status(): Promise<GetStatusResponse> {
    return rpc(this.client, this.client.getStatus, {});
  }

  /** Apply; resolves when its pass is done (the RPC returns after it). Returns the RPC's ms. */
  async apply(state: DesiredState): Promise<number> {
    const t0 = nowMs();
    try {
      await rpc(this.client, this.client.apply, { state, dryRun: false });
    } catch (err) {
      throw new Error(`Apply of generation ${state.generation}: ${(err as Error).message}`);
    }
    return nowMs() - t0;
  }

  /** Where the log stands now (pass lines after this offset belong to what follows). */
  mark(): number {
    return this.agent.logs().length;
  }

  /** The agent's pino lines logged after `from`. */
  lines(from: number): LogLine[] {
    const out: LogLine[] = [];
    for (const line of this.agent.logs().slice(from).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as LogLine);
      } catch {
        // a partial line
      }
    }
    return out;
  }

  /** The first 'pass' debug line after `from` with this trigger (and generation), or null. */
  pass(from: number, trigger: string, generation?: number): LogLine | null {
    return this.lines(from).find((l) => l.msg === 'pass' && l.trigger === trigger && (generation === undefined || l.generation === generation)) ?? null;
  }

  /** A SIGHUP (full refresh) pass: the agent's own duration of it, ms. */
  async sighupPass(): Promise<{ ms: number; actions: number }> {
    const from = this.mark();
    process.kill(this.agent.pid, 'SIGHUP');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const p = this.pass(from, 'SIGHUP');
      if (p) return { ms: Number(p.durationMs), actions: Number(p.actions) };
      if (Date.now() > deadline) throw new Error(`SIGHUP: no pass logged within 60 s:\n${this.agent.logs().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Warnings and errors the agent logged after `from` (pino levels 40 and up). */
  problems(from: number): string[] {
    return this.lines(from).filter((l) => Number(l.level) >= 40).map((l) => `${String(l.msg)}: ${JSON.stringify(l)}`);
  }

  async close(): Promise<void> {
    this.client.close();
    await stopAgent(this.agent).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
