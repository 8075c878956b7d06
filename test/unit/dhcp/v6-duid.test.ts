// DUIDs in options 1 and 2 (RFC 8415 11): each type parsed and encoded back, the MAC taken from
// a DUID-LL/LLT of hardware type 1 only, lengths refused with 'bad-duid' naming the option.
import { describe, expect, it } from 'vitest';
import { clientId, duidHex, macFromDuid, Option6Error, serverId, type Duid } from '../../../dhcp/v6/options/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');

function decodeError(p: Buffer): Option6Error {
  try {
    clientId.decode(p);
  } catch (e) {
    expect(e).toBeInstanceOf(Option6Error);
    return e as Option6Error;
  }
  throw new Error(`decoded ${p.toString('hex')}`);
}

describe('DHCPv6 DUIDs', () => {
  const cases: [string, string, Duid][] = [
    ['LLT', '0001000129b92700525400123456', { type: 'llt', hardwareType: 1, time: 700000000, linkLayerAddress: '52:54:00:12:34:56' }],
    ['EN', '000200007ed90102030405060708', { type: 'en', enterpriseNumber: 32473, identifier: '0102030405060708' }],
    ['LL', '00030001024e00000001', { type: 'll', hardwareType: 1, linkLayerAddress: '02:4e:00:00:00:01' }],
    ['UUID', '00046ba7b8109dad11d180b400c04fd430c8', { type: 'uuid', uuid: '6ba7b810-9dad-11d1-80b4-00c04fd430c8' }],
    ['LL of InfiniBand (32)', '00030020' + 'ab'.repeat(20), { type: 'll', hardwareType: 32, linkLayerAddress: Array(20).fill('ab').join(':') }],
    ['unknown type 9', '0009cafe', { type: 'unknown', typeCode: 9, data: 'cafe' }],
    ['unknown type 0', '0000ff', { type: 'unknown', typeCode: 0, data: 'ff' }],
  ];
  for (const [name, wire, value] of cases) {
    it(`${name}: decodes, and encodes back to the same bytes (client and server id alike)`, () => {
      expect(clientId.decode(hex(wire))).toEqual(value);
      expect(serverId.decode(hex(wire))).toEqual(value);
      expect(clientId.encode(value).toString('hex')).toBe(wire);
      expect(duidHex(value)).toBe(wire);
    });
  }

  it('takes a MAC from DUID-LL and DUID-LLT of hardware type 1 only', () => {
    expect(macFromDuid(clientId.decode(hex('0001000129b92700525400123456')))).toBe('52:54:00:12:34:56');
    expect(macFromDuid(clientId.decode(hex('00030001024E00000001')))).toBe('02:4e:00:00:00:01');
    expect(macFromDuid({ type: 'll', hardwareType: 1, linkLayerAddress: '02:4E:00:00:00:0A' })).toBe('02:4e:00:00:00:0a');
    expect(macFromDuid(clientId.decode(hex('00030006024e00000001')))).toBeUndefined(); // IEEE 802 (6), not Ethernet
    expect(macFromDuid(clientId.decode(hex('00030001024e000000')))).toBeUndefined(); // 5 bytes is no MAC
    expect(macFromDuid(clientId.decode(hex('000200007ed90102030405060708')))).toBeUndefined();
    expect(macFromDuid(clientId.decode(hex('00046ba7b8109dad11d180b400c04fd430c8')))).toBeUndefined();
  });

  it('refuses bad lengths with reason bad-duid, naming the option and the DUID type', () => {
    const bad: [string, RegExp][] = [
      ['', /DUID of 0 bytes, expected 3\.\.130/],
      ['0001', /DUID of 2 bytes/],
      ['0002' + '00'.repeat(129), /DUID of 131 bytes/],
      ['00010001000000', /DUID-LLT of 7 bytes, expected at least 9/],
      ['0001000100000001', /DUID-LLT of 8 bytes/],
      ['000200007e', /DUID-EN of 5 bytes/],
      ['00030001', /DUID-LL of 4 bytes/],
      ['0004' + '00'.repeat(15), /DUID-UUID of 17 bytes, expected 18/],
      ['0004' + '00'.repeat(17), /DUID-UUID of 19 bytes/],
    ];
    for (const [wire, text] of bad) {
      const e = decodeError(hex(wire));
      expect(e.reason, wire).toBe('bad-duid');
      expect(e.message, wire).toMatch(/^decode DHCPv6 option 1 \(client-id\): /);
      expect(e.message, wire).toMatch(text);
    }
    expect(() => serverId.decode(hex('0001'))).toThrow(/option 2 \(server-id\)/);
    // 130 bytes is the most there may be.
    expect(clientId.decode(hex('0002' + '00'.repeat(128)))).toMatchObject({ type: 'en' });
  });

  it('refuses to encode values the wire cannot carry', () => {
    const bad: [Duid, RegExp][] = [
      [{ type: 'll', hardwareType: 1, linkLayerAddress: '' }, /link-layer address "" is not colon-separated hex/],
      [{ type: 'll', hardwareType: 1, linkLayerAddress: '52-54-00-12-34-56' }, /not colon-separated hex/],
      [{ type: 'll', hardwareType: 70000, linkLayerAddress: '52:54:00:12:34:56' }, /hardware type 70000/],
      [{ type: 'llt', hardwareType: 1, time: -1, linkLayerAddress: '52:54:00:12:34:56' }, /time -1/],
      [{ type: 'en', enterpriseNumber: 2 ** 32, identifier: '01' }, /enterprise number/],
      [{ type: 'en', enterpriseNumber: 1, identifier: '' }, /identifier "" is not hex/],
      [{ type: 'en', enterpriseNumber: 1, identifier: '00'.repeat(125) }, /DUID of 131 bytes, more than 130/],
      [{ type: 'uuid', uuid: '6ba7b810-9dad-11d1-80b4' }, /UUID .* is not/],
      [{ type: 'unknown', typeCode: 3, data: '00' }, /DUID type 3 is a known type/],
      [{ type: 'other' } as unknown as Duid, /DUID type "other"/],
    ];
    for (const [d, text] of bad) expect(() => clientId.encode(d), JSON.stringify(d)).toThrow(text);
    expect(() => serverId.encode(bad[0]![0])).toThrow(/^encode DHCPv6 option 2 \(server-id\)/);
  });
});
