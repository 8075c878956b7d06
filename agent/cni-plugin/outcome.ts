// An agent's outcome as the spec's error, per command (codes: errors.ts).
import { CNI_ERR, CniError } from './errors.js';
import { GRPC, type UnaryOutcome } from './grpc-unary.js';

export type AgentOp = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(GRPC).map(([k, v]) => [v, k]));

/** The CNI error for anything but OK. STATUS has its own answer (code 50) and is not mapped here. */
export function outcomeError(op: AgentOp, socket: string, o: Exclude<UnaryOutcome, { kind: 'ok' }>): CniError {
  if (o.kind === 'unreachable') {
    return new CniError(CNI_ERR.TRY_AGAIN_LATER, `${op}: the hostnet agent is not reachable on ${socket}`, `${o.cause} (${o.errno}); is hostnet-agent running?`);
  }
  if (o.kind === 'failed') {
    if (o.errno === 'EACCES') return new CniError(CNI_ERR.SOCKET_DENIED, `${op}: permission denied on the hostnet agent's socket ${socket}`, `${o.cause}; the plugin must run as root or in the socket's group`);
    return new CniError(CNI_ERR.BAD_ANSWER, `${op}: the hostnet agent's answer could not be read`, o.cause);
  }
  const what = `${op}: the hostnet agent answered ${NAMES[o.code] ?? `gRPC status ${o.code}`}`;
  switch (o.code) {
    case GRPC.UNAVAILABLE:
    case GRPC.DEADLINE_EXCEEDED:
    case GRPC.ABORTED:
      return new CniError(CNI_ERR.TRY_AGAIN_LATER, `${what}; try again later`, o.message);
    case GRPC.NOT_FOUND:
      return new CniError(CNI_ERR.NETWORK_NOT_FOUND, `${what}: ${o.message}`);
    case GRPC.RESOURCE_EXHAUSTED:
      return new CniError(CNI_ERR.NO_FREE_ADDRESS, `${what}: ${o.message}`);
    case GRPC.INVALID_ARGUMENT:
      return new CniError(CNI_ERR.AGENT_REJECTED, `${what}: ${o.message}`);
    case GRPC.FAILED_PRECONDITION:
      return op === 'CHECK'
        ? new CniError(CNI_ERR.CHECK_MISMATCH, `CHECK failed: ${o.message}`)
        : new CniError(CNI_ERR.NOT_CONFIGURED, `${what}: ${o.message}`);
    default:
      return new CniError(CNI_ERR.AGENT_FAILED, `${what}: ${o.message}`);
  }
}
