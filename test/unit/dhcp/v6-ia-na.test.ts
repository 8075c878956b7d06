// IA_NA (3) and its nested IA Address (5) and Status Code (13) options: values both ways,
// unknown nested options kept raw, truncated nested options refused as 'nested-overrun' and
// a bad nested option named inside its container.
import { describe, expect, it } from 'vitest';
import { iaAddress, iaNa, Option6Error, STATUS, type IaNa } from '../../../dhcp/v6/options/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const ADDR = 'fd000077000000000000000000000100';

function decodeError(p: Buffer): Option6Error {
  try {
    iaNa.decode(p);
  } catch (e) {
    expect(e).toBeInstanceOf(Option6Error);
    return e as Option6Error;
  }
  throw new Error(`decoded ${p.toString('hex')}`);
}

describe('DHCPv6 IA_NA and IA Address', () => {
  it('an empty IA_NA (a Solicit asks for any address)', () => {
    const wire = '0a0b0c0d0000000000000000';
    expect(iaNa.decode(hex(wire))).toEqual({ iaid: 0x0a0b0c0d, t1: 0, t2: 0, addresses: [], otherOptions: [] });
    expect(iaNa.encode({ iaid: 0x0a0b0c0d, t1: 0, t2: 0, addresses: [], otherOptions: [] }).toString('hex')).toBe(wire);
  });

  it('addresses with their own status, the IA\'s status and unknown options, written in a fixed order', () => {
    const value: IaNa = {
      iaid: 1, t1: 1800, t2: 2880,
      addresses: [
        { address: 'fd00:77::100', preferredLifetime: 3600, validLifetime: 7200, status: { code: 0, message: 'ok' }, otherOptions: [] },
        { address: 'fd00:77::101', preferredLifetime: 0xffffffff, validLifetime: 0xffffffff, otherOptions: [{ code: 200, data: hex('aa') }] },
      ],
      status: { code: STATUS.SUCCESS, message: '' },
      otherOptions: [{ code: 100, data: Buffer.alloc(0) }],
    };
    const wire = iaNa.encode(value);
    expect(iaNa.decode(wire)).toEqual(value);
    // Nested codes in order: 5, 5, 13, 100.
    const codes: number[] = [];
    for (let i = 12; i < wire.length; i += 4 + wire.readUInt16BE(i + 2)) codes.push(wire.readUInt16BE(i));
    expect(codes).toEqual([5, 5, 13, 100]);
    // A second status is not dropped: it is kept raw.
    const twice = Buffer.concat([hex('000000010000000000000000'), hex('000d00020001'), hex('000d00020002')]);
    expect(iaNa.decode(twice)).toMatchObject({ status: { code: 1, message: '' }, otherOptions: [{ code: 13, data: hex('0002') }] });
    expect(iaNa.encode(iaNa.decode(twice))).toEqual(twice);
  });

  it('an IA Address on its own', () => {
    const wire = ADDR + '00000e10' + '00001c20';
    expect(iaAddress.decode(hex(wire))).toEqual({ address: 'fd00:77::100', preferredLifetime: 3600, validLifetime: 7200, otherOptions: [] });
    expect(iaAddress.encode({ address: 'fd00:77::100', preferredLifetime: 3600, validLifetime: 7200, otherOptions: [] }).toString('hex')).toBe(wire);
    expect(() => iaAddress.encode({ address: '10.0.0.1', preferredLifetime: 0, validLifetime: 0, otherOptions: [] })).toThrow(/option 5 \(ia-address\): "10.0.0.1" is not an IPv6 address/);
    expect(() => iaAddress.encode({ address: 'fd00::1', preferredLifetime: -1, validLifetime: 0, otherOptions: [] })).toThrow(/preferred lifetime -1/);
  });

  it('refuses short, truncated and bad nested options with a reason', () => {
    const head = '000000010000000000000000';
    const bad: [string, string, RegExp][] = [
      ['00'.repeat(11), 'bad-length', /option 3 \(ia-na\): length 11, expected at least 12/],
      [head + '00', 'nested-overrun', /nested option header at offset 12 is cut off \(1 of 4 bytes\)/],
      [head + '00050018' + ADDR, 'nested-overrun', /nested option 5 \(length 24\) at offset 12 runs past the end \(16 bytes left\)/],
      [head + '00050010' + ADDR, 'bad-length', /nested option 5 \(ia-address\): length 16, expected at least 24/],
      [head + '0005001a' + ADDR + '0000000000000000' + '000d', 'nested-overrun', /nested option 5 \(ia-address\): nested option header at offset 24 is cut off/],
      [head + '0005001d' + ADDR + '0000000000000000' + '000d000100', 'bad-length', /nested option 5 \(ia-address\): nested option 13 \(status-code\): length 1/],
      [head + '000d000100', 'bad-length', /option 3 \(ia-na\): nested option 13 \(status-code\): length 1/],
    ];
    for (const [wire, reason, text] of bad) {
      const e = decodeError(hex(wire));
      expect(e.reason, wire).toBe(reason);
      expect(e.message, wire).toMatch(/^decode DHCPv6 option 3 \(ia-na\): /);
      expect(e.message, wire).toMatch(text);
    }
  });

  it('refuses to encode what does not fit', () => {
    const base: IaNa = { iaid: 1, t1: 0, t2: 0, addresses: [], otherOptions: [] };
    expect(() => iaNa.encode({ ...base, iaid: 2 ** 32 })).toThrow(/IAID 4294967296/);
    expect(() => iaNa.encode({ ...base, t2: -5 })).toThrow(/T2 -5/);
    expect(() => iaNa.encode({ ...base, otherOptions: [{ code: 1, data: Buffer.alloc(65536) }] }))
      .toThrow(/^encode DHCPv6 option 3 \(ia-na\): nested option 1 is 65536 bytes, more than 65535$/);
  });
});
