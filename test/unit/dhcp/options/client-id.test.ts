import { describe, expect, it } from 'vitest';
import { clientId } from '../../../../dhcp/options/client-id.js';

describe('option 61 client identifier', () => {
  it('is kept as lower-case hex, type byte included', () => {
    expect(clientId.decode(Buffer.from([1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]))).toBe('01aabbccddeeff');
    expect([...clientId.encode('FF00112233')]).toEqual([0xff, 0, 0x11, 0x22, 0x33]);
  });
  it('round-trips an RFC 4361 style identifier (type 255, IAID, DUID)', () => {
    const hex = 'ff0000000100010001c7922a000102030405';
    expect(clientId.decode(clientId.encode(hex))).toBe(hex);
  });
  it('refuses fewer than 2 bytes and non-hex', () => {
    expect(() => clientId.decode(Buffer.from([1]))).toThrow(/at least 2/);
    expect(() => clientId.encode('01')).toThrow(/at least 2 bytes/);
    expect(() => clientId.encode('zz00')).toThrow(/not hex/);
  });
});
