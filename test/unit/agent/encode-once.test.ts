// GetStatus answers encoded once per response object (agent/server/encode-once.ts), with the
// real generated service definition and encoder.
import { describe, expect, it } from 'vitest';
import { GetStatusResponse, NodeAgentService } from '../../../agent/api/gen/hostnet/v1/agent.js';
import { encodedOnce } from '../../../agent/server/encode-once.js';

describe('encodedOnce', () => {
  it('encodes one response object once, another one again, and only the methods named', () => {
    let calls = 0;
    const counting = {
      ...NodeAgentService,
      getStatus: { ...NodeAgentService.getStatus, responseSerialize: (v: GetStatusResponse) => { calls++; return NodeAgentService.getStatus.responseSerialize(v); } },
    };
    const service = encodedOnce(counting, ['getStatus']);
    const a = GetStatusResponse.fromPartial({ generation: 3, observedGeneration: 3, attachments: [{ name: 'a1', network: 'n' }] });
    const first = service.getStatus.responseSerialize(a);
    expect(service.getStatus.responseSerialize(a)).toBe(first);
    expect(calls).toBe(1);
    expect(GetStatusResponse.decode(first)).toEqual(a);
    const b = GetStatusResponse.fromPartial({ generation: 4 });
    expect(GetStatusResponse.decode(service.getStatus.responseSerialize(b)).generation).toBe(4);
    expect(calls).toBe(2);
    expect(service.apply).toBe(NodeAgentService.apply);
  });
});
