// The real hostnet-agent process for end-to-end tests: the compiled dist/agent/main.js,
// started against a test namespace with its own socket and state directory, stopped by pid
// (SIGTERM, or SIGKILL to simulate a crash). Every process started here is killed after the
// file even when a test fails. Also: hostnetctl runs (optionally as another user) and a gRPC
// client.
import * as grpc from '@grpc/grpc-js';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { AGENT_JS, killAll, spawnAgent, waitForLog } from '../../agent/testing/launch.js';

const root = path.resolve(import.meta.dirname, '../..');
export { AGENT_JS };
export const CTL_JS = path.join(root, 'dist/agent/cli/main.js');

/** Compiles the tree (tsc emits even when files others are editing do not type-check). */
export async function buildDist(): Promise<void> {
  await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, reject: false });
  if (!existsSync(AGENT_JS) || !existsSync(CTL_JS)) throw new Error('build failed: dist/agent/main.js or dist/agent/cli/main.js missing');
}

export interface AgentProcess {
  pid: number;
  socket: string;
  stateDir: string;
  /** Everything the agent logged (pino JSON lines) and printed on stderr so far. */
  logs(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | undefined>;
  /** SIGKILL: a crash, nothing cleaned up. */
  kill9(): Promise<void>;
  exited: Promise<unknown>;
}

afterAll(killAll);

/** Starts the agent and waits until it has converged and listens (its "converged" log line). */
export async function startAgent(opts: { netns: string; socket: string; stateDir: string; extraArgs?: string[]; env?: Record<string, string> }): Promise<AgentProcess> {
  const agent = spawnAgent(opts.netns, opts.socket, opts.stateDir, opts.extraArgs, opts.env);
  await waitForLog(agent, '"converged after start"', 0, 20_000);
  const child = agent.child;
  return {
    pid: agent.pid, socket: opts.socket, stateDir: opts.stateDir, exited: child,
    logs: agent.logs,
    stop: async () => {
      child.kill('SIGTERM');
      const r = await child;
      return r.exitCode;
    },
    kill9: async () => {
      child.kill('SIGKILL');
      await child;
    },
  };
}

/** Runs the agent expecting it to refuse to start; its exit code and output. */
export async function runAgentExpectingFailure(args: string[]): Promise<{ exitCode: number | undefined; output: string }> {
  const r = await execa(process.execPath, [AGENT_JS, ...args], { reject: false, all: true, timeout: 20_000 });
  return { exitCode: r.exitCode, output: r.all ?? '' };
}

export interface CtlResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/**
 * hostnetctl --socket SOCKET ARGS, as root. (As another user it could not even load from a
 * checkout that user cannot enter: see socket-probe.ts for tests of who the socket refuses.)
 */
export async function hostnetctl(socket: string, args: string[], opts: { input?: string } = {}): Promise<CtlResult> {
  const r = await execa(process.execPath, [CTL_JS, '--socket', socket, ...args], { reject: false, timeout: 30_000, ...(opts.input ? { input: opts.input } : {}) });
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

export function agentClient(socket: string): NodeAgentClient {
  return new NodeAgentClient(`unix://${socket}`, grpc.credentials.createInsecure());
}

// The generated methods are overloaded; inference takes the last form (with call options).
type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, options: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;

/** A unary call as a promise: resolves with the response, rejects with the ServiceError. */
export function rpc<Req, Res>(client: NodeAgentClient, method: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, req, new grpc.Metadata(), { deadline: Date.now() + 60_000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

/** A unary call expected to fail: the ServiceError. */
export async function rpcError<Req, Res>(client: NodeAgentClient, method: Unary<Req, Res>, req: Req): Promise<grpc.ServiceError> {
  try {
    await rpc(client, method, req);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('the call succeeded, but it was expected to fail');
}
