// The CNI spec's errors (SPEC.md, "Error" and "Well-known Error Codes"): printed as JSON on
// stdout with a non-zero exit status. Codes 0-99 are the spec's; 100+ are hostnet's own:
//   100  the agent has no such hostnet network (gRPC NOT_FOUND)
//   101  no free address in the network (RESOURCE_EXHAUSTED)
//   102  the agent refused the request as invalid (INVALID_ARGUMENT: ips, mac, netns)
//   103  the agent could not configure the attachment (FAILED_PRECONDITION on ADD, DEL, GC;
//        details say why; nothing is left behind)
//   104  CHECK: the kernel does not match the attachment (FAILED_PRECONDITION on CHECK), or the
//        runtime's prevResult names addresses the attachment does not have
//   105  any other failure the agent reported (INTERNAL, UNIMPLEMENTED: an agent without the
//        Cni service, PERMISSION_DENIED, ...)
//   106  the agent's answer could not be read (not the gRPC/protobuf answer expected)
//   107  the agent's socket refuses us (EACCES: run as root or in the socket's group)
//   110  a fault of the plugin itself (a bug: the details carry the stack)

export const CNI_ERR = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  NOT_AVAILABLE: 50,
  NETWORK_NOT_FOUND: 100,
  NO_FREE_ADDRESS: 101,
  AGENT_REJECTED: 102,
  NOT_CONFIGURED: 103,
  CHECK_MISMATCH: 104,
  AGENT_FAILED: 105,
  BAD_ANSWER: 106,
  SOCKET_DENIED: 107,
  INTERNAL: 110,
} as const;

export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(readonly code: number, msg: string, readonly details = '') {
    super(msg);
  }
}

/** The spec's error object. `details` is left out when empty (it is optional). */
export function errorJson(err: CniError, cniVersion: string): Record<string, unknown> {
  return { cniVersion, code: err.code, msg: err.message, ...(err.details ? { details: err.details } : {}) };
}
