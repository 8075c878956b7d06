// DHCP figures for metrics stay monotonic when a network's server instance is replaced: the
// book folds a retired instance's final counts into the network's base. Each instance here is
// a real DhcpHandler on a real lease store (the part of DhcpServer that counts); the socket
// side is what the e2e metrics test covers.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DhcpStatsBook, type CountedServer } from '../../../agent/dhcp/stats.js';
import { registerDhcpMetrics } from '../../../agent/metrics/dhcp.js';
import { DhcpHandler } from '../../../dhcp/handler.js';
import { LeaseStore } from '../../../dhcp/lease-store.js';
import type { NetworkDhcpConfig } from '../../../dhcp/types.js';
import { DHCP, ip, request } from '../dhcp/build.js';

const SERVER = '192.168.10.2';
const config: NetworkDhcpConfig = {
  network: 'lan', cidr: '192.168.10.0/24', serverAddress: SERVER, leaseSeconds: 3600,
  pools: [{ start: '192.168.10.10', end: '192.168.10.20' }],
  reservations: [{ mac: '52:54:00:00:00:99', ip: '192.168.10.15' }],
};

interface TestInstance extends CountedServer {
  handler: DhcpHandler;
  store: LeaseStore;
  stop(): Promise<void>;
}

let dir: string;
const open: TestInstance[] = [];

/** A server instance as DhcpServer reports it: counts kept after stop, no leases or pool once stopped. */
async function instance(): Promise<TestInstance> {
  const store = await LeaseStore.open(join(dir, 'lan.leases'));
  const handler = new DhcpHandler(config, store);
  let running = true;
  const zero = { decodeErrors: 0, overloadDrops: 0, handlerErrors: 0, commitErrors: 0, encodeErrors: 0, sendErrors: 0, relayDrops: 0 };
  const inst: TestInstance = {
    handler, store,
    get running() {
      return running;
    },
    get counters() {
      return { ...zero, decodeErrors: running ? 0 : 1, handler: structuredClone({ ...handler.counters }) };
    },
    leases: () => (running ? handler.leases() : []),
    poolUsage: () => (running ? handler.poolUsage() : null),
    stop: async () => {
      running = false;
      await store.close();
    },
  };
  open.push(inst);
  return inst;
}

async function dora(inst: TestInstance, mac: string): Promise<void> {
  const offer = inst.handler.handle(request(DHCP.DISCOVER, { chaddr: mac }));
  const ack = inst.handler.handle(request(DHCP.REQUEST, { chaddr: mac, opts: [[54, ip(SERVER)], [50, ip(offer!.reply.yiaddr)]] }));
  expect(ack?.commit).toBeDefined();
  await inst.store.commit(ack!.commit!);
}

beforeEach(() => {
  dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'hostnet-dhcp-stats-'));
});
afterEach(async () => {
  for (const i of open.splice(0)) if (i.running) await i.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('DhcpStatsBook', () => {
  it('keeps counts across a restart of the network\'s server, counting each instance once', async () => {
    const book = new DhcpStatsBook();
    const a = await instance();
    await dora(a, '52:54:00:00:00:01');
    // A REQUEST for another server: dropped, by reason.
    a.handler.handle(request(DHCP.REQUEST, { chaddr: '52:54:00:00:00:02', opts: [[54, ip('192.168.10.3')], [50, ip('192.168.10.11')]] }));
    const first = book.collect(new Map([['lan', a]]));
    expect(first).toMatchObject([{
      network: 'lan', running: true, starts: 1,
      received: { discover: 1, request: 2 }, sent: { offer: 1, ack: 1 }, dropped: { 'other-server': 1 },
      leases: { bound: 1, offered: 0, released: 0, expired: 0, declined: 0 },
      // 11 pool addresses, one of them reserved: 10 for anyone, one bound.
      pool: { size: 10, used: 1 },
    }]);

    // Restart: the old instance is stopping while the new one already runs; both count once.
    const b = await instance();
    await dora(b, '52:54:00:00:00:03');
    const during = book.collect(new Map([['lan', b]]));
    expect(during[0]).toMatchObject({ starts: 2, received: { discover: 2, request: 3 }, sent: { offer: 2, ack: 2 } });
    await a.stop(); // its counters now carry one more figure (decodeErrors: 1 after stop in this stand-in)
    const after = book.collect(new Map([['lan', b]]));
    expect(after[0]).toMatchObject({
      starts: 2, received: { discover: 2, request: 3 }, sent: { offer: 2, ack: 2 }, dropped: { 'other-server': 1, malformed: 1 },
      leases: { bound: 2 }, pool: { size: 10, used: 2 },
    });
    // Folded once: asking again changes nothing.
    expect(book.collect(new Map([['lan', b]]))).toEqual(after);
  });

  it('keeps a network\'s counts after its server stops for good, with no leases or pool reported', async () => {
    const book = new DhcpStatsBook();
    const a = await instance();
    await dora(a, '52:54:00:00:00:01');
    book.collect(new Map([['lan', a]]));
    await a.stop();
    expect(book.collect(new Map())).toMatchObject([{
      network: 'lan', running: false, starts: 1, received: { discover: 1, request: 1 }, pool: null,
      leases: { bound: 0, offered: 0, released: 0, expired: 0, declined: 0 },
    }]);
  });

  it('the scraped counters never go down across the restart', async () => {
    const book = new DhcpStatsBook();
    const current = new Map<string, CountedServer>();
    const registry = new Registry();
    registerDhcpMetrics(registry, { stats: () => book.collect(current) });
    const sample = async (series: string): Promise<number> => {
      const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? NaN : Number(line.split(' ')[1]);
    };
    const discovers = 'hostnet_dhcp_packets_received_total{network="lan",type="discover"}';

    const a = await instance();
    current.set('lan', a);
    await dora(a, '52:54:00:00:00:01');
    await dora(a, '52:54:00:00:00:02');
    expect(await sample(discovers)).toBe(2);
    expect(await sample('hostnet_dhcp_pool_used_addresses{network="lan"}')).toBe(2);

    await a.stop();
    const b = await instance();
    current.set('lan', b);
    expect(await sample(discovers)).toBe(2);
    await dora(b, '52:54:00:00:00:03');
    expect(await sample(discovers)).toBe(3);
    expect(await sample('hostnet_dhcp_server_starts_total{network="lan"}')).toBe(2);
    // The new instance read the lease file: all three leases are its own now.
    expect(await sample('hostnet_dhcp_leases{network="lan",state="bound"}')).toBe(3);
  });
});
