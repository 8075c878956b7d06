// DHCP on a routed network (issue 13), with the real hostnet-agent in a namespace that plays the
// host: the network has no bridge, so the agent answers DHCP on each attachment's device (as
// nfdhcpd does per TAP) from the gateway /32 it holds there. Two veth workloads without static
// addresses run real clients (busybox udhcpc, ISC dhclient with its own script only): each gets
// an address from the pool, the gateway as router, the DNS server and the /24; the addresses
// differ (one lease store for the network's devices); `hostnetctl get leases` lists both; the
// leases become host routes (the routed participant) so the workloads reach each other through
// the host. DhcpServing says on how many devices the server answers, and follows an attachment
// that goes and one that comes.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { buildDist, hostnetctl } from '../lib/agent-process.js';
import { AgentSession, useAgentSession } from '../lib/agent-session.js';
import { eventually } from '../lib/agent-state.js';
import { DhcpClientRun, type ClientLease } from '../lib/dhcp-clients.js';
import { createTestNetns } from '../lib/netns.js';
import { pings } from '../lib/ns-probe.js';

const ns: string[] = [];
const host = (): string => ns[0]!;
const podA = (): string => ns[1]!;
const podB = (): string => ns[2]!;
const GW = '10.95.0.1';
const DNS = '10.95.0.53';
const POOL = { start: '10.95.0.100', end: '10.95.0.150' };

const PUB = {
  name: 'pub', mode: 'ROUTED', ipFamily: 'IPV4', cidr: '10.95.0.0/24',
  dhcp: { enabled: true, pools: [POOL], dnsServers: [DNS], leaseSeconds: 600 },
};
// No `ip`: the workloads' own DHCP clients get their addresses.
const att = {
  a: () => ({ name: 'dh-a', network: 'pub', veth: { ifName: 'hv-dha', peerNetns: `/var/run/netns/${podA()}`, peerIfName: 'eth0' } }),
  b: () => ({ name: 'dh-b', network: 'pub', veth: { ifName: 'hv-dhb', peerNetns: `/var/run/netns/${podB()}`, peerIfName: 'eth0' } }),
};

const session = new AgentSession();
const clients: DhcpClientRun[] = [];

const apply = (attachments: unknown[]): Promise<void> => session.apply({ networks: [PUB], attachments });
const dhcpServing = () => session.condition('networks', 'pub', 'DhcpServing');
const ipValue = (ip: string): number => ip.split('.').reduce((v, o) => v * 256 + Number(o), 0);
function inPool(ip: string): boolean {
  return ipValue(ip) >= ipValue(POOL.start) && ipValue(ip) <= ipValue(POOL.end);
}

describe('DHCP on a routed network with the real agent', () => {
  beforeAll(buildDist);
  useAgentSession(session, ns, {
    dirPrefix: 'hostnet-rdh-',
    namespaces: async (n) => { for (let i = 0; i < 3; i++) n.push(await createTestNetns('rdh')); },
    stopFirst: async () => { for (const c of clients.splice(0)) await c.stop().catch(() => undefined); },
  });

  let leaseA: ClientLease;
  let leaseB: ClientLease;

  it('udhcpc and dhclient each get a pool address, the gateway, the DNS server and the /24 on their own device', async () => {
    await apply([att.a(), att.b()]);
    await eventually('DhcpServing on 2 devices', async () => {
      const c = await dhcpServing();
      return c?.status === ConditionStatus.CONDITION_STATUS_TRUE && c.message.startsWith('serving on 2 devices') ? c : undefined;
    });
    expect((await dhcpServing())!.message).toBe(`serving on 2 devices (hv-dha, hv-dhb) as ${GW}`);
    for (const p of [podA(), podB()]) await execa('ip', ['-n', p, 'link', 'set', 'eth0', 'up']);

    const a = await DhcpClientRun.start('udhcpc', podA(), 'eth0');
    clients.push(a);
    const b = await DhcpClientRun.start('dhclient', podB(), 'eth0');
    clients.push(b);
    leaseA = await a.waitLease(1, 30_000);
    leaseB = await b.waitLease(1, 30_000);
    for (const l of [leaseA, leaseB]) {
      expect(inPool(l.ip), l.ip).toBe(true);
      expect(l.prefix).toBe(24);
      expect(l.routers).toEqual([GW]);
      expect(l.dns).toEqual([DNS]);
      expect(l.serverId).toBe(GW);
    }
    expect(leaseA.ip).not.toBe(leaseB.ip);
    // The scripts put the addresses on the workloads' interfaces.
    expect((await execa('ip', ['-n', podA(), 'addr', 'show', 'eth0'])).stdout).toContain(`${leaseA.ip}/24`);
    expect((await execa('ip', ['-n', podB(), 'addr', 'show', 'eth0'])).stdout).toContain(`${leaseB.ip}/24`);
  });

  it('hostnetctl get leases lists both, with the workloads\' MACs, and get ips holds them for their attachments', async () => {
    const macOf = async (p: string): Promise<string> =>
      (JSON.parse((await execa('ip', ['-n', p, '-j', 'link', 'show', 'eth0'])).stdout) as Array<{ address: string }>)[0]!.address;
    const r = await hostnetctl(session.socket, ['get', 'leases', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const list = (JSON.parse(r.stdout) as { leases?: Array<{ network: string; ip: string; mac: string }> }).leases ?? [];
    const got = list.map((l) => `${l.network} ${l.ip} ${l.mac}`).sort();
    expect(got).toEqual([`pub ${leaseA.ip} ${await macOf(podA())}`, `pub ${leaseB.ip} ${await macOf(podB())}`].sort());
    const table = await hostnetctl(session.socket, ['get', 'leases']);
    expect(table.stdout).toContain(leaseA.ip);
    expect(table.stdout).toContain(leaseB.ip);
    // IP usage holds each leased address for the attachment whose MAC leased it.
    const ips = await hostnetctl(session.socket, ['get', 'ips', '--network', 'pub']);
    expect(ips.exitCode, ips.stderr).toBe(0);
    const row = (ip: string): string[] => ips.stdout.split('\n').find((l) => l.split(/\s+/)[1] === ip)?.split(/\s+/) ?? [];
    expect(row(leaseA.ip), ips.stdout).toEqual(['pub', leaseA.ip, 'attachment', 'dh-a', 'yes']);
    expect(row(leaseB.ip), ips.stdout).toEqual(['pub', leaseB.ip, 'attachment', 'dh-b', 'yes']);
  });

  it('the leases become host routes: the workloads reach each other and the gateway through the host', async () => {
    await eventually('host routes of both leases', async () => {
      const r = (await execa('ip', ['-n', host(), 'route', 'show', 'proto', '104'])).stdout;
      return r.includes(`${leaseA.ip} dev hv-dha`) && r.includes(`${leaseB.ip} dev hv-dhb`) ? r : undefined;
    });
    await eventually('A pings B', () => pings(podA(), leaseB.ip));
    expect(await pings(podB(), leaseA.ip)).toBe(true);
    expect(await pings(podA(), GW)).toBe(true);
    expect(await pings(podB(), GW)).toBe(true);
  });

  it('a device that goes stops being served, one that comes is served with the same leases', async () => {
    await apply([att.a()]);
    await eventually('DhcpServing on 1 device', async () => {
      const c = await dhcpServing();
      return c?.message === `serving on 1 device (hv-dha) as ${GW}` ? c : undefined;
    });
    // A renewal on the remaining device is still answered (udhcpc: SIGUSR1 renews now).
    const a = clients[0]!;
    a.signal('SIGUSR1');
    const renewed = await a.waitLease(2, 20_000);
    expect(renewed.ip).toBe(leaseA.ip);
    await apply([att.a(), att.b()]);
    await eventually('DhcpServing on 2 devices again', async () => {
      const c = await dhcpServing();
      return c?.status === ConditionStatus.CONDITION_STATUS_TRUE && c.message.startsWith('serving on 2 devices') ? c : undefined;
    });
  });
});
