// Reply options: the client identifier (61) is echoed unaltered in OFFER, ACK (lease or
// INFORM) and NAK when the client sent one (RFC 6842 3), early enough to survive a small
// maximum message size, and never invented when the client sent none.
import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../../../dataplane/ip4.js';
import { decodeDhcp, encodeDhcp } from '../../../../dhcp/packet.js';
import { networkOptions, replyOptions } from '../../../../dhcp/stages/reply-options.js';
import { replySkeleton } from '../../../../dhcp/stages/reply.js';
import type { NetworkDhcpConfig } from '../../../../dhcp/types.js';
import { DHCP, request } from '../build.js';

const config: NetworkDhcpConfig = {
  network: 'n1',
  cidr: '192.168.10.0/24',
  serverAddress: '192.168.10.2',
  gateway: '192.168.10.1',
  dnsServers: ['192.168.10.1'],
  leaseSeconds: 3600,
};
const network = networkOptions(config, parseCidr(config.cidr));
// A DUID-based id (RFC 4361: type 255, IAID, DUID-LL) and an odd one-byte id: both echoed as sent.
const DUID_ID = Buffer.from('ff00000001000300015254001234 56'.replace(/ /g, ''), 'hex');
const ODD_ID = Buffer.from([0x07]);

function reply(type: number, reqType: number, opts: [number, Buffer | number[]][], leaseSeconds?: number) {
  return replyOptions({
    type, serverAddress: config.serverAddress, network, req: request(reqType, { opts }),
    ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
  });
}

describe('replyOptions: client identifier echo (RFC 6842)', () => {
  const cases = [
    ['OFFER', DHCP.OFFER, DHCP.DISCOVER, 3600],
    ['ACK', DHCP.ACK, DHCP.REQUEST, 3600],
    ['ACK to INFORM', DHCP.ACK, DHCP.INFORM, undefined],
    ['NAK', DHCP.NAK, DHCP.REQUEST, undefined],
  ] as const;
  for (const [label, type, reqType, lease] of cases) {
    it(`${label}: echoes option 61 unaltered, right after 53 and 54`, () => {
      for (const id of [DUID_ID, ODD_ID]) {
        const out = reply(type, reqType, [[61, id]], lease);
        expect(out.get(61)).toEqual(id);
        expect([...out.keys()].slice(0, 3)).toEqual([53, 54, 61]);
      }
    });
    it(`${label}: has no option 61 when the client sent none`, () => {
      expect(reply(type, reqType, [], lease).has(61)).toBe(false);
    });
  }

  it('NAK carries only 53, 54, 61 and the relay information (82) last', () => {
    const out = reply(DHCP.NAK, DHCP.REQUEST, [[61, DUID_ID], [82, [1, 2, 0x61, 0x62]]]);
    expect([...out.keys()]).toEqual([53, 54, 61, 82]);
  });

  it('a client asking for 61 in its parameter request list gets it once', () => {
    const out = reply(DHCP.OFFER, DHCP.DISCOVER, [[61, DUID_ID], [55, [1, 61, 3, 6]]], 3600);
    expect([...out.keys()].filter((c) => c === 61)).toHaveLength(1);
  });

  it('survives the wire at the smallest maximum message size, even when other options do not fit', () => {
    const big = { ...config, searchDomains: Array.from({ length: 40 }, (_, i) => `zone${i}.example${i}.internal`) };
    const bigNetwork = networkOptions(big, parseCidr(big.cidr));
    const req = request(DHCP.DISCOVER, { opts: [[61, DUID_ID]] });
    const msg = replySkeleton(req, { yiaddr: '192.168.10.10' });
    msg.options = replyOptions({ type: DHCP.OFFER, serverAddress: big.serverAddress, network: bigNetwork, req, leaseSeconds: 3600 });
    const bytes = encodeDhcp(msg, 548);
    expect(bytes.length).toBeLessThanOrEqual(548);
    const back = decodeDhcp(bytes);
    expect(back.options.has(119)).toBe(false); // the search list did not fit
    expect(back.options.get(61)).toEqual(DUID_ID);
  });
});
