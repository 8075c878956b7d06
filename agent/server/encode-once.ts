// Answers that repeat, encoded once. GetStatus polled while a pass runs gets the very same
// response object back (the reconciler keeps it until a pass changes something), so its bytes
// are kept beside it: 1000 attachments' conditions are encoded once per change, not per poll.
// grpc-js copies the bytes into each frame, so one buffer serves every answer.
import type * as grpc from '@grpc/grpc-js';

export function encodedOnce<S extends grpc.ServiceDefinition>(service: S, methods: ReadonlyArray<keyof S & string>): S {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...service };
  for (const method of methods) {
    const def = service[method] as grpc.MethodDefinition<unknown, unknown>;
    const encoded = new WeakMap<object, Buffer>();
    out[method] = {
      ...def,
      responseSerialize: (value: unknown): Buffer => {
        if (typeof value !== 'object' || value === null) return def.responseSerialize(value);
        let bytes = encoded.get(value);
        if (!bytes) encoded.set(value, (bytes = def.responseSerialize(value)));
        return bytes;
      },
    };
  }
  return out as S;
}
