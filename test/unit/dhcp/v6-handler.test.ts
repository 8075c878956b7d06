// The DHCPv6 handler's decisions (RFC 8415 18.3), with messages built by hand and passed through
// the codec both ways (what a socket would carry): Solicit/Advertise/Request/Reply, Rapid
// Commit, Renew/Rebind (also after lost state), Release, Decline (quarantine), Confirm,
// Information-Request, server-id checks, reservations by MAC from the DUID and by DUID, pool
// exhaustion, stateless networks, and a /64 pool.
import { describe, expect, it } from 'vitest';
import { MAX_IAS_PER_MESSAGE, Dhcp6Handler, type Dhcp6Result, type Lease6View } from '../../../dhcp/v6/handler.js';
import {
  OPT6, STATUS, clientId, duidHex, iaNa, option6, optionRequest, preference, rapidCommit, readOption6, readOptions6, serverId,
  statusCode, dnsServers, domainSearch, type Dhcp6Option, type Duid, type IaNa,
} from '../../../dhcp/v6/options/index.js';
import { DHCP6, decodeDhcp6, encodeDhcp6, type Dhcp6Message } from '../../../dhcp/v6/packet.js';
import { iaKey, type Dhcp6Config, type Lease6 } from '../../../dhcp/v6/types.js';

const SERVER: Duid = { type: 'll', hardwareType: 1, linkLayerAddress: '02:4e:00:00:00:01' };
const OTHER_SERVER: Duid = { type: 'll', hardwareType: 1, linkLayerAddress: '02:4e:00:00:00:99' };
const A: Duid = { type: 'llt', hardwareType: 1, time: 700000000, linkLayerAddress: '52:54:00:00:00:0a' };
const B: Duid = { type: 'll', hardwareType: 1, linkLayerAddress: '52:54:00:00:00:0b' };
const EN: Duid = { type: 'en', enterpriseNumber: 32473, identifier: '0102030405060708' };

const CONFIG: Dhcp6Config = {
  network: 'net6',
  prefix: 'fd00:77::/64',
  pools: [{ start: 'fd00:77::100', end: 'fd00:77::103' }],
  reservations: [
    { mac: '52:54:00:00:00:42', ip: 'fd00:77::42' },
    { duid: duidHex(EN), ip: 'fd00:77::43' },
  ],
  dnsServers: ['fd00:77::53'],
  searchDomains: ['v6.example'],
  preferredLifetimeSec: 3600,
  validLifetimeSec: 7200,
  serverDuid: SERVER,
  stateful: true,
};

/** A Map-backed store that applies commits at once (the real one does too, before its fsync). */
class MemStore implements Lease6View {
  readonly byIp = new Map<string, Lease6>();
  readonly keys = new Map<string, Lease6>();
  get(ip: string): Lease6 | undefined {
    return this.byIp.get(ip);
  }
  byKey(key: string): Lease6 | undefined {
    return this.keys.get(key);
  }
  all(): Lease6[] {
    return [...this.byIp.values()];
  }
  commit(l: Lease6): void {
    this.byIp.set(l.ip, l);
    if (l.state !== 'declined') this.keys.set(iaKey(l.duid, l.iaid), l);
  }
}

function setup(config: Partial<Dhcp6Config> = {}) {
  let t = 1_000_000;
  const store = new MemStore();
  const h = new Dhcp6Handler({ ...CONFIG, ...config }, store, { now: () => t });
  /** Through the codec both ways; commits applied as the transport would. */
  const send = (msg: Dhcp6Message): Dhcp6Result | null => {
    const r = h.handle(decodeDhcp6(encodeDhcp6(msg)));
    if (!r) return null;
    for (const l of r.commits) store.commit(l);
    return { ...r, reply: decodeDhcp6(encodeDhcp6(r.reply)) };
  };
  return { h, store, send, tick: (ms: number) => (t += ms), now: () => t };
}

const ia = (iaid: number, addresses: string[] = []): Dhcp6Option =>
  option6(iaNa, { iaid, t1: 0, t2: 0, addresses: addresses.map((address) => ({ address, preferredLifetime: 0, validLifetime: 0, otherOptions: [] })), otherOptions: [] });
const ORO = option6(optionRequest, [OPT6.DNS_SERVERS, OPT6.DOMAIN_SEARCH]);
let xid = 1;
function msg(type: number, client: Duid | null, opts: Dhcp6Option[], server: Duid | null = null): Dhcp6Message {
  const options: Dhcp6Option[] = [];
  if (client) options.push(option6(clientId, client));
  if (server) options.push(option6(serverId, server));
  options.push(...opts);
  return { msgType: type, transactionId: xid++ & 0xffffff, options };
}
const ias = (r: Dhcp6Result | null): IaNa[] => readOptions6(r!.reply.options, iaNa);
const addrOf = (r: Dhcp6Result | null, i = 0): string | undefined => ias(r)[i]?.addresses[0]?.address;
const topStatus = (r: Dhcp6Result | null) => readOption6(r!.reply.options, statusCode);

/** Solicit then Request: the bound address. */
function lease(s: ReturnType<typeof setup>, client: Duid, iaid = 1): string {
  const adv = s.send(msg(DHCP6.SOLICIT, client, [ia(iaid), ORO]));
  const ip = addrOf(adv)!;
  const rep = s.send(msg(DHCP6.REQUEST, client, [ia(iaid, [ip]), ORO], SERVER));
  expect(addrOf(rep)).toBe(ip);
  return ip;
}

describe('DHCPv6 handler: Solicit, Request', () => {
  it('advertises the lowest pool address with lifetimes, T1/T2, preference, ids and the asked-for options', () => {
    const s = setup();
    const req = msg(DHCP6.SOLICIT, A, [ia(7), ORO]);
    const r = s.send(req);
    expect(r!.reply.msgType).toBe(DHCP6.ADVERTISE);
    expect(r!.reply.transactionId).toBe(req.transactionId);
    expect(r!.commits).toEqual([]);
    expect(readOption6(r!.reply.options, clientId)).toEqual(A);
    expect(readOption6(r!.reply.options, serverId)).toEqual(SERVER);
    expect(readOption6(r!.reply.options, preference)).toBe(255);
    expect(readOption6(r!.reply.options, dnsServers)).toEqual(['fd00:77::53']);
    expect(readOption6(r!.reply.options, domainSearch)).toEqual(['v6.example']);
    const [a] = ias(r);
    expect(a).toMatchObject({ iaid: 7, t1: 1800, t2: 2880 });
    expect(a!.addresses).toEqual([{ address: 'fd00:77::100', preferredLifetime: 3600, validLifetime: 7200, otherOptions: [] }]);
    // Held for A: B gets the next one.
    expect(addrOf(s.send(msg(DHCP6.SOLICIT, B, [ia(1)])))).toBe('fd00:77::101');
  });

  it('Request binds the advertised address and commits it; a second IA gets a second address', () => {
    const s = setup();
    s.send(msg(DHCP6.SOLICIT, A, [ia(1), ia(2)]));
    const r = s.send(msg(DHCP6.REQUEST, A, [ia(1), ia(2)], SERVER));
    expect(r!.reply.msgType).toBe(DHCP6.REPLY);
    expect(ias(r).map((x) => x.addresses[0]?.address)).toEqual(['fd00:77::100', 'fd00:77::101']);
    expect(r!.commits.map((l) => [l.ip, l.iaid, l.state, l.mac])).toEqual([
      ['fd00:77::100', 1, 'bound', '52:54:00:00:00:0a'],
      ['fd00:77::101', 2, 'bound', '52:54:00:00:00:0a'],
    ]);
    expect(r!.commits[0]!.expiresAt).toBe(s.now() + 7200_000);
    expect(r!.commits[0]!.duid).toBe(duidHex(A));
  });

  it('only the options the client asked for; all of them without an Option Request', () => {
    const s = setup();
    const only23 = s.send(msg(DHCP6.SOLICIT, A, [ia(1), option6(optionRequest, [OPT6.DNS_SERVERS])]));
    expect(readOption6(only23!.reply.options, domainSearch)).toBeUndefined();
    expect(readOption6(only23!.reply.options, dnsServers)).toEqual(['fd00:77::53']);
    const none = s.send(msg(DHCP6.SOLICIT, B, [ia(1)]));
    expect(readOption6(none!.reply.options, domainSearch)).toEqual(['v6.example']);
  });

  it('Rapid Commit: a Solicit that asks for it gets a committed Reply; disabled: an Advertise', () => {
    const s = setup();
    const r = s.send(msg(DHCP6.SOLICIT, A, [ia(1), option6(rapidCommit, true)]));
    expect(r!.reply.msgType).toBe(DHCP6.REPLY);
    expect(r!.reply.options.some((o) => o.code === OPT6.RAPID_COMMIT)).toBe(true);
    expect(r!.commits.map((l) => l.ip)).toEqual(['fd00:77::100']);
    const off = setup({ rapidCommit: false });
    const r2 = off.send(msg(DHCP6.SOLICIT, A, [ia(1), option6(rapidCommit, true)]));
    expect(r2!.reply.msgType).toBe(DHCP6.ADVERTISE);
    expect(r2!.reply.options.some((o) => o.code === OPT6.RAPID_COMMIT)).toBe(false);
  });

  it('server id: Request/Renew/Release/Decline for another server or without one are dropped; Solicit/Rebind/Confirm with one too', () => {
    const s = setup();
    const ip = lease(s, A);
    expect(s.send(msg(DHCP6.REQUEST, A, [ia(1, [ip])], OTHER_SERVER))).toBeNull();
    expect(s.send(msg(DHCP6.RENEW, A, [ia(1, [ip])], OTHER_SERVER))).toBeNull();
    expect(s.send(msg(DHCP6.RELEASE, A, [ia(1, [ip])], OTHER_SERVER))).toBeNull();
    expect(s.send(msg(DHCP6.DECLINE, A, [ia(1, [ip])], OTHER_SERVER))).toBeNull();
    expect(s.send(msg(DHCP6.RENEW, A, [ia(1, [ip])]))).toBeNull();
    expect(s.send(msg(DHCP6.SOLICIT, A, [ia(1)], SERVER))).toBeNull();
    expect(s.send(msg(DHCP6.REBIND, A, [ia(1, [ip])], SERVER))).toBeNull();
    expect(s.send(msg(DHCP6.CONFIRM, A, [ia(1, [ip])], SERVER))).toBeNull();
    expect(s.send(msg(DHCP6.INFORMATION_REQUEST, A, [], OTHER_SERVER))).toBeNull();
    expect(s.send(msg(DHCP6.SOLICIT, null, [ia(1)]))).toBeNull();
    expect(s.h.counters.dropped).toEqual({
      'other-server': 5, 'missing-server-id': 1, 'server-id-in-solicit': 1, 'server-id-in-rebind': 1, 'server-id-in-confirm': 1, 'missing-client-id': 1,
    });
    expect(s.store.get(ip)!.state).toBe('bound');
  });
});

describe('DHCPv6 handler: Renew, Rebind', () => {
  it('Renew extends the binding with the same address', () => {
    const s = setup();
    const ip = lease(s, A);
    s.tick(3000_000);
    const r = s.send(msg(DHCP6.RENEW, A, [ia(1, [ip])], SERVER));
    expect(addrOf(r)).toBe(ip);
    expect(ias(r)[0]).toMatchObject({ t1: 1800, t2: 2880 });
    expect(r!.commits).toEqual([expect.objectContaining({ ip, state: 'bound', expiresAt: s.now() + 7200_000 })]);
  });

  it('Renew without a binding: NoBinding, and addresses that are not the client\'s get lifetimes 0', () => {
    const s = setup();
    const ipA = lease(s, A);
    const r = s.send(msg(DHCP6.RENEW, B, [ia(1, [ipA])], SERVER));
    const [x] = ias(r);
    expect(x!.status?.code).toBe(STATUS.NO_BINDING);
    expect(x!.addresses).toEqual([{ address: ipA, preferredLifetime: 0, validLifetime: 0, otherOptions: [] }]);
    expect(r!.commits).toEqual([]);
    expect(s.h.counters.statuses).toEqual({ 'no-binding': 1 });
  });

  it('Rebind after lost state binds the address again when it is free and allowed', () => {
    const s = setup();
    const r = s.send(msg(DHCP6.REBIND, A, [ia(1, ['fd00:77::102'])]));
    expect(addrOf(r)).toBe('fd00:77::102');
    expect(r!.commits.map((l) => [l.ip, l.state])).toEqual([['fd00:77::102', 'bound']]);
  });

  it('Rebind with an address off the link: lifetimes 0, no status', () => {
    const s = setup();
    const r = s.send(msg(DHCP6.REBIND, A, [ia(1, ['fd00:99::5'])]));
    const [x] = ias(r);
    expect(x!.status).toBeUndefined();
    expect(x!.addresses).toEqual([{ address: 'fd00:99::5', preferredLifetime: 0, validLifetime: 0, otherOptions: [] }]);
    expect(x).toMatchObject({ t1: 0, t2: 0 });
  });

  it('a reservation made later moves the client on Renew (old address at lifetime 0, released)', () => {
    const s = setup();
    const ip = lease(s, B);
    s.h.reconfigure({ ...CONFIG, reservations: [{ mac: '52:54:00:00:00:0b', ip: 'fd00:77::4b' }] });
    const r = s.send(msg(DHCP6.RENEW, B, [ia(1, [ip])], SERVER));
    expect(ias(r)[0]!.addresses.map((a) => [a.address, a.validLifetime])).toEqual([['fd00:77::4b', 7200], [ip, 0]]);
    expect(s.store.get(ip)!.state).toBe('released');
  });
});

describe('DHCPv6 handler: Release, Decline, Confirm, Information-Request', () => {
  it('Release frees the address (Success); the same client gets it back, a new one gets a fresh one first', () => {
    const s = setup();
    const ip = lease(s, A);
    const r = s.send(msg(DHCP6.RELEASE, A, [ia(1, [ip])], SERVER));
    expect(r!.reply.msgType).toBe(DHCP6.REPLY);
    expect(topStatus(r)?.code).toBe(STATUS.SUCCESS);
    expect(r!.commits).toEqual([expect.objectContaining({ ip, state: 'released' })]);
    expect(addrOf(s.send(msg(DHCP6.SOLICIT, B, [ia(1)])))).toBe('fd00:77::101');
    expect(addrOf(s.send(msg(DHCP6.SOLICIT, A, [ia(1)])))).toBe(ip);
  });

  it('Release of an IA without a binding: NoBinding for that IA', () => {
    const s = setup();
    const r = s.send(msg(DHCP6.RELEASE, A, [ia(1, ['fd00:77::100'])], SERVER));
    expect(ias(r)[0]!.status?.code).toBe(STATUS.NO_BINDING);
    expect(r!.commits).toEqual([]);
  });

  it('Decline quarantines the address: nobody gets it until the quarantine ends', () => {
    const s = setup();
    const ip = lease(s, A);
    const r = s.send(msg(DHCP6.DECLINE, A, [ia(1, [ip])], SERVER));
    expect(topStatus(r)?.code).toBe(STATUS.SUCCESS);
    expect(r!.commits).toEqual([expect.objectContaining({ ip, state: 'declined', expiresAt: s.now() + 600_000 })]);
    expect(addrOf(s.send(msg(DHCP6.SOLICIT, A, [ia(1)])))).toBe('fd00:77::101');
    expect(s.send(msg(DHCP6.REBIND, B, [ia(1, [ip])]))!.commits).toEqual([]);
  });

  it('Confirm: Success when every address is on the link, NotOnLink otherwise, silence without addresses', () => {
    const s = setup();
    expect(topStatus(s.send(msg(DHCP6.CONFIRM, A, [ia(1, ['fd00:77::5'])])))?.code).toBe(STATUS.SUCCESS);
    expect(topStatus(s.send(msg(DHCP6.CONFIRM, A, [ia(1, ['fd00:77::5', 'fd00:99::5'])])))?.code).toBe(STATUS.NOT_ON_LINK);
    expect(s.send(msg(DHCP6.CONFIRM, A, [ia(1)]))).toBeNull();
  });

  it('Information-Request: DNS and the search list, no IA, no commits; with an IA it is dropped', () => {
    const s = setup({ stateful: false });
    const r = s.send(msg(DHCP6.INFORMATION_REQUEST, A, [ORO]));
    expect(r!.reply.msgType).toBe(DHCP6.REPLY);
    expect(r!.reply.options.map((o) => o.code)).toEqual([OPT6.CLIENT_ID, OPT6.SERVER_ID, OPT6.DNS_SERVERS, OPT6.DOMAIN_SEARCH]);
    expect(readOption6(r!.reply.options, dnsServers)).toEqual(['fd00:77::53']);
    expect(readOption6(r!.reply.options, domainSearch)).toEqual(['v6.example']);
    // The client id is optional here.
    expect(s.send(msg(DHCP6.INFORMATION_REQUEST, null, [ORO]))!.reply.options.map((o) => o.code)).toEqual([OPT6.SERVER_ID, OPT6.DNS_SERVERS, OPT6.DOMAIN_SEARCH]);
    expect(s.send(msg(DHCP6.INFORMATION_REQUEST, A, [ia(1)]))).toBeNull();
  });
});

describe('DHCPv6 handler: reservations, exhaustion, stateless, big pools', () => {
  it('reservation by the MAC in a DUID-LL/LLT, and by DUID', () => {
    const s = setup();
    const byMac: Duid = { type: 'llt', hardwareType: 1, time: 1, linkLayerAddress: '52:54:00:00:00:42' };
    expect(addrOf(s.send(msg(DHCP6.SOLICIT, byMac, [ia(1)])))).toBe('fd00:77::42');
    expect(addrOf(s.send(msg(DHCP6.SOLICIT, EN, [ia(1)])))).toBe('fd00:77::43');
    // Nobody else may have a reserved address, even when asking for it.
    const r = s.send(msg(DHCP6.REQUEST, A, [ia(1, ['fd00:77::42'])], SERVER));
    expect(addrOf(r)).toBe('fd00:77::100');
  });

  it('reservations that cannot be honoured are reported', () => {
    const s = setup({ reservations: [{ mac: '52:54:00:00:00:01', ip: 'fd00:99::1' }, { ip: 'fd00:77::9' }] });
    expect(s.h.ignoredReservations.map((x) => x.why)).toEqual([expect.stringContaining('not an IPv6 address in'), 'names neither a DUID nor a MAC']);
  });

  it('exhausted pools: Advertise with only NoAddrsAvail; Request: the IA with NoAddrsAvail', () => {
    const s = setup({ pools: [{ start: 'fd00:77::100', end: 'fd00:77::100' }] });
    lease(s, A);
    const adv = s.send(msg(DHCP6.SOLICIT, B, [ia(1)]));
    expect(adv!.reply.msgType).toBe(DHCP6.ADVERTISE);
    expect(ias(adv)).toEqual([]);
    expect(topStatus(adv)?.code).toBe(STATUS.NO_ADDRS_AVAIL);
    const rep = s.send(msg(DHCP6.REQUEST, B, [ia(1)], SERVER));
    expect(ias(rep)[0]).toMatchObject({ t1: 0, t2: 0, addresses: [], status: { code: STATUS.NO_ADDRS_AVAIL } });
    expect(rep!.commits).toEqual([]);
    // Once A's lease lapses, B gets it.
    s.tick(7200_001);
    expect(addrOf(s.send(msg(DHCP6.SOLICIT, B, [ia(1)])))).toBe('fd00:77::100');
  });

  it('an Advertise hold lapses', () => {
    const s = setup({ pools: [{ start: 'fd00:77::100', end: 'fd00:77::100' }] });
    s.send(msg(DHCP6.SOLICIT, A, [ia(1)]));
    expect(ias(s.send(msg(DHCP6.SOLICIT, B, [ia(1)])))).toEqual([]);
    s.tick(60_001);
    expect(addrOf(s.send(msg(DHCP6.SOLICIT, B, [ia(1)])))).toBe('fd00:77::100');
  });

  it('stateless: no addresses (NoAddrsAvail), reservations ignored, configuration still served', () => {
    const s = setup({ stateful: false });
    const adv = s.send(msg(DHCP6.SOLICIT, EN, [ia(1)]));
    expect(topStatus(adv)?.code).toBe(STATUS.NO_ADDRS_AVAIL);
    expect(s.send(msg(DHCP6.REBIND, A, [ia(1, ['fd00:77::100'])]))!.commits).toEqual([]);
  });

  it('a whole /64 as pool: allocation is immediate and sequential', () => {
    const s = setup({ pools: [{ start: 'fd00:77::1:0', end: 'fd00:77::ffff:ffff:ffff:ffff' }] });
    const got = [];
    for (let i = 0; i < 200; i++) {
      const r = s.send(msg(DHCP6.SOLICIT, { type: 'll', hardwareType: 1, linkLayerAddress: `52:54:00:00:01:${(i % 256).toString(16).padStart(2, '0')}` }, [ia(1), option6(rapidCommit, true)]));
      got.push(addrOf(r));
    }
    expect(got[0]).toBe('fd00:77::1:0');
    expect(got[199]).toBe('fd00:77::1:c7');
    expect(new Set(got).size).toBe(200);
  });

  it('bad configurations are refused with the network named', () => {
    expect(() => setup({ prefix: '10.0.0.0/8' })).toThrow(/DHCPv6 for network net6: prefix/);
    expect(() => setup({ pools: [{ start: 'fd00:99::1', end: 'fd00:99::2' }] })).toThrow(/outside the prefix/);
    expect(() => setup({ preferredLifetimeSec: 9000 })).toThrow(/longer than the valid lifetime/);
  });
});


describe('DHCPv6 handler: one packet cannot take a pool', () => {
  it('serves at most MAX_IAS_PER_MESSAGE IA_NAs of one Solicit; the next client still gets an address', () => {
    const s = setup({ pools: [{ start: 'fd00:77::100', end: 'fd00:77::10f' }] });
    const greedy = Array.from({ length: 254 }, (_, i) => ia(i));
    const adv = s.send(msg(DHCP6.SOLICIT, B, greedy));
    expect(ias(adv).length).toBe(MAX_IAS_PER_MESSAGE);
    expect(ias(adv).filter((x) => x.addresses.length > 0).length).toBe(MAX_IAS_PER_MESSAGE);
    // 16 addresses, 8 held by the greedy client: a real client is served.
    expect(addrOf(s.send(msg(DHCP6.SOLICIT, A, [ia(1)])))).toMatch(/^fd00:77::10[0-9a-f]$/);
  });
});
