// RFC 2131 behaviour of one network's handler, with a real lease store on tmpfs and a fake clock.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DhcpHandler, type HandlerResult } from '../../../dhcp/handler.js';
import { LeaseStore } from '../../../dhcp/lease-store.js';
import { classlessRoutes, parameterRequestList } from '../../../dhcp/options/index.js';
import { decodeDhcp, encodeDhcp, type DhcpMessage } from '../../../dhcp/packet.js';
import type { NetworkDhcpConfig } from '../../../dhcp/types.js';
import { DHCP, ip, request } from './build.js';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const R = '52:54:00:00:00:99';
const SERVER = '192.168.10.2';

const config: NetworkDhcpConfig = {
  network: 'n1',
  cidr: '192.168.10.0/24',
  serverAddress: SERVER,
  gateway: '192.168.10.1',
  pools: [{ start: '192.168.10.10', end: '192.168.10.20' }],
  dnsServers: ['192.168.10.1', '9.9.9.9'],
  domainName: 'lab.example',
  searchDomains: ['lab.example', 'svc.lab.example'],
  routes: [{ destination: '10.10.0.0/16', via: '192.168.10.1' }],
  mtu: 1450,
  leaseSeconds: 3600,
  reservations: [{ mac: R, ip: '192.168.10.50' }],
};

let dir: string;
let store: LeaseStore;
let h: DhcpHandler;
let t: number;

beforeEach(async () => {
  dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'hostnet-handler-'));
  store = await LeaseStore.open(join(dir, 'n1.leases'));
  t = 1_700_000_000_000;
  h = new DhcpHandler(config, store, { now: () => t });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Handles a request the way the transport does: commit (durably) before the reply counts. */
async function send(req: DhcpMessage): Promise<HandlerResult | null> {
  const r = h.handle(req);
  if (r?.commit) await store.commit(r.commit);
  return r;
}

const typeOf = (r: HandlerResult | null) => r?.reply.options.get(53)?.[0];
const optIp = (r: HandlerResult | null, code: number) => [...(r?.reply.options.get(code) ?? [])].join('.');
const u32 = (r: HandlerResult | null, code: number) => r?.reply.options.get(code)?.readUInt32BE(0);

function discover(mac: string, extra: Parameters<typeof request>[1] = {}) {
  return send(request(DHCP.DISCOVER, { chaddr: mac, ...extra }));
}
function select(mac: string, addr: string, server = SERVER, extra: Parameters<typeof request>[1] = {}) {
  const { opts = [], ...rest } = extra;
  return send(request(DHCP.REQUEST, { chaddr: mac, ...rest, opts: [[54, ip(server)], [50, ip(addr)], ...opts] }));
}
async function dora(mac: string, extra: Parameters<typeof request>[1] = {}): Promise<string> {
  const offer = await discover(mac, extra);
  const ack = await select(mac, offer!.reply.yiaddr, SERVER, extra);
  expect(typeOf(ack)).toBe(DHCP.ACK);
  return ack!.reply.yiaddr;
}

describe('DhcpHandler', () => {
  it('DORA: OFFER with the lowest pool address, then ACK with the lease committed', async () => {
    const offer = await discover(A);
    expect(typeOf(offer)).toBe(DHCP.OFFER);
    expect(offer!.reply).toMatchObject({ op: 2, yiaddr: '192.168.10.10', xid: 0x1234abcd, chaddr: A, ciaddr: '0.0.0.0' });
    expect(offer!.commit).toBeUndefined();
    expect(offer!.destination).toEqual({ kind: 'unicast', ip: '192.168.10.10', mac: A });
    expect(optIp(offer, 54)).toBe(SERVER);
    expect([u32(offer, 51), u32(offer, 58), u32(offer, 59)]).toEqual([3600, 1800, 3150]);
    expect(optIp(offer, 1)).toBe('255.255.255.0');
    expect(optIp(offer, 3)).toBe('192.168.10.1');
    expect([...offer!.reply.options.keys()].slice(0, 2)).toEqual([53, 54]);

    const ack = await select(A, '192.168.10.10');
    expect(typeOf(ack)).toBe(DHCP.ACK);
    expect(ack!.reply.yiaddr).toBe('192.168.10.10');
    expect(ack!.commit).toMatchObject({ network: 'n1', ip: '192.168.10.10', mac: A, state: 'bound', expiresAt: t + 3_600_000 });
    expect(store.get('192.168.10.10')?.state).toBe('bound');
    // And it survives the wire.
    expect(decodeDhcp(encodeDhcp(ack!.reply)).options.get(51)).toEqual(ack!.reply.options.get(51));
    expect(h.counters.received).toMatchObject({ discover: 1, request: 1 });
    expect(h.counters.sent).toMatchObject({ offer: 1, ack: 1 });
  });

  it('replies by broadcast when the client sets the flag, and through the relay when giaddr is set', async () => {
    expect((await discover(A, { flags: 0x8000 }))!.destination).toEqual({ kind: 'broadcast' });
    const relayed = await discover(B, { giaddr: '192.168.10.254', hops: 1 });
    expect(relayed!.destination).toEqual({ kind: 'relay', ip: '192.168.10.254' });
    expect(relayed!.reply.giaddr).toBe('192.168.10.254');
    expect(await discover('52:54:00:00:00:0c', { giaddr: '10.99.0.1' })).toBeNull();
    expect(h.counters.dropped['foreign-relay']).toBe(1);
  });

  it('holds an offer for its client only, and frees it when the hold lapses', async () => {
    expect((await discover(A))!.reply.yiaddr).toBe('192.168.10.10');
    expect((await discover(B))!.reply.yiaddr).toBe('192.168.10.11');
    expect((await discover(A))!.reply.yiaddr).toBe('192.168.10.10'); // retransmission: same offer
    expect(h.leases().filter((l) => l.state === 'offered').map((l) => l.ip).sort()).toEqual(['192.168.10.10', '192.168.10.11']);
    t += 31_000;
    expect((await discover('52:54:00:00:00:0c'))!.reply.yiaddr).toBe('192.168.10.10');
  });

  it('prefers the requested address (option 50) when free and in a pool', async () => {
    expect((await discover(A, { opts: [[50, ip('192.168.10.15')]] }))!.reply.yiaddr).toBe('192.168.10.15');
    expect((await discover(B, { opts: [[50, ip('192.168.10.1')]] }))!.reply.yiaddr).toBe('192.168.10.10'); // the gateway: no
    expect((await discover('52:54:00:00:00:0c', { opts: [[50, ip('192.168.10.99')]] }))!.reply.yiaddr).toBe('192.168.10.11'); // outside pools
  });

  it('gives a reserved MAC its address, never anyone else', async () => {
    expect(await dora(R)).toBe('192.168.10.50');
    expect(typeOf(await select(A, '192.168.10.50'))).toBe(DHCP.NAK);
    expect((await discover(B, { opts: [[50, ip('192.168.10.50')]] }))!.reply.yiaddr).toBe('192.168.10.10');
  });

  it('SELECTING: NAKs an address that is not available to this client', async () => {
    await dora(A);
    const nak = await select(B, '192.168.10.10');
    expect(typeOf(nak)).toBe(DHCP.NAK);
    expect(nak!.destination).toEqual({ kind: 'broadcast' });
    expect(nak!.commit).toBeUndefined();
    expect(nak!.reply.yiaddr).toBe('0.0.0.0');
    expect(nak!.reply.options.has(51)).toBe(false);
    expect(typeOf(await select(B, '192.168.11.5'))).toBe(DHCP.NAK);
    expect(h.counters.naks).toEqual({ 'address-taken': 1, 'wrong-network': 1 });
    expect(h.counters.sent.nak).toBe(2);
  });

  it('a REQUEST naming another server is dropped and our offer released', async () => {
    expect((await discover(A))!.reply.yiaddr).toBe('192.168.10.10');
    expect(await select(A, '192.168.10.10', '192.168.10.3')).toBeNull();
    expect(h.counters.dropped['other-server']).toBe(1);
    expect((await discover(B))!.reply.yiaddr).toBe('192.168.10.10');
  });

  it('INIT-REBOOT: ACK for its own lease, NAK for the wrong network or another client\'s address, silence when unknown', async () => {
    await dora(A);
    const reboot = (mac: string, addr: string) => send(request(DHCP.REQUEST, { chaddr: mac, opts: [[50, ip(addr)]] }));
    const ack = await reboot(A, '192.168.10.10');
    expect(typeOf(ack)).toBe(DHCP.ACK);
    expect(ack!.commit?.ip).toBe('192.168.10.10');
    expect(typeOf(await reboot(A, '10.1.1.1'))).toBe(DHCP.NAK);
    expect(typeOf(await reboot(A, '192.168.10.12'))).toBe(DHCP.NAK); // it has a lease elsewhere
    expect(typeOf(await reboot(B, '192.168.10.10'))).toBe(DHCP.NAK);
    expect(await reboot(B, '192.168.10.12')).toBeNull();
    expect(h.counters.dropped['init-reboot-unknown-client']).toBe(1);
  });

  it('RENEWING extends the lease by unicast to ciaddr; REBINDING too; another client is NAKed', async () => {
    await dora(A);
    t += 1_800_000;
    const renew = await send(request(DHCP.REQUEST, { chaddr: A, ciaddr: '192.168.10.10' }));
    expect(typeOf(renew)).toBe(DHCP.ACK);
    expect(renew!.reply.ciaddr).toBe('192.168.10.10');
    expect(renew!.destination).toEqual({ kind: 'unicast', ip: '192.168.10.10', mac: A });
    expect(store.get('192.168.10.10')?.expiresAt).toBe(t + 3_600_000);
    t += 3_200_000;
    const rebind = await send(request(DHCP.REQUEST, { chaddr: A, ciaddr: '192.168.10.10', flags: 0x8000 }));
    expect(typeOf(rebind)).toBe(DHCP.ACK);
    const other = await send(request(DHCP.REQUEST, { chaddr: B, ciaddr: '192.168.10.10' }));
    expect(typeOf(other)).toBe(DHCP.NAK);
    expect(other!.destination).toEqual({ kind: 'broadcast' });
  });

  it('RELEASE frees the lease (committed); the same client gets the same address back', async () => {
    await dora(A);
    expect(await send(request(DHCP.RELEASE, { chaddr: A, ciaddr: '192.168.10.10', opts: [[54, ip(SERVER)]] }))).toBeNull();
    expect(store.get('192.168.10.10')?.state).toBe('released');
    await dora(B); // B takes a fresh address, not A's old one
    expect(store.byClient(B)?.ip).toBe('192.168.10.11');
    expect(await dora(A)).toBe('192.168.10.10');
  });

  it('DECLINE quarantines the address, reports it, and releases it after the quarantine', async () => {
    await dora(A);
    expect(await send(request(DHCP.DECLINE, { chaddr: A, opts: [[54, ip(SERVER)], [50, ip('192.168.10.10')]] }))).toBeNull();
    expect(h.leases().find((l) => l.ip === '192.168.10.10')).toMatchObject({ state: 'declined', mac: A, expiresAt: t + 600_000 });
    expect((await discover(A))!.reply.yiaddr).toBe('192.168.10.11');
    // A stranger cannot decline addresses it was never given.
    expect(await send(request(DHCP.DECLINE, { chaddr: B, opts: [[50, ip('192.168.10.12')]] }))).toBeNull();
    expect(store.get('192.168.10.12')).toBeUndefined();
    t += 601_000;
    expect(h.leases().find((l) => l.ip === '192.168.10.10')?.state).toBe('expired');
  });

  it('INFORM: ACK with configuration but no lease, unicast to ciaddr', async () => {
    const r = await send(request(DHCP.INFORM, { chaddr: A, ciaddr: '192.168.10.77' }));
    expect(typeOf(r)).toBe(DHCP.ACK);
    expect(r!.reply.yiaddr).toBe('0.0.0.0');
    expect(r!.reply.ciaddr).toBe('192.168.10.77');
    expect(r!.commit).toBeUndefined();
    for (const code of [51, 58, 59]) expect(r!.reply.options.has(code)).toBe(false);
    expect(optIp(r, 6)).toBe('192.168.10.1.9.9.9.9');
    expect(r!.destination).toEqual({ kind: 'unicast', ip: '192.168.10.77', mac: A });
  });

  it('honours the parameter request list, keeping the mandatory options; 121 carries the default route', async () => {
    const prl = parameterRequestList.encode([121, 6, 1, 3]);
    const r = await discover(A, { opts: [[55, prl]] });
    expect([...r!.reply.options.keys()]).toEqual([53, 54, 51, 58, 59, 1, 3, 121, 6]);
    expect(classlessRoutes.decode(r!.reply.options.get(121)!)).toEqual([
      { destination: '10.10.0.0/16', via: '192.168.10.1' },
      { destination: '0.0.0.0/0', via: '192.168.10.1' },
    ]);
    const all = await discover(B);
    expect([...all!.reply.options.keys()].sort((a, b) => a - b)).toEqual([1, 3, 6, 15, 26, 28, 51, 53, 54, 58, 59, 119, 121, 249]);
    expect(all!.reply.options.get(249)).toEqual(all!.reply.options.get(121));
  });

  it('echoes relay agent information (82) last', async () => {
    const r = await discover(A, { giaddr: '192.168.10.254', opts: [[82, [1, 2, 0x61, 0x62]]] });
    expect([...r!.reply.options.keys()].at(-1)).toBe(82);
    expect(r!.reply.options.get(82)).toEqual(Buffer.from([1, 2, 0x61, 0x62]));
  });

  it('fits the reply into the client\'s maximum message size (57)', async () => {
    const big = { ...config, searchDomains: Array.from({ length: 30 }, (_, i) => `zone${i}.example${i}.internal`) };
    h.reconfigure(big);
    const r = await discover(A, { opts: [[57, [0x02, 0x40]]] });
    const bytes = encodeDhcp(r!.reply, 576 - 28);
    expect(bytes.length).toBeLessThanOrEqual(548);
    const back = decodeDhcp(bytes);
    for (const code of [53, 54, 51, 1, 3]) expect(back.options.has(code), `option ${code}`).toBe(true);
    expect(encodeDhcp(r!.reply, 1500 - 28).length).toBeGreaterThan(548);
  });

  it('identifies a client by option 61 before chaddr', async () => {
    const id: [number, number[]] = [61, [1, 0xde, 0xad, 0xbe, 0xef, 0, 1]];
    expect(await dora(A, { opts: [id] })).toBe('192.168.10.10');
    const again = await discover(B, { opts: [id] });
    expect(again!.reply.yiaddr).toBe('192.168.10.10');
    expect(store.get('192.168.10.10')?.clientId).toBe('01deadbeef0001');
  });

  it('echoes option 61 unaltered in OFFER, ACK and NAK (RFC 6842 3), and only to a client that sent it', async () => {
    const id = Buffer.from([1, 0xde, 0xad, 0xbe, 0xef, 0, 1]);
    const withId: Parameters<typeof request>[1] = { opts: [[61, id]] };
    const offer = await discover(A, withId);
    expect(offer!.reply.options.get(61)).toEqual(id);
    const ack = await select(A, offer!.reply.yiaddr, SERVER, withId);
    expect(typeOf(ack)).toBe(DHCP.ACK);
    expect(ack!.reply.options.get(61)).toEqual(id);
    const nak = await send(request(DHCP.REQUEST, { chaddr: A, opts: [[61, id], [50, ip('10.1.1.1')]] }));
    expect(typeOf(nak)).toBe(DHCP.NAK);
    expect(nak!.reply.options.get(61)).toEqual(id);
    expect(decodeDhcp(encodeDhcp(nak!.reply)).options.get(61)).toEqual(id);
    expect((await discover(B))!.reply.options.has(61)).toBe(false);
  });

  it('drops DISCOVERs when the pool is exhausted, and reuses expired leases', async () => {
    h.reconfigure({ ...config, pools: [{ start: '192.168.10.10', end: '192.168.10.11' }] });
    await dora(A);
    await dora(B);
    expect(await discover('52:54:00:00:00:0c')).toBeNull();
    expect(h.counters.dropped['pool-exhausted']).toBe(1);
    t += 3_601_000;
    expect(h.leases().every((l) => l.state === 'expired')).toBe(true);
    expect((await discover('52:54:00:00:00:0c'))!.reply.yiaddr).toBe('192.168.10.10');
  });

  it('a DISCOVER flood from new MACs fills the pool with offers, then is dropped and counted', () => {
    for (let i = 0; i < 5000; i++) h.handle(request(DHCP.DISCOVER, { chaddr: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}` }));
    expect(h.counters.sent.offer).toBe(11);
    expect(h.counters.dropped['pool-exhausted']).toBe(4989);
  });

  it('reconfigure keeps leases; a lease outside the new pools is NAKed when its client asks', async () => {
    await dora(A);
    h.reconfigure({ ...config, pools: [{ start: '192.168.10.30', end: '192.168.10.40' }] });
    expect(h.leases().map((l) => l.ip)).toEqual(['192.168.10.10']);
    expect(typeOf(await send(request(DHCP.REQUEST, { chaddr: A, ciaddr: '192.168.10.10' })))).toBe(DHCP.NAK);
    expect((await discover(A))!.reply.yiaddr).toBe('192.168.10.30');
    expect(() => h.reconfigure({ ...config, gateway: '10.0.0.1' })).toThrow(/network n1: gateway/);
  });

  it('moves a client to a reservation added after it got a dynamic address', async () => {
    await dora(A);
    h.reconfigure({ ...config, reservations: [{ mac: A, ip: '192.168.10.60' }] });
    expect(typeOf(await send(request(DHCP.REQUEST, { chaddr: A, ciaddr: '192.168.10.10' })))).toBe(DHCP.NAK);
    expect(await dora(A)).toBe('192.168.10.60');
  });

  it('drops replies sent to it and unknown message types', async () => {
    expect(h.handle({ ...request(DHCP.OFFER), op: 2 })).toBeNull();
    expect(h.handle(request(13))).toBeNull();
    expect(h.counters.dropped).toMatchObject({ 'not-a-request': 1, 'unsupported-type': 1 });
  });
});
