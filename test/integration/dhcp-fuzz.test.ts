// 100,000+ random and mutated packets at a live serve-main, from a client namespace: the server
// drops and counts them, keeps answering (its counters reply during the flood), its memory stays
// bounded, and afterwards a real client still gets a correct lease.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type dgram from 'node:dgram';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDhcpSocket } from '../../dhcp/transport/socket.js';
import type { NetworkDhcpConfig } from '../../dhcp/types.js';
import { DhcpClientRun } from '../lib/dhcp-clients.js';
import { FUZZ_KINDS, Rng, fuzzPacket, request, type FuzzKind } from '../lib/dhcp-fuzz.js';
import { addDhcpClient, createDhcpLan, testMac, waitForwarding } from '../../dhcp/testing/lan.js';
import { ServeMain } from '../../dhcp/testing/serve-process.js';
import { ip } from '../../dataplane/testing/ip.js';
import { useNetns } from '../lib/netns.js';

const PACKETS = 110_000;
const SEED = Number(process.env['HOSTNET_FUZZ_SEED'] ?? 20261122);

const config: NetworkDhcpConfig = {
  network: 'fuzz',
  cidr: '10.62.0.0/16',
  serverAddress: '10.62.0.1',
  gateway: '10.62.0.1',
  dnsServers: ['10.62.0.53'],
  domainName: 'fuzz.example',
  routes: [{ destination: '10.99.0.0/16', via: '10.62.0.254' }],
  leaseSeconds: 600,
  excluded: ['10.62.255.250'],
};

describe('DHCP fuzz', () => {
  const ns = useNetns(3, 'all', 'dhcpfz'); // host, fuzzer, real client
  let dir = '';
  let server: ServeMain | null = null;
  let sender: dgram.Socket | null = null;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hntest-dhcp-fuzz-'));
  });
  afterAll(async () => {
    sender?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(`survives ${PACKETS} bad packets, counts them, then serves a real client`, async () => {
    const [host, fuzzNs, clientNs] = [ns[0]!, ns[1]!, ns[2]!];
    const lan = await createDhcpLan(host, 'br0', '10.62.0.1/16');
    const fz = await addDhcpClient(lan, fuzzNs, 'hnfz0', testMac(9, 1));
    const real = await addDhcpClient(lan, clientNs, 'hnfzc0', testMac(9, 2));
    await ip(fuzzNs, 'addr', 'add', '10.62.255.250/16', 'dev', fz.ifname);
    await waitForwarding(lan);
    server = await ServeMain.start({ netns: host, device: 'br0', config, dir, leaseFile: join(dir, 'leases') });
    const rssBefore = server.rssKiB();

    sender = await openDhcpSocket({ netns: fuzzNs, device: fz.ifname, port: 68, sendBufferBytes: 8 * 1024 * 1024 });
    sender.on('message', () => {}); // replies to the valid-looking ones: ignored
    const rng = new Rng(SEED);
    const perKind = new Map<FuzzKind | 'discover-flood', number>();
    const kinds = [...FUZZ_KINDS, 'discover-flood'] as const;
    let sendErrors = 0;
    let counterLatencyMs = -1;
    const started = Date.now();
    for (let i = 0; i < PACKETS; ) {
      const batch: Promise<void>[] = [];
      for (let k = 0; k < 100 && i < PACKETS; k++, i++) {
        const kind = kinds[i % kinds.length]!;
        perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
        // A DISCOVER flood from ever new MACs rides along: memory must stay bounded.
        const pkt = kind === 'discover-flood' ? request(rng, 1) : fuzzPacket(rng, kind, [10, 62]);
        const to = i % 2 === 0 ? '255.255.255.255' : '10.62.0.1';
        batch.push(new Promise((resolve) => sender!.send(pkt, 67, to, (err) => { if (err) sendErrors++; resolve(); })));
      }
      await Promise.all(batch);
      // Flat out, but never more than ~1,500 packets ahead of what the server has read: the
      // point is that the server sees them all, not that the kernel drops the surplus.
      if (i % 1000 === 0) {
        for (let t = Date.now(); Date.now() - t < 20_000; ) {
          const seen = Number((await server.counterValues(5000))['received'] ?? 0);
          if (i - seen < 1500) break;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      await new Promise((r) => setImmediate(r));
      if (counterLatencyMs < 0 && i >= PACKETS / 2) {
        // Mid-flood: the event loop must still answer promptly.
        const t = Date.now();
        await server.counters(5000);
        counterLatencyMs = Date.now() - t;
      }
    }
    const floodMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 1000)); // let the server drain its socket
    const counters = (await server.counterValues()) as Record<string, unknown> & {
      received: number; decodeErrors: number; ignored: number; overloadDrops: number; replies: number;
      decodeReasons: Record<string, number>; handler: { dropped: Record<string, number> };
    };
    const rssAfter = server.rssKiB();
    // What the kernel dropped before the server could read it (socket buffer full).
    const nstat = await execa('ip', ['netns', 'exec', host, 'nstat', '-az', 'UdpRcvbufErrors']);
    const kernelDrops = Number(/UdpRcvbufErrors\s+(\d+)/.exec(nstat.stdout)?.[1] ?? -1);
    console.log(JSON.stringify({ seed: SEED, floodMs, sendErrors, kernelDrops, counterLatencyMs, rssBeforeKiB: rssBefore, rssAfterKiB: rssAfter, perKind: Object.fromEntries(perKind), counters }));

    expect(sendErrors).toBe(0);
    // At least 100,000 reached the server (the kernel may drop a few) and every one was counted.
    expect(counters.received).toBeGreaterThan(100_000);
    expect(counters.decodeErrors).toBeGreaterThan(PACKETS * 0.3);
    expect(Object.keys(counters.decodeReasons).length).toBeGreaterThanOrEqual(4);
    expect(counters.received).toBe(counters.decodeErrors + counters.ignored + counters.overloadDrops + counters.replies + countNoReply(counters));
    expect(counterLatencyMs).toBeLessThan(2000);
    expect(rssAfter - rssBefore).toBeLessThan(150 * 1024);

    // Still a working server: a real client gets a correct lease.
    const run = await DhcpClientRun.start('udhcpc', clientNs, real.ifname);
    try {
      const lease = await run.waitLease(1, 15_000);
      expect(lease.ip).toMatch(/^10\.62\./);
      expect(lease.prefix).toBe(16);
      expect(lease.routers).toEqual(['10.62.0.1']);
      expect(lease.dns).toEqual(['10.62.0.53']);
      expect(lease.routes).toEqual(expect.arrayContaining([{ destination: '10.99.0.0/16', via: '10.62.0.254' }]));
    } finally {
      await run.stop();
    }
    expect(await server.stop()).toBe(0);
    server = null;
  }, 120_000);
});

/** Decoded requests the handler accepted without a reply (RELEASE, DECLINE) or failed on. */
function countNoReply(c: Record<string, unknown>): number {
  return Number(c['handlerErrors'] ?? 0) + Number(c['commitErrors'] ?? 0) + Number(c['encodeErrors'] ?? 0) + Number(c['noReply'] ?? 0);
}
