// hostnetctl's connection to the agent: the generated client over the unix socket, calls as
// promises with a deadline, and gRPC errors as one clear message.
import * as grpc from '@grpc/grpc-js';
import { NodeAgentClient } from '../api/gen/hostnet/v1/agent.js';

export const CALL_TIMEOUT_MS = 30_000;

export class CliError extends Error {
  override readonly name = 'CliError';
}

export function connect(socketPath: string): NodeAgentClient {
  return new NodeAgentClient(`unix://${socketPath}`, grpc.credentials.createInsecure());
}

type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, options: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;

/** Calls a unary method; errors become CliErrors that say what the agent refused and why. */
export function call<Req, Res>(client: NodeAgentClient, method: Unary<Req, Res>, req: Req, socketPath: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, new grpc.Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, res) => {
      if (err) reject(explain(err, socketPath));
      else resolve(res);
    });
  });
}

export function explain(err: grpc.ServiceError, socketPath: string): CliError {
  const code = grpc.status[err.code] ?? String(err.code);
  if (err.code === grpc.status.UNAVAILABLE) {
    const denied = /EACCES|EPERM/.test(err.details) ? ' (permission denied: run as root or as a member of the socket\'s group)' : '';
    return new CliError(`cannot reach the agent at ${socketPath}${denied}: ${err.details}`);
  }
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return new CliError(`the agent at ${socketPath} did not answer within ${CALL_TIMEOUT_MS / 1000} s`);
  return new CliError(`${code}: ${err.details}`);
}
