// DhcpServer as an instance: socket errors name what failed, stop/start keeps the leases (the
// store is durable), unicast replies install the client's neighbour entry first; hand-made
// packets with a client identifier get it back in OFFER, ACK and NAK (RFC 6842).
import type dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhcpServer } from '../../dhcp/server.js';
import { openDhcpSocket } from '../../dhcp/transport/socket.js';
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

/** A BOOTREQUEST with the broadcast flag (the client has no address to be unicast to). */
function handMade(xid: number, mac: string, options: [number, number[] | Buffer][]): Buffer {
  const h = Buffer.alloc(240);
  h[0] = 1;
  h[1] = 1;
  h[2] = 6;
  h.writeUInt32BE(xid, 4);
  h.writeUInt16BE(0x8000, 10);
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(h, 28);
  h.writeUInt32BE(0x63825363, 236);
  const opts = options.map(([code, v]) => Buffer.concat([Buffer.from([code, v.length]), Buffer.from(v)]));
  return Buffer.concat([h, ...opts, Buffer.from([255])]);
}

/** Options of a reply, parsed by hand (not with the codec under test): code -> payload. */
function replyOptionsOf(b: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let i = 240; i + 1 < b.length && b[i] !== 255; ) {
    if (b[i] === 0) { i++; continue; }
    out.set(b[i]!, b.subarray(i + 2, i + 2 + b[i + 1]!));
    i += 2 + b[i + 1]!;
  }
  return out;
}

function exchange(sock: dgram.Socket, pkt: Buffer, xid: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sock.off('message', onMessage); reject(new Error(`no reply to xid ${xid.toString(16)} within 5 s`)); }, 5000);
    const onMessage = (msg: Buffer): void => {
      if (msg.length < 240 || msg[0] !== 2 || msg.readUInt32BE(4) !== xid) return;
      clearTimeout(timer);
      sock.off('message', onMessage);
      resolve(msg);
    };
    sock.on('message', onMessage);
    sock.send(pkt, 67, '255.255.255.255', (err) => { if (err) { clearTimeout(timer); reject(err); } });
  });
}

describe('DhcpServer and the client identifier (RFC 6842 3)', () => {
  const ns = useNetns(2, 'each', 'hd6');
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hntest-dhcp-cid-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('echoes option 61 unaltered in OFFER, ACK and NAK on the wire', async () => {
    const [host, cns] = [ns[0]!, ns[1]!];
    const lan = await createDhcpLan(host, 'br0', '10.65.0.1/24');
    const client = await addDhcpClient(lan, cns, 'hncid0', testMac(66, 1));
    await waitForwarding(lan);
    const server = new DhcpServer({ netns: host, device: 'br0', config, leaseFile: join(dir, 'cid.leases') });
    let sock: dgram.Socket | null = null;
    try {
      await server.start();
      sock = await openDhcpSocket({ netns: cns, device: client.ifname, port: 68 });
      // RFC 4361 form: type 255, IAID, DUID-LL; echoed byte for byte.
      const id = Buffer.from('ff000000010003000102' + client.mac.replace(/:/g, ''), 'hex');
      const offerBytes = await exchange(sock, handMade(0x6842_0001, client.mac, [[53, [1]], [61, id]]), 0x6842_0001);
      const offer = replyOptionsOf(offerBytes);
      expect(offer.get(53)).toEqual(Buffer.from([2]));
      expect(offer.get(61)).toEqual(id);

      const offered = offerBytes.subarray(16, 20);
      const ack = replyOptionsOf(await exchange(sock, handMade(0x6842_0003, client.mac, [[53, [3]], [61, id], [54, [10, 65, 0, 1]], [50, offered]]), 0x6842_0003));
      expect(ack.get(53)).toEqual(Buffer.from([5]));
      expect(ack.get(61)).toEqual(id);

      // INIT-REBOOT for an address of another network: NAK, still with the id.
      const nak = replyOptionsOf(await exchange(sock, handMade(0x6842_0004, client.mac, [[53, [3]], [61, id], [50, [10, 1, 1, 1]]]), 0x6842_0004));
      expect(nak.get(53)).toEqual(Buffer.from([6]));
      expect(nak.get(61)).toEqual(id);

      // Without an id, none comes back.
      const plain = replyOptionsOf(await exchange(sock, handMade(0x6842_0005, testMac(66, 2), [[53, [1]]]), 0x6842_0005));
      expect(plain.get(53)).toEqual(Buffer.from([2]));
      expect(plain.has(61)).toBe(false);
    } finally {
      sock?.close();
      await server.stop();
    }
  }, 30_000);
});
