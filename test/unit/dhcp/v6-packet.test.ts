// The DHCPv6 message codec against scapy's bytes (v6-golden.ts): every client/server message
// type decodes to the values scapy was given, the same values encode to scapy's bytes, a
// decoded message encodes back to its input; relay messages and malformed input are refused
// with a Dhcp6DecodeError whose reason and text say what is wrong.
import { describe, expect, it } from 'vitest';
import {
  clientId, dnsServers, domainSearch, elapsedTime, iaNa, informationRefreshTime, option6, optionRequest, preference,
  rapidCommit, readOption6, readOptions6, serverId, type Dhcp6Option, type Duid, type IaAddress, type IaNa,
} from '../../../dhcp/v6/options/index.js';
import { DHCP6, Dhcp6DecodeError, decodeDhcp6, encodeDhcp6, type Dhcp6Message } from '../../../dhcp/v6/packet.js';
import { GOLDEN, golden, type GoldenName } from './v6-golden.js';

// The values the scapy program was given.
const CLIENT: Duid = { type: 'llt', hardwareType: 1, time: 700000000, linkLayerAddress: '52:54:00:12:34:56' };
const SERVER: Duid = { type: 'll', hardwareType: 1, linkLayerAddress: '02:4e:00:00:00:01' };
const CLIENT_EN: Duid = { type: 'en', enterpriseNumber: 32473, identifier: '0102030405060708' };
const CLIENT_UUID: Duid = { type: 'uuid', uuid: '6ba7b810-9dad-11d1-80b4-00c04fd430c8' };
const SERVER_EN: Duid = { type: 'en', enterpriseNumber: 32473, identifier: Buffer.from('hostnet').toString('hex') };
const addr = (pref: number, valid: number, extra: Partial<IaAddress> = {}): IaAddress => (
  { address: 'fd00:77::100', preferredLifetime: pref, validLifetime: valid, otherOptions: [], ...extra });
const ia = (t1: number, t2: number, addresses: IaAddress[], extra: Partial<IaNa> = {}): Dhcp6Option =>
  option6(iaNa, { iaid: 0x0a0b0c0d, t1, t2, addresses, otherOptions: [], ...extra });
const C = option6(clientId, CLIENT);
const S = option6(serverId, SERVER);
const ORO = option6(optionRequest, [23, 24, 32]);
const DNS = option6(dnsServers, ['fd00:77::53', '2001:db8::35']);
const DOM = option6(domainSearch, ['v6.example', 'example.org']);
const E = (t: number) => option6(elapsedTime, t);
// Client FQDN (39) is not interpreted: it stays raw.
const FQDN: Dhcp6Option = { code: 39, data: Buffer.from('0103766d31027636076578616d706c6500', 'hex') };

const m = (msgType: number, transactionId: number, options: Dhcp6Option[]): Dhcp6Message => ({ msgType, transactionId, options });

const EXPECTED: Record<Exclude<GoldenName, 'relay-forward'>, Dhcp6Message> = {
  'solicit': m(DHCP6.SOLICIT, 0x0a1b2c, [C, E(0), option6(rapidCommit, true), ia(0, 0, []), ORO, FQDN]),
  'advertise': m(DHCP6.ADVERTISE, 0x0a1b2c, [S, C, ia(1800, 2880, [addr(3600, 7200)]), option6(preference, 255), DNS, DOM]),
  'request': m(DHCP6.REQUEST, 0x0d0e0f, [C, S, E(12), ia(0, 0, [addr(0, 0)]), ORO]),
  'reply': m(DHCP6.REPLY, 0x0d0e0f, [S, C, ia(1800, 2880, [addr(3600, 7200, { status: { code: 0, message: 'assigned' } })], {
    status: { code: 0, message: 'all addresses assigned' },
  }), DNS, DOM]),
  'renew': m(DHCP6.RENEW, 0x101112, [C, S, E(100), ia(1800, 2880, [addr(3600, 7200)]), ORO]),
  'rebind': m(DHCP6.REBIND, 0x131415, [C, E(6000), ia(1800, 2880, [addr(3600, 7200)]), ORO]),
  'release': m(DHCP6.RELEASE, 0x161718, [C, S, E(0), ia(0, 0, [addr(0, 0)])]),
  'decline': m(DHCP6.DECLINE, 0x191a1b, [C, S, E(0), ia(0, 0, [addr(0, 0)])]),
  'confirm': m(DHCP6.CONFIRM, 0x1c1d1e, [option6(clientId, CLIENT_EN), E(0), ia(0, 0, [addr(0, 0)])]),
  'information-request': m(DHCP6.INFORMATION_REQUEST, 0x1f2021, [option6(clientId, CLIENT_UUID), E(0), ORO]),
  'reply-stateless': m(DHCP6.REPLY, 0x1f2021, [
    option6(serverId, SERVER_EN), option6(clientId, CLIENT_UUID), DNS, DOM, option6(informationRefreshTime, 86400),
  ]),
  'reply-noaddrs': m(DHCP6.REPLY, 0x0a1b2c, [S, C, option6(rapidCommit, true), ia(0, 0, [], { status: { code: 2, message: 'no addresses' } })]),
};

function reasonOf(buf: Buffer): string {
  try {
    decodeDhcp6(buf);
  } catch (e) {
    expect(e).toBeInstanceOf(Dhcp6DecodeError);
    return (e as Dhcp6DecodeError).reason;
  }
  return 'decoded';
}

function errorOf(buf: Buffer): Dhcp6DecodeError {
  try {
    decodeDhcp6(buf);
  } catch (e) {
    expect(e).toBeInstanceOf(Dhcp6DecodeError);
    return e as Dhcp6DecodeError;
  }
  throw new Error(`decoded ${buf.toString('hex')}, expected an error`);
}

/** A Solicit with the given raw options: [code, payload hex]. */
function solicit(...options: [number, string][]): Buffer {
  return encodeDhcp6(m(DHCP6.SOLICIT, 1, options.map(([code, hex]) => ({ code, data: Buffer.from(hex, 'hex') }))));
}

describe('DHCPv6 packet codec against scapy', () => {
  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name}: decodes to scapy's values, and those values encode to scapy's bytes`, () => {
      const bytes = golden(name as GoldenName);
      expect(decodeDhcp6(bytes)).toEqual(expected);
      expect(encodeDhcp6(expected).toString('hex')).toBe(GOLDEN[name as GoldenName]);
    });
  }

  it('reads the values a server needs from a decoded Request', () => {
    const req = decodeDhcp6(golden('request'));
    expect(readOption6(req.options, clientId)).toEqual(CLIENT);
    expect(readOption6(req.options, serverId)).toEqual(SERVER);
    expect(readOption6(req.options, elapsedTime)).toBe(12);
    expect(readOption6(req.options, optionRequest)).toEqual([23, 24, 32]);
    expect(readOptions6(req.options, iaNa)).toEqual([{ iaid: 0x0a0b0c0d, t1: 0, t2: 0, addresses: [addr(0, 0)], otherOptions: [] }]);
    expect(readOption6(req.options, rapidCommit)).toBeUndefined();
    const reply = decodeDhcp6(golden('reply-noaddrs'));
    expect(readOption6(reply.options, iaNa)?.status).toEqual({ code: 2, message: 'no addresses' });
    expect(readOption6(decodeDhcp6(golden('reply-stateless')).options, informationRefreshTime)).toBe(86400);
  });

  it('keeps several IA_NAs and unknown options, in order, and copies payloads out of the input', () => {
    const two = encodeDhcp6(m(DHCP6.SOLICIT, 7, [C, ia(0, 0, []), { code: 0xfff0, data: Buffer.from('raw') }, option6(iaNa, {
      iaid: 2, t1: 0, t2: 0, addresses: [], otherOptions: [{ code: 99, data: Buffer.from([1, 2]) }],
    })]));
    const msg = decodeDhcp6(two);
    expect(msg.options.map((o) => o.code)).toEqual([1, 3, 0xfff0, 3]);
    expect(readOptions6(msg.options, iaNa).map((x) => x.iaid)).toEqual([0x0a0b0c0d, 2]);
    expect(readOptions6(msg.options, iaNa)[1]!.otherOptions).toEqual([{ code: 99, data: Buffer.from([1, 2]) }]);
    two.fill(0);
    expect(msg.options[2]!.data.toString()).toBe('raw');
  });

  it('refuses relay messages as not supported yet', () => {
    const e = errorOf(golden('relay-forward'));
    expect(e.reason).toBe('relay-not-supported');
    expect(e.message).toMatch(/msg-type 12 \(Relay-forward\)/);
    expect(reasonOf(Buffer.from('0d00', 'hex'))).toBe('truncated');
    expect(reasonOf(Buffer.concat([Buffer.from([13]), Buffer.alloc(33)]))).toBe('relay-not-supported');
  });

  it('refuses malformed input with a reason and a message that names what is wrong', () => {
    const cases: [string, Buffer, string, RegExp][] = [
      ['empty', Buffer.alloc(0), 'truncated', /0 bytes/],
      ['short header', Buffer.from('010203', 'hex'), 'truncated', /3 bytes/],
      ['msg-type 0', Buffer.from('00000001', 'hex'), 'bad-msg-type', /reserved/],
      ['option header cut', Buffer.from('010000010001', 'hex'), 'option-overrun', /header at offset 4 is cut off/],
      ['option past the end', solicitTruncated(), 'option-overrun', /option 8 \(length 2\) at offset 4 runs past the end/],
      ['DUID-UUID of 17 bytes', solicit([1, '0004' + '00'.repeat(15)]), 'bad-duid', /option 1 \(client-id\): DUID-UUID of 17 bytes/],
      ['DUID of 2 bytes', solicit([2, '0003']), 'bad-duid', /option 2 \(server-id\): DUID of 2 bytes/],
      ['DUID of 131 bytes', solicit([1, '0002' + '00'.repeat(129)]), 'bad-duid', /DUID of 131 bytes, expected 3\.\.130/],
      ['DUID-LLT without address', solicit([1, '0001000100000001']), 'bad-duid', /DUID-LLT of 8 bytes/],
      ['DUID-LL without address', solicit([1, '00030001']), 'bad-duid', /DUID-LL of 4 bytes/],
      ['DUID-EN without identifier', solicit([1, '000200007ed9']), 'bad-duid', /DUID-EN of 6 bytes/],
      ['IA_NA of 11 bytes', solicit([3, '00'.repeat(11)]), 'bad-length', /option 3 \(ia-na\): length 11, expected at least 12/],
      ['IA_NA nested option cut', solicit([3, '00'.repeat(12) + '0005']), 'nested-overrun', /option 3 \(ia-na\): nested option header at offset 12 is cut off/],
      ['IA_NA nested option past end', solicit([3, '00'.repeat(12) + '00050018' + '00'.repeat(20)]), 'nested-overrun', /nested option 5 \(length 24\) at offset 12 runs past the end/],
      ['IA Address of 20 bytes', solicit([3, '00'.repeat(12) + '00050014' + '00'.repeat(20)]), 'bad-length', /option 3 \(ia-na\): nested option 5 \(ia-address\): length 20, expected at least 24/],
      ['status in IA Address cut', solicit([3, '00'.repeat(12) + '0005001c' + '00'.repeat(24) + '000d0001']), 'nested-overrun', /nested option 5 \(ia-address\): nested option 13 \(length 1\)/],
      ['status of 1 byte in IA Address', solicit([3, '00'.repeat(12) + '0005001d' + '00'.repeat(24) + '000d000100']), 'bad-length', /nested option 13 \(status-code\): length 1, expected at least 2/],
      ['elapsed time of 3 bytes', solicit([8, '000000']), 'bad-length', /option 8 \(elapsed-time\): length 3, expected 2/],
      ['preference of 2 bytes', solicit([7, '0000']), 'bad-length', /option 7 \(preference\): length 2, expected 1/],
      ['rapid commit with a payload', solicit([14, '00']), 'bad-length', /option 14 \(rapid-commit\): length 1, expected 0/],
      ['odd option request', solicit([6, '001700']), 'bad-length', /option 6 \(option-request\): length 3, expected a multiple of 2/],
      ['DNS of 15 bytes', solicit([23, '00'.repeat(15)]), 'bad-length', /option 23 \(dns-servers\): length 15/],
      ['compressed search list', solicit([24, '02763600c000']), 'bad-name', /option 24 \(domain-search\): compression pointer at offset 4/],
      ['refresh time of 2 bytes', solicit([32, '0258']), 'bad-length', /option 32 \(information-refresh-time\): length 2, expected 4/],
    ];
    for (const [what, buf, reason, text] of cases) {
      const e = errorOf(buf);
      expect(e.reason, what).toBe(reason);
      expect(e.message, what).toMatch(/^decode DHCPv6 message: /);
      expect(e.message, what).toMatch(text);
    }
    expect(reasonOf('not a buffer' as unknown as Buffer)).toBe('truncated');
  });

  it('accepts any payload in options it does not interpret, and any other client/server msg-type', () => {
    expect(reasonOf(solicit([39, ''], [0xffff, 'ff'.repeat(300)], [9, '00']))).toBe('decoded');
    expect(decodeDhcp6(Buffer.from('fe000001', 'hex'))).toEqual({ msgType: 254, transactionId: 1, options: [] });
  });

  it('refuses to encode what the wire cannot carry', () => {
    expect(() => encodeDhcp6(m(DHCP6.REPLY, 0x1000000, []))).toThrow(/transaction-id 16777216 is not a 24-bit/);
    expect(() => encodeDhcp6(m(0, 1, []))).toThrow(/msg-type 0 is not 1\.\.255/);
    expect(() => encodeDhcp6(m(DHCP6.REPLY, 1, [{ code: 39, data: Buffer.alloc(65536) }]))).toThrow(/option 39 is 65536 bytes, more than 65535/);
    expect(() => encodeDhcp6(m(DHCP6.REPLY, 1, [{ code: 70000, data: Buffer.alloc(0) }]))).toThrow(/option code 70000/);
  });
});

/** A Solicit whose last option (8, length 2) has only one byte. */
function solicitTruncated(): Buffer {
  return Buffer.from('01000001' + '0008000200', 'hex');
}
