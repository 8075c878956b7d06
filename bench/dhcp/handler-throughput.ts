// In-process handler throughput: DISCOVER+REQUEST pairs per second with the lease store on a
// tmpfs file, every ACKed lease durable (group commit) before it counts. No sockets, so it
// isolates the server's own cost from what bench/dhcp/main.ts measures on the wire. Run with
//   npm run build && node dist/bench/dhcp/handler-throughput.js [pairs] [in-flight]
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DhcpHandler } from '../../dhcp/handler.js';
import { LeaseStore } from '../../dhcp/lease-store.js';
import { DHCP, decodeDhcp, encodeDhcp, type DhcpMessage } from '../../dhcp/packet.js';

const pairs = Number(process.argv[2] ?? 50_000);
const window = Number(process.argv[3] ?? 256);

function mac(i: number): string {
  return `02:00:${[(i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

function msg(type: number, i: number, opts: [number, Buffer][] = []): DhcpMessage {
  return {
    op: 1, htype: 1, hlen: 6, hops: 0, xid: i, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
    giaddr: '0.0.0.0', chaddr: mac(i), sname: '', file: '',
    options: new Map<number, Buffer>([[53, Buffer.from([type])], [55, Buffer.from([1, 3, 6, 15, 119, 121, 26, 28])], ...opts]),
  };
}

async function run(label: string, withCodec: boolean, inFlight: number): Promise<void> {
  const dir = mkdtempSync('/dev/shm/hostnet-measure-');
  const store = await LeaseStore.open(join(dir, 'n.leases'));
  const h = new DhcpHandler({
    network: 'bench', cidr: '10.64.0.0/14', serverAddress: '10.64.0.1', gateway: '10.64.0.1', leaseSeconds: 3600,
    dnsServers: ['10.64.0.1'], domainName: 'bench.example', searchDomains: ['bench.example'], mtu: 1450,
    routes: [{ destination: '10.10.0.0/16', via: '10.64.0.1' }],
  }, store);
  // Requests are prepared as bytes beforehand, as they would arrive from the socket.
  const discovers = Array.from({ length: pairs }, (_, i) => encodeDhcp(msg(DHCP.DISCOVER, i + 1)));
  const pending = new Set<Promise<void>>();
  let acked = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < pairs; i++) {
    const d = withCodec ? decodeDhcp(discovers[i]!) : msg(DHCP.DISCOVER, i + 1);
    const offer = h.handle(d);
    if (!offer) throw new Error(`no offer for client ${i}`);
    if (withCodec) encodeDhcp(offer.reply);
    const reqMsg = msg(DHCP.REQUEST, i + 1, [[54, Buffer.from([10, 64, 0, 1])], [50, Buffer.from(offer.reply.yiaddr.split('.').map(Number))]]);
    const req = withCodec ? decodeDhcp(encodeDhcp(reqMsg)) : reqMsg;
    const ack = h.handle(req);
    if (!ack?.commit) throw new Error(`no ACK for client ${i}`);
    const p: Promise<void> = store.commit(ack.commit).then(() => {
      if (withCodec) encodeDhcp(ack.reply);
      acked++;
      pending.delete(p);
    });
    pending.add(p);
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${label.padEnd(44)} ${String(Math.round(acked / seconds)).padStart(8)} pairs/s  (${acked} in ${seconds.toFixed(2)} s, ${store.stats.fsyncs} fsyncs, ${store.stats.compactions} compactions)`);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

/** DISCOVERs from ever new MACs against a pool already full of offers: the cost of a flood. */
async function flood(count: number): Promise<void> {
  const dir = mkdtempSync('/dev/shm/hostnet-measure-');
  const store = await LeaseStore.open(join(dir, 'n.leases'));
  const h = new DhcpHandler({ network: 'flood', cidr: '10.64.0.0/16', serverAddress: '10.64.0.1', leaseSeconds: 3600 }, store);
  const packets = Array.from({ length: count }, (_, i) => encodeDhcp(msg(DHCP.DISCOVER, i + 1)));
  const start = process.hrtime.bigint();
  for (const p of packets) h.handle(decodeDhcp(p));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${'DISCOVER flood, /16 pool (65,533 offers)'.padEnd(44)} ${String(Math.round(count / seconds)).padStart(8)} msgs/s   (offers ${h.counters.sent.offer}, dropped ${h.counters.dropped['pool-exhausted'] ?? 0})`);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

await run(`handler + store, ${window} in flight`, false, window);
await run(`decode + handler + encode + store, ${window} in flight`, true, window);
await run('decode + handler + encode + store, 1 in flight', true, 1);
await flood(200_000);
