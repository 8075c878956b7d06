// One unary gRPC call over the agent's unix socket with node:http2 (built into Node), instead of
// @grpc/grpc-js: loading grpc-js costs a short-lived plugin ~30 ms of every ADD (measured: see
// the report in the commit that added this). The framing is gRPC's: a 5-byte prefix (compressed
// flag, big-endian length) per message, the status in grpc-status/grpc-message, in the trailers
// or, for an answer without a body, in the headers ("trailers-only").
import http2 from 'node:http2';
import net from 'node:net';

export type UnaryOutcome =
  | { kind: 'ok'; body: Uint8Array }
  /** The agent answered with a gRPC status other than OK. */
  | { kind: 'status'; code: number; message: string }
  /**
   * No answer: nobody listens (ENOENT, ECONNREFUSED), or the connection broke before a status
   * came (the agent stopped mid-call). Worth retrying: every Cni call is idempotent.
   */
  | { kind: 'unreachable'; cause: string; errno: string }
  /** Not worth retrying: EACCES on the socket, or an answer that is not gRPC. */
  | { kind: 'failed'; cause: string; errno: string };

export const GRPC = { OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/** grpc-message is percent-encoded (gRPC over HTTP/2, "Responses"). */
export function decodeGrpcMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The one message of a unary answer, from the concatenated DATA frames. */
export function unframe(data: Buffer): Uint8Array | string {
  if (data.length < 5) return `answer of ${data.length} bytes, shorter than a gRPC message prefix`;
  if (data[0] !== 0) return 'compressed answer (none was offered)';
  const len = data.readUInt32BE(1);
  if (data.length !== 5 + len) return `answer of ${data.length} bytes for a message of ${len}`;
  return data.subarray(5);
}

export function frame(body: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

const RETRYABLE_ERRNO = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ERR_HTTP2_STREAM_ERROR', 'ERR_HTTP2_SESSION_ERROR', 'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_STREAM_CANCEL', 'ERR_HTTP2_INVALID_SESSION']);

/** `/hostnet.v1.Cni/Add` etc. on the socket; never rejects: every failure is an outcome. */
export function unary(socketPath: string, method: string, request: Uint8Array, timeoutMs: number): Promise<UnaryOutcome> {
  return new Promise((resolve) => {
    let done = false;
    let session: http2.ClientHttp2Session | undefined;
    const finish = (o: UnaryOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session?.destroy();
      resolve(o);
    };
    const fromError = (err: Error): UnaryOutcome => {
      // A refused connect surfaces as the pending stream's cancel, with the socket's error as cause.
      const root = err.cause instanceof Error ? err.cause : err;
      const errno = (root as NodeJS.ErrnoException).code ?? (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      const cause = `${method} on ${socketPath}: ${root.message}`;
      return RETRYABLE_ERRNO.has(errno) ? { kind: 'unreachable', cause, errno } : { kind: 'failed', cause, errno };
    };
    const timer = setTimeout(() => finish({ kind: 'status', code: GRPC.DEADLINE_EXCEEDED, message: `${method}: no answer from the agent within ${timeoutMs} ms` }), timeoutMs);
    session = http2.connect('http://localhost', { createConnection: () => net.connect({ path: socketPath }) });
    session.on('error', (err) => finish(fromError(err)));
    const req = session.request({
      ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers',
      'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
    });
    const chunks: Buffer[] = [];
    let headerStatus: { code: number; message: string } | undefined;
    let trailerStatus: { code: number; message: string } | undefined;
    const statusOf = (h: http2.IncomingHttpHeaders): { code: number; message: string } | undefined => {
      const s = h['grpc-status'];
      if (s === undefined) return undefined;
      return { code: Number(s), message: decodeGrpcMessage(String(h['grpc-message'] ?? '')) };
    };
    req.on('response', (h) => {
      headerStatus = statusOf(h);
      if (h[':status'] !== 200) finish({ kind: 'failed', cause: `${method} on ${socketPath}: HTTP status ${h[':status']}, not a gRPC answer`, errno: 'EPROTO' });
    });
    req.on('trailers', (h) => (trailerStatus = statusOf(h)));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', (err) => finish(fromError(err)));
    req.on('close', () => {
      const st = trailerStatus ?? headerStatus;
      if (!st) {
        finish({ kind: 'unreachable', cause: `${method} on ${socketPath}: the connection closed before the agent answered`, errno: 'ECONNRESET' });
        return;
      }
      if (st.code !== GRPC.OK) {
        finish({ kind: 'status', code: st.code, message: st.message });
        return;
      }
      const body = unframe(Buffer.concat(chunks));
      finish(typeof body === 'string' ? { kind: 'failed', cause: `${method}: ${body}`, errno: 'EPROTO' } : { kind: 'ok', body });
    });
    req.end(frame(request));
  });
}
