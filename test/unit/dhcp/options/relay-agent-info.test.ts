import { describe, expect, it } from 'vitest';
import { relayAgentInfo } from '../../../../dhcp/options/relay-agent-info.js';

describe('option 82 relay agent information (RFC 3046)', () => {
  it('round-trips circuit id and remote id sub-options', () => {
    const subs = [{ code: 1, data: Buffer.from('eth0/1') }, { code: 2, data: Buffer.from([0, 1, 2, 3]) }];
    const b = relayAgentInfo.encode(subs);
    expect(b.toString('hex')).toBe('0106' + Buffer.from('eth0/1').toString('hex') + '020400010203');
    expect(relayAgentInfo.decode(b)).toEqual(subs);
  });
  it('accepts an empty sub-option value', () => {
    expect(relayAgentInfo.decode(Buffer.from([1, 0]))).toEqual([{ code: 1, data: Buffer.alloc(0) }]);
  });
  it('refuses a sub-option running past the end and an empty option', () => {
    expect(() => relayAgentInfo.decode(Buffer.from([1, 5, 1]))).toThrow(/runs past the end/);
    expect(() => relayAgentInfo.decode(Buffer.from([1]))).toThrow(/runs past the end/);
    expect(() => relayAgentInfo.decode(Buffer.alloc(0))).toThrow(/no sub-options/);
  });
});
