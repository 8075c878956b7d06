// The embedded DHCP server against real clients (busybox udhcpc, ISC dhclient, dhcpcd), each in
// its own namespace behind a veth on the server's bridge: the options as the client itself
// understood them, renewal, release, reservations, and two networks on one host kept apart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DhcpServer } from '../../dhcp/server.js';
import type { NetworkDhcpConfig } from '../../dhcp/types.js';
import { DhcpClientRun, type ClientKind, type ClientLease } from '../lib/dhcp-clients.js';
import { addDhcpClient, createDhcpLan, testMac, waitForwarding } from '../../dhcp/testing/lan.js';
import { dataplaneNeighbours } from '../lib/dhcp-neighbours.js';
import { ipAddresses, ipJson } from '../../dataplane/testing/ip.js';
import { createTestNetns, destroyTestNetns } from '../lib/netns.js';
import { waitFor } from '../lib/wait-for.js';

const RESERVED_MAC = '02:4e:00:00:aa:01';

function netConfig(name: string, third: number, extra: Partial<NetworkDhcpConfig> = {}): NetworkDhcpConfig {
  return {
    network: name,
    cidr: `10.${third}.0.0/24`,
    serverAddress: `10.${third}.0.1`,
    gateway: `10.${third}.0.1`,
    pools: [{ start: `10.${third}.0.100`, end: `10.${third}.0.199` }],
    dnsServers: [`10.${third}.0.53`, `10.${third}.0.54`],
    domainName: 'lab.example',
    searchDomains: ['lab.example', 'svc.example'],
    routes: [{ destination: '10.99.0.0/16', via: `10.${third}.0.254` }],
    mtu: 1400,
    // dhcpcd enforces 20 s at least; T1 = 10 s keeps the renewal within the test.
    leaseSeconds: 20,
    reservations: [{ mac: RESERVED_MAC, ip: `10.${third}.0.42` }],
    ...extra,
  };
}

/** Everything one test made; torn down in afterEach, also when the test fails. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function netns(prefix: string): Promise<string> {
  const name = await createTestNetns(prefix);
  cleanups.push(() => destroyTestNetns(name));
  return name;
}

async function startServer(hostNs: string, bridge: string, config: NetworkDhcpConfig): Promise<DhcpServer> {
  const dir = await mkdtemp(join(tmpdir(), 'hntest-dhcp-srv-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const neighbours = await dataplaneNeighbours(hostNs);
  cleanups.push(() => neighbours.close());
  const server = new DhcpServer({ netns: hostNs, device: bridge, config, leaseFile: join(dir, 'leases'), neighbours });
  await server.start();
  cleanups.push(() => server.stop());
  return server;
}

async function startClient(kind: ClientKind, ns: string, ifname: string): Promise<DhcpClientRun> {
  const c = await DhcpClientRun.start(kind, ns, ifname);
  cleanups.push(() => c.stop());
  return c;
}

function expectOptions(lease: ClientLease, third: number): void {
  expect(lease.prefix).toBe(24);
  expect(lease.routers).toEqual([`10.${third}.0.1`]);
  expect(lease.dns).toEqual([`10.${third}.0.53`, `10.${third}.0.54`]);
  expect(lease.domain).toBe('lab.example');
  expect(lease.search).toEqual(['lab.example', 'svc.example']);
  expect(lease.mtu).toBe(1400);
  // The default route rides in option 121 too: clients ignore option 3 when 121 is present.
  expect(lease.routes).toEqual(expect.arrayContaining([
    { destination: '10.99.0.0/16', via: `10.${third}.0.254` },
    { destination: '0.0.0.0/0', via: `10.${third}.0.1` },
  ]));
  expect(lease.leaseSeconds).toBe(20);
  expect(lease.serverId).toBe(`10.${third}.0.1`);
}

const inPool = (ip: string, third: number): boolean => {
  const m = new RegExp(`^10\\.${third}\\.0\\.(\\d+)$`).exec(ip);
  return m !== null && Number(m[1]) >= 100 && Number(m[1]) <= 199;
};

describe('DHCP server with real clients', () => {
  for (const kind of ['udhcpc', 'dhclient', 'dhcpcd'] as const) {
    it(`${kind}: lease with every option, renewal, release`, async () => {
      const host = await netns('dhcp-h');
      const cns = await netns('dhcp-c');
      const lan = await createDhcpLan(host, 'br0', '10.61.0.1/24');
      const client = await addDhcpClient(lan, cns, `hn${kind.slice(0, 4)}0`, testMac(1, kind.length));
      await waitForwarding(lan);
      const server = await startServer(host, 'br0', netConfig('net-a', 61));

      const run = await startClient(kind, cns, client.ifname);
      const first = await run.waitLease(1);
      expect(inPool(first.ip, 61), `${first.ip} in the pool`).toBe(true);
      expectOptions(first, 61);
      const bound = server.leases().find((l) => l.ip === first.ip);
      expect(bound).toMatchObject({ mac: client.mac, state: 'bound', network: 'net-a' });

      if (kind === 'dhcpcd') {
        // dhcpcd installs what it got: address, option-121 routes (default included), MTU.
        expect((await ipAddresses(cns)).map((a) => a.cidr)).toContain(`${first.ip}/24`);
        const routes = await ipJson(cns, 'route', 'show');
        expect(routes).toEqual(expect.arrayContaining([
          expect.objectContaining({ dst: '10.99.0.0/16', gateway: '10.61.0.254' }),
          expect.objectContaining({ dst: 'default', gateway: '10.61.0.1' }),
        ]));
      }

      if (kind === 'udhcpc') run.signal('SIGUSR1'); // renew now; the others renew at T1 (10 s)
      const renewed = await run.waitLease(2, 20_000);
      expect(renewed.ip).toBe(first.ip);
      expectOptions(renewed, 61);
      expect(server.counters.handler?.sent['ack']).toBeGreaterThanOrEqual(2);

      await run.release();
      await waitFor('the lease to be released', () => server.leases().find((l) => l.ip === first.ip && l.state === 'released'));
      expect(server.counters.decodeErrors).toBe(0);
    }, 60_000);
  }

  it('a reservation gives the reserved address', async () => {
    const host = await netns('dhcp-h');
    const cns = await netns('dhcp-c');
    const lan = await createDhcpLan(host, 'br0', '10.61.0.1/24');
    const client = await addDhcpClient(lan, cns, 'hnres0', RESERVED_MAC);
    await waitForwarding(lan);
    await startServer(host, 'br0', netConfig('net-a', 61));
    const run = await startClient('udhcpc', cns, client.ifname);
    expect((await run.waitLease(1)).ip).toBe('10.61.0.42');
  }, 30_000);

  it('two networks on one host each serve only their own clients; reconfigure keeps leases', async () => {
    const host = await netns('dhcp-h');
    const nsA = await netns('dhcp-ca');
    const nsB = await netns('dhcp-cb');
    const lanA = await createDhcpLan(host, 'br-a', '10.71.0.1/24');
    const lanB = await createDhcpLan(host, 'br-b', '10.72.0.1/24');
    const a = await addDhcpClient(lanA, nsA, 'hnca0', testMac(7, 1));
    const b = await addDhcpClient(lanB, nsB, 'hncb0', testMac(7, 2));
    await waitForwarding(lanA);
    await waitForwarding(lanB);
    const serverA = await startServer(host, 'br-a', netConfig('net-a', 71));
    const serverB = await startServer(host, 'br-b', netConfig('net-b', 72));

    const runA = await startClient('udhcpc', nsA, a.ifname);
    const runB = await startClient('udhcpc', nsB, b.ifname);
    const leaseA = await runA.waitLease(1);
    const leaseB = await runB.waitLease(1);
    expect(inPool(leaseA.ip, 71)).toBe(true);
    expect(inPool(leaseB.ip, 72)).toBe(true);
    expect(leaseA.serverId).toBe('10.71.0.1');
    expect(leaseB.serverId).toBe('10.72.0.1');
    // Offers count as leases here: a DISCOVER seen by the wrong server would show up as one.
    expect(new Set(serverA.leases().map((l) => l.mac))).toEqual(new Set([a.mac]));
    expect(new Set(serverB.leases().map((l) => l.mac))).toEqual(new Set([b.mac]));

    // New options for network A: its lease stays, the client's renewal brings the new DNS.
    serverA.reconfigure(netConfig('net-a', 71, { dnsServers: ['10.71.0.153'] }));
    expect(serverA.leases().find((l) => l.ip === leaseA.ip)?.state).toBe('bound');
    runA.signal('SIGUSR1');
    const renewedA = await runA.waitLease(2);
    expect(renewedA.ip).toBe(leaseA.ip);
    expect(renewedA.dns).toEqual(['10.71.0.153']);
  }, 45_000);
});
