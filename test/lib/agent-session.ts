// One real hostnet-agent for an e2e file or describe: a temporary directory holding its socket
// and state, the process (restartable: boot() again after stop() or kill9()), a gRPC client that
// follows restarts, and whole desired states applied through hostnetctl, each file with the next
// generation. The e2e files that start an agent this way shared these lines written out each time.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, expect } from 'vitest';
import type { GetStatusResponse, NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { ConditionStatus, type Condition } from '../../agent/api/gen/hostnet/v1/status.js';
import { agentClient, hostnetctl, rpc, startAgent, type AgentProcess } from './agent-process.js';
import { destroyAllTestNetns, destroyTestNetns } from './netns.js';

export type StateFormat = 'yaml' | 'json';

export class AgentSession {
  dir = '';
  socket = '';
  stateDir = '';
  /** The running agent (null before boot and after close); tests stop or kill it directly. */
  agent: AgentProcess | null = null;
  /** The generation of the last apply (0 before the first). */
  generation = 0;
  private grpc: NodeAgentClient | null = null;
  private lastBoot: { netns: string; extraArgs: string[] } | null = null;

  /**
   * A fresh temporary directory `<tmp>/<prefix>XXXXXX` with the socket at `socketName` inside it
   * and the state in `state/`; the generation starts again at 0.
   */
  async open(prefix: string, socketName = path.join('run', 'agent.sock')): Promise<void> {
    this.dir = await mkdtemp(path.join(tmpdir(), prefix));
    this.socket = path.join(this.dir, socketName);
    this.stateDir = path.join(this.dir, 'state');
    this.generation = 0;
  }

  /** Starts the agent in `netns` (waiting until it converged) and connects a new client. */
  async boot(netns: string, extraArgs: string[] = []): Promise<AgentProcess> {
    if (!this.dir) throw new Error('boot the agent: the session has no directory (open() first)');
    this.lastBoot = { netns, extraArgs };
    this.agent = await startAgent({ netns, socket: this.socket, stateDir: this.stateDir, extraArgs });
    this.grpc?.close();
    this.grpc = agentClient(this.socket);
    return this.agent;
  }

  /** Starts the agent again as the last boot() did (after a stop or a kill -9). */
  reboot(): Promise<AgentProcess> {
    if (!this.lastBoot) throw new Error('reboot the agent: it was never booted');
    return this.boot(this.lastBoot.netns, this.lastBoot.extraArgs);
  }

  get client(): NodeAgentClient {
    if (!this.grpc) throw new Error('call the agent: no client (boot() first)');
    return this.grpc;
  }

  /**
   * Writes `{ generation: next, ...state }` as state-<generation>.<format> and applies it with
   * `hostnetctl apply -f`; the test fails unless hostnetctl exits 0.
   */
  async apply(state: Record<string, unknown>, format: StateFormat = 'yaml'): Promise<void> {
    const s = { generation: this.generation + 1, ...state };
    await this.applyText(format === 'yaml' ? YAML.stringify(s) : JSON.stringify(s), format);
  }

  /** Applies a state written out by the test (its own generation, if any), as the next file. */
  async applyText(text: string, format: StateFormat = 'yaml'): Promise<void> {
    const file = path.join(this.dir, `state-${++this.generation}.${format}`);
    await writeFile(file, text);
    const r = await hostnetctl(this.socket, ['apply', '-f', file]);
    expect(r.exitCode, `${r.stderr}\n${r.stdout}`).toBe(0);
  }

  status(): Promise<GetStatusResponse> {
    return rpc(this.client, this.client.getStatus, {});
  }

  /** The condition `type` of the attachment or network `name` in GetStatus (undefined without it). */
  async condition(kind: 'attachments' | 'networks', name: string, type: string): Promise<Condition | undefined> {
    const s = await this.status();
    return s[kind].find((x) => x.name === name)?.conditions.find((c) => c.type === type);
  }

  /**
   * Whether GetStatus has `attachments` attachments (and `networks` networks when given), and
   * every network and attachment is Ready True.
   */
  async allReady(count: { attachments: number; networks?: number }): Promise<boolean> {
    const s = await this.status();
    const ready = (conds: Condition[]): boolean => conds.find((c) => c.type === 'Ready')?.status === ConditionStatus.CONDITION_STATUS_TRUE;
    return (count.networks === undefined || s.networks.length === count.networks) && s.attachments.length === count.attachments
      && s.networks.every((n) => ready(n.conditions)) && s.attachments.every((a) => ready(a.conditions));
  }

  /** Closes the client and stops the agent (SIGTERM), ignoring an agent already gone. */
  async stop(): Promise<void> {
    this.grpc?.close();
    this.grpc = null;
    if (this.agent) await this.agent.stop().catch(() => undefined);
    this.agent = null;
  }

  /** stop(), then removes the directory. */
  async close(): Promise<void> {
    await this.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

export interface SessionHooks {
  /** The temporary directory's prefix (see open()). */
  dirPrefix: string;
  /** Makes the describe's namespaces, the agent's first, pushing each on `ns` as it comes (a failure half-way still removes them). */
  namespaces: (ns: string[]) => Promise<void>;
  /** The agent's arguments besides its socket and state (it runs in ns[0]). */
  extraArgs?: string[];
  /** After all, before the agent stops: ends the file's own processes (clients, ping loops). */
  stopFirst?: () => Promise<void>;
}

/**
 * The hooks of a describe that runs one agent in namespaces of its own: before all, the
 * namespaces, the directory and the agent; after all (also when a test failed), the file's
 * processes, the agent, the namespaces and the directory, in that order, and then any namespace
 * this process made and has not removed (one made but not yet pushed on `ns`).
 */
export function useAgentSession(session: AgentSession, ns: string[], hooks: SessionHooks): void {
  beforeAll(async () => {
    ns.length = 0;
    await hooks.namespaces(ns);
    await session.open(hooks.dirPrefix);
    await session.boot(ns[0]!, hooks.extraArgs);
  });
  afterAll(async () => {
    await hooks.stopFirst?.();
    await session.stop();
    await Promise.all(ns.map(destroyTestNetns));
    await session.close();
    await destroyAllTestNetns();
  });
}
