// Durability: perfdhcp gets leases from serve-main, which is killed with SIGKILL mid-run and
// restarted on the same lease file. Every ACK seen on the wire (sniffed in perfdhcp's namespace,
// parsed by hand) must still be leased to the same client afterwards: the server commits to
// disk before it sends an ACK.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseStore } from '../../dhcp/lease-store.js';
import type { NetworkDhcpConfig } from '../../dhcp/types.js';
import { addDhcpClient, createDhcpLan, testMac, waitForwarding } from '../../dhcp/testing/lan.js';
import { runPerfdhcp } from '../../dhcp/testing/perfdhcp.js';
import { ServeMain } from '../../dhcp/testing/serve-process.js';
import { DhcpReplySniffer } from '../lib/dhcp-sniff.js';
import { ip } from '../../dataplane/testing/ip.js';
import { useNetns } from '../lib/netns.js';

const config: NetworkDhcpConfig = {
  network: 'crash',
  cidr: '10.63.0.0/16',
  serverAddress: '10.63.0.1',
  gateway: '10.63.0.1',
  dnsServers: ['10.63.0.53'],
  leaseSeconds: 3600,
  excluded: ['10.63.255.250'],
};

describe('DHCP crash durability', () => {
  const ns = useNetns(2, 'all', 'dhcpcr');
  let dir = '';
  const servers: ServeMain[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hntest-dhcp-crash-'));
  });
  afterAll(async () => {
    for (const s of servers) await s.kill9().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  it('every ACKed lease survives kill -9 and a restart', async () => {
    const [host, perfNs] = [ns[0]!, ns[1]!];
    const lan = await createDhcpLan(host, 'br0', '10.63.0.1/16');
    const perf = await addDhcpClient(lan, perfNs, 'hnpf0', testMac(10, 1));
    await ip(perfNs, 'addr', 'add', '10.63.255.250/16', 'dev', perf.ifname); // perfdhcp relays from it
    await waitForwarding(lan);
    const leaseFile = join(dir, 'leases');
    const first = await ServeMain.start({ netns: host, device: 'br0', config, dir, leaseFile });
    servers.push(first);

    const sniffer = DhcpReplySniffer.open(perfNs);
    let acked: Map<string, string>;
    try {
      const load = runPerfdhcp({ netns: perfNs, ifname: perf.ifname, rate: 800, clients: 20_000, seconds: 6 });
      await new Promise((r) => setTimeout(r, 3000));
      const acksAtKill = sniffer.acks;
      await first.kill9(); // mid-run: requests keep coming, nothing answers
      const result = await load;
      expect(acksAtKill).toBeGreaterThan(200);
      expect(result.requestAck.received).toBeGreaterThan(200);
    } finally {
      sniffer.close();
    }
    acked = sniffer.acked;
    console.log(JSON.stringify({ acks: sniffer.acks, clients: acked.size, naks: sniffer.naks }));

    // Restart on the same file: it loads the leases and serves again.
    const second = await ServeMain.start({ netns: host, device: 'br0', config, dir, leaseFile });
    servers.push(second);
    const started = second.lines.find((l) => l.msg === 'DHCP server started');
    expect(Number(started?.['leases'])).toBeGreaterThanOrEqual(acked.size);
    expect(await second.stop()).toBe(0);

    const store = await LeaseStore.open(leaseFile);
    try {
      const lost: string[] = [];
      for (const [mac, addr] of acked) {
        const lease = store.get(addr);
        if (!lease || lease.mac !== mac || lease.state !== 'bound') lost.push(`${mac} ${addr}: ${JSON.stringify(lease)}`);
      }
      expect(lost, `ACKed but not durable (${lost.length} of ${acked.size})`).toEqual([]);
    } finally {
      await store.close();
    }
  }, 90_000);
});
