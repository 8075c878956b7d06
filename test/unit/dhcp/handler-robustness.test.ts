// Whatever decodes, the handler answers or drops without throwing, and its replies encode.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DhcpHandler } from '../../../dhcp/handler.js';
import { LeaseStore } from '../../../dhcp/lease-store.js';
import { DhcpDecodeError, decodeDhcp, encodeDhcp } from '../../../dhcp/packet.js';
import { DHCP, ip, request } from './build.js';

describe('DhcpHandler robustness', () => {
  it('handles 20,000 mutated requests without throwing; every reply encodes', async () => {
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'hostnet-robust-'));
    const store = await LeaseStore.open(join(dir, 'n.leases'));
    const h = new DhcpHandler({
      network: 'n', cidr: '10.0.0.0/28', serverAddress: '10.0.0.1', gateway: '10.0.0.1', leaseSeconds: 60,
      routes: [{ destination: '10.9.0.0/16', via: '10.0.0.1' }], searchDomains: ['a.example'],
      reservations: [{ mac: '52:54:00:12:34:56', ip: '10.0.0.9' }],
    }, store);
    const seeds = [DHCP.DISCOVER, DHCP.REQUEST, DHCP.DECLINE, DHCP.RELEASE, DHCP.INFORM].map((t) =>
      encodeDhcp(request(t, { ciaddr: t === DHCP.RELEASE || t === DHCP.INFORM ? '10.0.0.3' : '0.0.0.0', opts: [[54, ip('10.0.0.1')], [50, ip('10.0.0.3')], [55, [1, 3, 121, 119]], [61, [1, 2, 3]], [57, [2, 64]]] })));
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    let handled = 0;
    let replies = 0;
    for (let i = 0; i < 20_000; i++) {
      const buf = Buffer.from(seeds[rand(seeds.length)]!);
      for (let k = 1 + rand(6); k > 0; k--) {
        const at = rand(2) === 0 ? 240 + rand(buf.length - 240) : rand(buf.length); // options mostly
        buf[at] = rand(256);
      }
      let msg;
      try {
        msg = decodeDhcp(buf);
      } catch (e) {
        expect(e).toBeInstanceOf(DhcpDecodeError);
        continue;
      }
      handled++;
      const r = h.handle(msg);
      if (r) {
        replies++;
        encodeDhcp(r.reply, 548);
        if (r.commit) await store.commit(r.commit);
      }
    }
    expect(handled).toBeGreaterThan(5000);
    expect(replies).toBeGreaterThan(100);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
