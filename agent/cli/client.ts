// hostnetctl's connection to the agent: the generated client over the unix socket (or, with
// --server, over TCP with mutual TLS: remote.ts), calls as promises with a deadline, and gRPC
// errors as one clear message naming the agent.
import * as grpc from '@grpc/grpc-js';
import { NodeAgentClient } from '../api/gen/hostnet/v1/agent.js';
import { cpuTicks, socketOwnerPid } from './agent-pid.js';
import { isRemote, parseServer, tlsCause } from './remote.js';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';

/** Deadline of a quick call (a read, a probe). */
export const CALL_TIMEOUT_MS = 30_000;

/**
 * How long a long call (Apply) waits without any sign of life from the agent. A large
 * Apply may take minutes; the CLI waits as long as the agent keeps answering probes, and
 * gives up only when it has not answered for this long. HOSTNETCTL_UNRESPONSIVE_MS overrides
 * it (tests shorten it).
 */
export function unresponsiveMs(): number {
  const v = Number(process.env['HOSTNETCTL_UNRESPONSIVE_MS']);
  return Number.isInteger(v) && v > 0 ? v : 30_000;
}

export class CliError extends Error {
  override readonly name = 'CliError';
  /** 1: refused or failed; 2: applied, but not Ready within --timeout. */
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export function connect(socketPath: string): NodeAgentClient {
  return new NodeAgentClient(`unix://${socketPath}`, grpc.credentials.createInsecure());
}

/** --server HOST:PORT and the client's TLS files. */
export interface RemoteOptions {
  server: string;
  certFile: string;
  keyFile: string;
  caFile: string;
  /** The name the server's certificate must carry, when it is not the host connected to (e.g. connecting by IP). */
  serverName?: string | undefined;
}

/**
 * grpc-js gives the host as the TLS server name even when it is an IP address, and Node warns
 * about that (DEP0123) on stderr at every connection; the certificate is still checked for the
 * IP address. Only that warning is dropped.
 */
function quietIpServername(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const opt = rest[0];
    const code = typeof opt === 'object' && opt !== null ? (opt as { code?: string }).code : rest[1];
    if (code === 'DEP0123') return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

/**
 * A client of the agent at HOST:PORT over mutual TLS. The files are read and checked here, so
 * a wrong path or a key that does not fit its certificate is said before any connection.
 */
export function connectRemote(o: RemoteOptions): NodeAgentClient {
  if (!parseServer(o.server)) throw new CliError(`--server ${o.server}: expected HOST:PORT (e.g. 10.0.0.5:7443 or [fd00::5]:7443)`);
  const read = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new CliError(`${flag} ${file}: ${(err as Error).message}`);
    }
  };
  const [cert, key, ca] = [read('--cert', o.certFile), read('--key', o.keyFile), read('--ca', o.caFile)];
  try {
    createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new CliError(`--cert ${o.certFile}, --key ${o.keyFile}, --ca ${o.caFile}: not usable for TLS: ${(err as Error).message}`);
  }
  if (!o.serverName && isIP(parseServer(o.server)!.host)) quietIpServername();
  const options: grpc.ChannelOptions = o.serverName
    ? { 'grpc.ssl_target_name_override': o.serverName, 'grpc.default_authority': o.serverName } : {};
  return new NodeAgentClient(o.server, grpc.credentials.createSsl(ca, key, cert), options);
}

type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, options: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

/** Calls a unary method; errors become CliErrors that say what the agent refused and why. */
export function call<Req, Res>(client: NodeAgentClient, method: Unary<Req, Res>, req: Req, socketPath: string, timeoutMs = CALL_TIMEOUT_MS): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(explain(err, socketPath, timeoutMs));
      else resolve(res);
    });
  });
}

export interface LongCallProgress {
  /** Milliseconds since the call started. */
  elapsedMs: number;
  generation: number;
  observedGeneration: number;
}

/**
 * Calls a unary method with no overall deadline, as long as the agent makes progress: a
 * GetStatus probe answered, or (when the agent's pid can be found through its socket) its CPU
 * time growing, since a long pass can keep its event loop from answering for seconds (2.2 s
 * for 300 veths, measured). The call is given up only after unresponsiveMs() without either,
 * and then the message says the change may still be applied. `onProgress` sees each probe's answer.
 */
export function callWhileAlive<Req, Res>(
  client: NodeAgentClient, method: Unary<Req, Res>, req: Req, socketPath: string, onProgress?: (p: LongCallProgress) => void,
): Promise<Res> {
  const limit = unresponsiveMs();
  const started = Date.now();
  let lastAnswer = started;
  // A remote agent's CPU time cannot be read: only its answers count.
  const pid = isRemote(socketPath) ? null : socketOwnerPid(socketPath);
  let ticks = pid === null ? null : cpuTicks(pid);
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      fn();
    };
    const pending = method.call(client, req, new grpc.Metadata(), {}, (err, res) => finish(() => (err ? reject(explain(err, socketPath)) : resolve(res))));
    const timer = setInterval(() => {
      const now = pid === null ? null : cpuTicks(pid);
      if (now !== null && ticks !== null && now > ticks) lastAnswer = Date.now();
      ticks = now;
      if (Date.now() - lastAnswer >= limit) {
        finish(() => reject(new CliError(`the agent at ${socketPath} has neither answered nor used any CPU for ${limit / 1000} s; `
          + 'the change may still be applied: check with "hostnetctl get networks" and "hostnetctl get attachments"')));
        pending.cancel();
        return;
      }
      client.getStatus({}, new grpc.Metadata(), { deadline: Date.now() + limit }, (err, s) => {
        if (err || done) return;
        lastAnswer = Date.now();
        onProgress?.({ elapsedMs: lastAnswer - started, generation: s.generation, observedGeneration: s.observedGeneration });
      });
    }, Math.max(50, Math.floor(limit / 6)));
  });
}

/** `where`: the socket path, or remote.ts's name of a TCP agent ("HOST:PORT over mTLS"). */
export function explain(err: grpc.ServiceError, socketPath: string, timeoutMs = CALL_TIMEOUT_MS): CliError {
  const code = grpc.status[err.code] ?? String(err.code);
  if (isRemote(socketPath)) {
    if (err.code === grpc.status.UNAVAILABLE) return new CliError(`cannot reach the agent at ${socketPath}: ${tlsCause(err.details)}`);
    if (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED) {
      return new CliError(`the agent at ${socketPath} refused this client: ${code}: ${err.details}`);
    }
  }
  if (err.code === grpc.status.UNAVAILABLE) {
    const denied = /EACCES|EPERM/.test(err.details) ? ' (permission denied: run as root or as a member of the socket\'s group)' : '';
    return new CliError(`cannot reach the agent at ${socketPath}${denied}: ${err.details}`);
  }
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return new CliError(`the agent at ${socketPath} did not answer within ${timeoutMs / 1000} s`);
  return new CliError(`${code}: ${err.details}`);
}
