import { describe, expect, it } from 'vitest';
import { messageType } from '../../../../dhcp/options/message-type.js';
import { DHCP } from '../../../../dhcp/packet.js';

describe('option 53 message type', () => {
  it('is one byte', () => {
    expect([...messageType.encode(DHCP.ACK)]).toEqual([5]);
    expect(messageType.decode(Buffer.from([DHCP.INFORM]))).toBe(8);
  });
  it('keeps types beyond INFORM (later RFCs) for the handler to drop', () => {
    expect(messageType.decode(Buffer.from([13]))).toBe(13);
  });
  it('refuses zero, empty and longer payloads', () => {
    expect(() => messageType.decode(Buffer.from([0]))).toThrow(/one non-zero byte/);
    expect(() => messageType.decode(Buffer.alloc(0))).toThrow(/\(empty\)/);
    expect(() => messageType.decode(Buffer.from([1, 1]))).toThrow(/0101/);
    expect(() => messageType.encode(256)).toThrow(/1\.\.255/);
  });
});
