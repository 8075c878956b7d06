// Errors as gRPC statuses: what a client sees is one clear status code and message.
import * as grpc from '@grpc/grpc-js';
import { DesiredStateParseError } from '../api/desired-state.js';
import { MutationError } from '../desired/mutate.js';
import { ValidationError } from '../desired/validate.js';
import { CniError, type CniErrorCode } from '../cni/backend.js';

export interface StatusError {
  code: grpc.status;
  details: string;
}

const CNI_CODES: Record<CniErrorCode, grpc.status> = {
  'not-found': grpc.status.NOT_FOUND,
  invalid: grpc.status.INVALID_ARGUMENT,
  exhausted: grpc.status.RESOURCE_EXHAUSTED,
  failed: grpc.status.FAILED_PRECONDITION,
};

export function toStatusError(err: unknown, op: string): StatusError {
  if (err instanceof ValidationError) return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
  if (err instanceof DesiredStateParseError) return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
  if (err instanceof MutationError) {
    return { code: err.code === 'not-found' ? grpc.status.NOT_FOUND : grpc.status.FAILED_PRECONDITION, details: err.message };
  }
  if (err instanceof CniError) return { code: CNI_CODES[err.code], details: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: grpc.status.INTERNAL, details: `${op}: ${message}` };
}
