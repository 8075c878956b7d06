// DhcpServer as an instance: socket errors name what failed, stop/start keeps the leases (the
// store is durable), unicast replies install the client's neighbour entry first.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhcpServer } from '../../dhcp/server.js';
import type { NetworkDhcpConfig } from '../../dhcp/types.js';
import { DhcpClientRun } from '../lib/dhcp-clients.js';
import { addDhcpClient, createDhcpLan, testMac, waitForwarding } from '../../dhcp/testing/lan.js';
import { dataplaneNeighbours } from '../lib/dhcp-neighbours.js';
import { ipNeighbours } from '../../dataplane/testing/ip.js';
import { useNetns } from '../lib/netns.js';

const config: NetworkDhcpConfig = {
  network: 'inst',
  cidr: '10.65.0.0/24',
  serverAddress: '10.65.0.1',
  gateway: '10.65.0.1',
  leaseSeconds: 600,
};

describe('DhcpServer instance', () => {
  const ns = useNetns(2, 'each', 'dhcpsv');
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hntest-dhcp-inst-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('fails to start on a missing bridge with an error naming it, and holds nothing open', async () => {
    const server = new DhcpServer({ netns: ns[0]!, device: 'nosuchbr0', config, leaseFile: join(dir, 'missing.leases') });
    await expect(server.start()).rejects.toThrow(/SO_BINDTODEVICE.*nosuchbr0.*ENODEV/);
    expect(server.running).toBe(false);
    await server.stop(); // harmless when not running
  });

  it('unicasts an ACK via a neighbour entry, and keeps the lease across stop and start', async () => {
    const [host, cns] = [ns[0]!, ns[1]!];
    const lan = await createDhcpLan(host, 'br0', '10.65.0.1/24');
    const client = await addDhcpClient(lan, cns, 'hninst0', testMac(65, 1));
    await waitForwarding(lan);
    const neighbours = await dataplaneNeighbours(host);
    const leaseFile = join(dir, 'restart.leases');
    const server = new DhcpServer({ netns: host, device: 'br0', config, leaseFile, neighbours });
    try {
      await server.start();
      // dhclient does not set the broadcast flag: the server unicasts to the new address.
      const run = await DhcpClientRun.start('dhclient', cns, client.ifname);
      let ip: string;
      try {
        ip = (await run.waitLease(1)).ip;
      } finally {
        await run.stop();
      }
      const neigh = (await ipNeighbours(host)).find((n) => n['dst'] === ip);
      expect(neigh?.['lladdr']).toBe(client.mac);
      expect(server.counters.neighbourFallbacks).toBe(0);

      await server.stop();
      expect(server.running).toBe(false);
      await server.start();
      expect(server.leases().find((l) => l.ip === ip)).toMatchObject({ mac: client.mac, state: 'bound' });
    } finally {
      await server.stop();
      await neighbours.close();
    }
  }, 30_000);
});
