// The small DHCPv6 options: option request (6), preference (7), elapsed time (8), status code
// (13), rapid commit (14), DNS servers (23), information refresh time (32): bytes both ways,
// lengths refused on decode, values out of range refused on encode; and the registry.
import { describe, expect, it } from 'vitest';
import {
  dnsServers, elapsedTime, informationRefreshTime, OPT6, Option6Error, option6Codec, optionRequest, preference,
  rapidCommit, readOption6, STATUS, statusCode,
} from '../../../dhcp/v6/options/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('DHCPv6 small options', () => {
  it('option request: 16-bit codes in order; an empty list is legal', () => {
    expect(optionRequest.decode(hex('001700180020'))).toEqual([23, 24, 32]);
    expect(optionRequest.encode([23, 24, 32]).toString('hex')).toBe('001700180020');
    expect(optionRequest.decode(Buffer.alloc(0))).toEqual([]);
    expect(() => optionRequest.decode(hex('00'))).toThrow(/option 6 \(option-request\): length 1, expected a multiple of 2/);
    expect(() => optionRequest.encode([65536])).toThrow(/option code 65536 is not an integer in 0..65535/);
  });

  it('preference: one byte 0..255', () => {
    expect(preference.decode(hex('ff'))).toBe(255);
    expect(preference.encode(0).toString('hex')).toBe('00');
    expect(() => preference.decode(hex(''))).toThrow(/length 0, expected 1/);
    expect(() => preference.encode(256)).toThrow(/value 256 is not an integer in 0..255/);
  });

  it('elapsed time: hundredths of a second in 16 bits', () => {
    expect(elapsedTime.decode(hex('1770'))).toBe(6000);
    expect(elapsedTime.encode(0xffff).toString('hex')).toBe('ffff');
    expect(() => elapsedTime.decode(hex('00'))).toThrow(/option 8 \(elapsed-time\): length 1, expected 2/);
    expect(() => elapsedTime.encode(1.5)).toThrow(/1.5 is not an integer in 0..65535/);
  });

  it('status code: code and UTF-8 message, which may be empty', () => {
    expect(statusCode.decode(hex('0002'))).toEqual({ code: STATUS.NO_ADDRS_AVAIL, message: '' });
    expect(statusCode.decode(hex('00046e6f74206f6e206c696e6b'))).toEqual({ code: STATUS.NOT_ON_LINK, message: 'not on link' });
    expect(statusCode.encode({ code: 0, message: 'ünï' }).toString('hex')).toBe('0000c3bc6ec3af');
    // Bad UTF-8 from a peer is read, not refused; the text reads back the same after encoding.
    const odd = statusCode.decode(hex('0001ff41'));
    expect(statusCode.decode(statusCode.encode(odd))).toEqual(odd);
    expect(() => statusCode.decode(hex('00'))).toThrow(/option 13 \(status-code\): length 1, expected at least 2/);
    expect(() => statusCode.encode({ code: -1, message: '' })).toThrow(/status code -1/);
  });

  it('rapid commit: no payload', () => {
    expect(rapidCommit.decode(Buffer.alloc(0))).toBe(true);
    expect(rapidCommit.encode(true).length).toBe(0);
    expect(() => rapidCommit.decode(hex('01'))).toThrow(/option 14 \(rapid-commit\): length 1, expected 0/);
    expect(() => rapidCommit.encode(false as unknown as true)).toThrow(/value false is not true/);
  });

  it('DNS servers: IPv6 addresses, 16 bytes each, in canonical text', () => {
    const wire = 'fd000077000000000000000000000053' + '20010db8000000000000000000000035';
    expect(dnsServers.decode(hex(wire))).toEqual(['fd00:77::53', '2001:db8::35']);
    expect(dnsServers.encode(['FD00:77:0::53', '2001:db8::35']).toString('hex')).toBe(wire);
    expect(dnsServers.decode(hex('00000000000000000000ffff0a000001'))).toEqual(['::ffff:10.0.0.1']);
    expect(dnsServers.encode(['::ffff:10.0.0.1']).toString('hex')).toBe('00000000000000000000ffff0a000001');
    expect(() => dnsServers.decode(Buffer.alloc(0))).toThrow(/length 0, expected a non-zero multiple of 16/);
    expect(() => dnsServers.decode(Buffer.alloc(17))).toThrow(/length 17/);
    expect(() => dnsServers.encode([])).toThrow(/empty address list/);
    expect(() => dnsServers.encode(['10.0.0.53'])).toThrow(/option 23 \(dns-servers\): "10.0.0.53" is not an IPv6 address/);
    expect(() => dnsServers.encode(['fe80::1%eth0'])).toThrow(/not an IPv6 address/);
  });

  it('information refresh time: any 32-bit value both ways (the 600 s minimum is policy)', () => {
    expect(informationRefreshTime.decode(hex('00015180'))).toBe(86400);
    expect(informationRefreshTime.decode(hex('0000003c'))).toBe(60);
    expect(informationRefreshTime.encode(0xffffffff).toString('hex')).toBe('ffffffff');
    expect(() => informationRefreshTime.decode(hex('0258'))).toThrow(/option 32 \(information-refresh-time\): length 2, expected 4/);
    expect(() => informationRefreshTime.encode(2 ** 32)).toThrow(/4294967296 is not an integer in 0..4294967295/);
  });

  it('the registry knows every option by its code; readOption6 skips what is malformed', () => {
    for (const [name, code] of Object.entries(OPT6)) {
      const codec = option6Codec(code);
      if ([OPT6.RELAY_MESSAGE, OPT6.INTERFACE_ID].includes(code as 9 | 18)) expect(codec, name).toBeUndefined();
      else expect(codec?.code, name).toBe(code);
    }
    expect(option6Codec(39)).toBeUndefined();
    expect(readOption6([{ code: 8, data: hex('00') }, { code: 8, data: hex('0001') }], elapsedTime)).toBeUndefined();
    expect(readOption6([], elapsedTime)).toBeUndefined();
    expect(new Option6Error(8, 'elapsed-time', 'decode', 'x').reason).toBe('bad-length');
  });
});
