// A Cni call with the patience a runtime expects: while the agent cannot be reached (it is
// restarting: no socket, nobody accepting, the connection dropped mid-call) or answers
// UNAVAILABLE (shutting down), the call is retried for a short while (every Cni call is
// idempotent), then given up as "try again later".
import { GRPC, unary, type UnaryOutcome } from './grpc-unary.js';

export interface CallOptions {
  /** How long to keep trying while the agent is unreachable. */
  retryForMs: number;
  /** Deadline of each attempt. */
  timeoutMs: number;
  /** Asked once the agent proved unreachable: true ends the wait at once (nothing to do). */
  giveUpEarly?: () => Promise<boolean>;
}

export const RETRY_FOR_MS = 3000;
/** An ADD waits for the reconcile pass that configures it; 100 at once queue behind each other. */
export const CALL_TIMEOUT_MS = 120_000;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function retryable(o: UnaryOutcome): boolean {
  return o.kind === 'unreachable' || (o.kind === 'status' && o.code === GRPC.UNAVAILABLE);
}

export async function callAgent(socket: string, method: string, request: Uint8Array, opts: CallOptions): Promise<UnaryOutcome> {
  const until = Date.now() + opts.retryForMs;
  let wait = 50;
  let asked = false;
  for (;;) {
    const o = await unary(socket, method, request, opts.timeoutMs);
    if (!retryable(o) || Date.now() >= until) return o;
    if (opts.giveUpEarly && !asked) {
      asked = true;
      if (await opts.giveUpEarly()) return o;
    }
    // The last attempt falls at the end of the window.
    await pause(Math.min(wait, Math.max(0, until - Date.now())));
    wait = Math.min(wait * 2, 400);
  }
}
