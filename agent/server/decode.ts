// Request decoding that answers INVALID_ARGUMENT instead of INTERNAL. grpc-js turns a throwing
// deserializer into INTERNAL "Error deserializing request", naming nothing; the one value
// well-formed protobuf can carry that the generated decoder refuses is a uint64 above 2^53-1
// (ts-proto forceLong=number). A request that fails to decode is handed on with the problem
// attached, and the handler refuses it naming the field.
import type * as grpc from '@grpc/grpc-js';
import { clip } from '../api/echo.js';
import type { Violation } from '../desired/validate.js';

const DECODE_PROBLEM = Symbol('hostnet.decodeProblem');

/** The uint64 field of each method's request (the field a too-large value must be in). */
const UINT64_FIELD: Readonly<Record<string, string>> = {
  apply: 'state.generation',
  upsertNetwork: 'expectedGeneration',
  deleteNetwork: 'expectedGeneration',
  upsertAttachment: 'expectedGeneration',
  deleteAttachment: 'expectedGeneration',
};

function problemOf(method: string, err: unknown): Violation {
  const message = err instanceof Error ? err.message : String(err);
  const field = UINT64_FIELD[method];
  if (field && /MAX_SAFE_INTEGER|MIN_SAFE_INTEGER/.test(message)) {
    return { path: field, rule: 'uint64-range', message: `expected an integer 0..${Number.MAX_SAFE_INTEGER}, got a larger value` };
  }
  return { path: '(request)', rule: 'wire-format', message: `the ${method} request could not be decoded: ${clip(message, 200)}` };
}

/** `service` with each request deserializer made total (see decodeProblem). */
export function tolerantDecoding<S extends grpc.ServiceDefinition>(service: S): S {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, def] of Object.entries(service)) {
    out[method] = {
      ...def,
      requestDeserialize: (buf: Buffer): unknown => {
        try {
          return def.requestDeserialize(buf);
        } catch (err) {
          return { [DECODE_PROBLEM]: problemOf(method, err) };
        }
      },
    };
  }
  return out as S;
}

/** The problem that kept `request` from decoding, if any. */
export function decodeProblem(request: unknown): Violation | undefined {
  return typeof request === 'object' && request !== null ? (request as { [DECODE_PROBLEM]?: Violation })[DECODE_PROBLEM] : undefined;
}
