// IPv6 on a routed network (issue 13), with the real hostnet-agent in a namespace that plays the
// host: a dual-stack routed network (10.95.0.0/24 with ipv6 fd00:95::/64, SLAAC), two veth
// workloads with static IPv6 addresses the agent puts in their namespaces, and one that takes
// no address from hostnet and forms its own by SLAAC from the agent's router advertisements.
// Witnesses, all outside the agent: `ip -j -6 route` in the host namespace (the /128s with
// protocol 104), the devices' sysctls, the workloads' own addresses and routes, rdisc6 (the
// prefix not on-link, the router the device's link-local address), ping -6 between workloads,
// a scapy sniffer in workload B that sees no neighbour solicitation from A (A never resolves B:
// everything goes to the router, layer 2 stays per device), a /128 deleted by hand coming back,
// and agent restarts (SIGTERM, kill -9) that keep every route. Once per dataplane backend.
// Then DHCPV6_STATEFUL (one server per routed device): ISC dhclient -6 in a workload gets
// exactly its attachment's address, which the host routes, and reaches a static workload.
// Then an IPv6-only routed network: the same /128s and pings, and no gateway address on the devices.
// Last, with node.bgp: the agent's own FRR (zebra and bgpd) originates the /128 in ipv6 unicast
// while the kernel route exists (import-check) and drops it with the attachment.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { buildDist } from '../lib/agent-process.js';
import { restartUnderPing } from '../lib/agent-restart.js';
import { AgentSession, useAgentSession } from '../lib/agent-session.js';
import { READY_CALLBACK, startSniffer } from '../lib/scapy-sniffer.js';
import { eventually } from '../lib/agent-state.js';
import { hostRoutes, inNs, linkMac as mac, pingLoop as pingLoopIn, pings as ping6, sysctl, type JRoute } from '../lib/ns-probe.js';
import { createTestNetns, destroyAllTestNetns, destroyTestNetns } from '../lib/netns.js';
import { BOUND6, Dhclient6 } from '../lib/dhclient6.js';
import { stopFrrInstance } from '../../agent/frr/daemons.js';
import { frrInstance } from '../../agent/frr/instance.js';
import { vtyshJson } from '../../agent/frr/state.js';

const ns: string[] = [];
// The BGP case makes its namespaces in its test: whatever a failing run left there.
afterAll(destroyAllTestNetns);
beforeAll(buildDist);
const host = (): string => ns[0]!;
const podA = (): string => ns[1]!;
const podB = (): string => ns[2]!;
const podS = (): string => ns[3]!;
const PY = '/usr/bin/python3';
const IP = { a: 'fd00:95::11', b: 'fd00:95::12', a4: '10.95.0.11', b4: '10.95.0.12' };
const SLAAC_MAC = '52:54:00:95:00:05';
/** The EUI-64 address SLAAC forms in fd00:95::/64 from SLAAC_MAC. */
const IP_S = 'fd00:95::5054:ff:fe95:5';

const PUB = { name: 'pub', mode: 'ROUTED', ipFamily: 'IPV4', cidr: '10.95.0.0/24', ipv6: { cidr: 'fd00:95::/64' } };
const att = {
  a: () => ({ name: 'r1', network: 'pub', veth: { ifName: 'hv6-r1', peerNetns: `/var/run/netns/${podA()}`, peerIfName: 'eth0' },
    ip: { static: IP.a4, addresses: [{ static: IP.a }] } }),
  b: () => ({ name: 'r3', network: 'pub', veth: { ifName: 'hv6-r3', peerNetns: `/var/run/netns/${podB()}`, peerIfName: 'eth0' },
    ip: { static: IP.b4, addresses: [{ static: IP.b }] } }),
  // No address from hostnet at all: the workload forms its own by SLAAC.
  s: () => ({ name: 'r5', network: 'pub', mac: SLAAC_MAC, veth: { ifName: 'hv6-r5', peerNetns: `/var/run/netns/${podS()}`, peerIfName: 'eth0' } }),
};

/** The SLAAC addresses pods A and B would form (from their MACs, in the first test). */
const slaacOf: { a?: string; b?: string } = {};
function expectedRoutes(withS: boolean): string[] {
  return [`${IP.a} hv6-r1`, `${slaacOf.a} hv6-r1`, `${IP.b} hv6-r3`, `${slaacOf.b} hv6-r3`, ...(withS ? [`${IP_S} hv6-r5`] : [])].sort();
}

const session = new AgentSession();
const loops: ResultPromise[] = [];

const apply = (attachments: unknown[]): Promise<void> => session.apply({ networks: [PUB], attachments });
interface JAddr { local: string; prefixlen: number; scope: string; family: string; tentative?: boolean }
/** hostnet's IPv6 host routes in the agent's namespace, "dst dev", sorted. */
const hostRoutes6 = (): Promise<string[]> => hostRoutes(host(), 6);
async function addrs(netns: string, dev: string): Promise<JAddr[]> {
  const j = JSON.parse((await execa('ip', ['-n', netns, '-j', 'addr', 'show', 'dev', dev])).stdout || '[]') as { addr_info: JAddr[] }[];
  return j.flatMap((l) => l.addr_info);
}
async function linkLocal(netns: string, dev: string): Promise<string | undefined> {
  return (await addrs(netns, dev)).find((a) => a.local.startsWith('fe80:') && !a.tentative)?.local;
}
const condition = (kind: 'attachments' | 'networks', name: string, type: string) => session.condition(kind, name, type);
/** A workload: RAs accepted (SLAAC) or not (hostnet configures it), no DAD (the test need not wait for it). */
async function pod(acceptRa: boolean): Promise<string> {
  const p = await createTestNetns('hnC6');
  const ra = acceptRa ? '1' : '0';
  await execa('ip', ['netns', 'exec', p, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
    `net.ipv6.conf.all.accept_ra=${ra}`, `net.ipv6.conf.default.accept_ra=${ra}`, `net.ipv6.conf.default.autoconf=${ra}`]);
  return p;
}

/** RFC 4291 appendix A, written out here (not the agent's code): the EUI-64 SLAAC address in a /64 ("fd00:95::"). */
function eui64(mac: string, prefix = 'fd00:95::'): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const hex = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
  return `${prefix}${hex(b[0]! ^ 2, b[1]!)}:${hex(b[2]!, 0xff)}:${hex(0xfe, b[3]!)}:${hex(b[4]!, b[5]!)}`;
}

/** A ping -6 loop from A to B, 10 a second; resolves with (sent, received) once stopped. */
const pingLoop = () => pingLoopIn(podA(), IP.b, loops);

// Sniffs neighbour solicitations on eth0 for argv[1] seconds: one JSON line each (source MAC, target).
const SNIFF_NS = `
import json, sys
from scapy.all import sniff, Ether
from scapy.layers.inet6 import ICMPv6ND_NS
for p in sniff(iface='eth0', filter='icmp6 and ip6[40] == 135', timeout=float(sys.argv[1]), started_callback=${READY_CALLBACK}):
    print(json.dumps({'src': p[Ether].src, 'tgt': p[ICMPv6ND_NS].tgt}))
`;

for (const which of ['netlink', 'iproute2'] as const) describe(`IPv6 on a routed network with the real agent (${which} backend)`, () => {
  useAgentSession(session, ns, {
    dirPrefix: 'hostnet-rt6-',
    namespaces: async (n) => { n.push(await createTestNetns('hnC6')); n.push(await pod(false), await pod(false), await pod(true)); },
    extraArgs: ['--dataplane', which],
    stopFirst: async () => { for (const l of loops.splice(0)) l.kill('SIGKILL'); },
  });

  it('routes a /128 to each workload address, static and SLAAC; the workloads reach each other through the host', async () => {
    await apply([att.a(), att.b(), att.s()]);
    // Static: the address alone (/128, no on-link prefix), the default route via the host device's link-local address.
    for (const [p, ip, dev] of [[podA(), IP.a, 'hv6-r1'], [podB(), IP.b, 'hv6-r3']] as const) {
      const router = await eventually(`the link-local address of ${dev}`, () => linkLocal(host(), dev), 15_000);
      await eventually(`${ip}/128 and the default route via ${router} in ${p}`, async () => {
        const a = (await addrs(p, 'eth0')).find((x) => x.local === ip);
        const d = JSON.parse((await execa('ip', ['-n', p, '-j', '-6', 'route', 'show', 'default'])).stdout || '[]') as JRoute[];
        return a?.prefixlen === 128 && d.some((r) => r.gateway === router && r.dev === 'eth0');
      }, 15_000);
      // No on-link route for the prefix: every neighbour is behind the router.
      expect((await execa('ip', ['-n', p, '-6', 'route', 'show', 'fd00:95::/64'])).stdout.trim()).toBe('');
    }
    // SLAAC in pod S, from the agent's RA on hv6-r5 (A flag), with the prefix not on-link.
    await eventually(`${IP_S} formed by SLAAC in pod S`, async () => (await addrs(podS(), 'eth0')).some((a) => a.local === IP_S), 20_000);
    const rdisc = (await inNs(podS(), 'rdisc6', ['-1', '-w', '3000', 'eth0'])).stdout;
    expect(rdisc).toMatch(/On-link\s*:\s*No/);
    expect(rdisc).toMatch(/Autonomous address conf\.\s*:\s*Yes/);
    expect(rdisc).toMatch(/Pref\. time|Prefix\s*:\s*fd00:95::\/64/);
    expect(rdisc).toContain(`from ${await linkLocal(host(), 'hv6-r5')}`);

    // The network advertises SLAAC, so the host also routes the address each workload would
    // form from its MAC (A and B ignore RAs here, hostnet configures them; the route is there
    // for a workload that takes the RA, as S does).
    slaacOf.a = eui64(await mac(podA(), 'eth0'));
    slaacOf.b = eui64(await mac(podB(), 'eth0'));
    expect(eui64(SLAAC_MAC)).toBe(IP_S);
    await eventually('host routes /128 with protocol 104', async () => {
      const r = await hostRoutes6();
      return r.includes(`${IP.a} hv6-r1`) && r.includes(`${IP.b} hv6-r3`) && r.includes(`${IP_S} hv6-r5`) ? r : undefined;
    }, 15_000);
    expect(await hostRoutes6()).toEqual(expectedRoutes(true));
    const json = JSON.parse((await execa('ip', ['-n', host(), '-j', '-N', '-6', 'route', 'show', `${IP.a}/128`])).stdout) as JRoute[];
    expect(json).toEqual([expect.objectContaining({ dst: IP.a, dev: 'hv6-r1', protocol: '104' })]);
    // IPv4 is routed as before on the same devices.
    expect((await execa('ip', ['-n', host(), '-4', 'route', 'show', 'proto', '104'])).stdout).toContain(`${IP.a4} dev hv6-r1`);

    for (const dev of ['hv6-r1', 'hv6-r3', 'hv6-r5']) {
      expect(await sysctl(host(), `net.ipv6.conf.${dev}.forwarding`), dev).toBe('1');
      expect(await sysctl(host(), `net.ipv6.conf.${dev}.force_forwarding`), dev).toBe('1');
      expect(await sysctl(host(), `net.ipv6.conf.${dev}.accept_ra`), dev).toBe('0');
    }
    // Per device only: the host-wide switch stays off.
    expect(await sysctl(host(), 'net.ipv6.conf.all.forwarding')).toBe('0');

    await eventually('A pings B over IPv6', () => ping6(podA(), IP.b), 15_000);
    expect(await ping6(podB(), IP.a)).toBe(true);
    expect(await ping6(podA(), IP_S)).toBe(true);
    expect(await ping6(podS(), IP.b)).toBe(true);
    expect((await inNs(podA(), 'ping', ['-c', '1', '-W', '1', IP.b4])).exitCode).toBe(0);

    const routed = await eventually('Routed True for r1 with both families', async () => {
      const c = await condition('attachments', 'r1', 'Routed');
      return c?.status === ConditionStatus.CONDITION_STATUS_TRUE && c.message.includes('/128') ? c : undefined;
    });
    expect(routed.message).toBe(`${IP.a4}/32 via hv6-r1, ${IP.a}/128 via hv6-r1, ${slaacOf.a}/128 via hv6-r1`);
    // The status says what the workload holds: the IPv6 address as its /128, on the interface.
    const st = (await session.status()).attachments.find((x) => x.name === 'r1');
    expect(st?.addresses.map((x) => `${x.ip}/${x.prefixLength} ${x.assigned}`)).toEqual([`${IP.a4}/24 true`, `${IP.a}/128 true`]);
    const ra = await eventually('RouterAdvertising True for pub', async () => {
      const c = await condition('networks', 'pub', 'RouterAdvertising');
      return c?.status === ConditionStatus.CONDITION_STATUS_TRUE && c.message.includes('on 3 routed') ? c : undefined;
    });
    expect(ra.message).toContain('not on-link');
  });

  it('A never solicits B: B sees neighbour solicitations only from its host device', async () => {
    const aMac = await mac(podA(), 'eth0');
    const bMac = await mac(podB(), 'eth0');
    const hostSideOfB = await mac(host(), 'hv6-r3');
    // Nobody knows anybody: the host must ask for B again, so the sniffer has something to see.
    for (const [p, dev] of [[podA(), 'eth0'], [podB(), 'eth0'], [host(), 'hv6-r3'], [host(), 'hv6-r1']] as const) {
      await execa('ip', ['-n', p, '-6', 'neigh', 'flush', 'dev', dev]);
    }
    const sniffer = await startSniffer(podB(), SNIFF_NS, ['5'], loops);
    expect(await ping6(podA(), IP.b)).toBe(true);
    const seen = (await sniffer.lines()).map((l) => JSON.parse(l) as { src: string; tgt: string });
    // The host resolved B (its NS came from hv6-r3) and nothing from A reached B's link.
    expect(seen.filter((p) => p.src === hostSideOfB && p.tgt === IP.b).length).toBeGreaterThan(0);
    expect(seen.filter((p) => p.src === aMac)).toEqual([]);
    expect(seen.filter((p) => p.src !== hostSideOfB && p.src !== bMac)).toEqual([]);
    // A's neighbour table holds the router, never B's address.
    const neigh = (await execa('ip', ['-n', podA(), '-6', 'neigh', 'show', 'dev', 'eth0'])).stdout;
    expect(neigh).not.toContain(IP.b);
  });

  it('a /128 deleted by hand comes back at once', async () => {
    await execa('ip', ['-n', host(), '-6', 'route', 'del', `${IP.a}/128`, 'dev', 'hv6-r1']);
    await eventually('the /128 back', async () => (await hostRoutes6()).includes(`${IP.a} hv6-r1`), 5000);
    await eventually('B pings A again', () => ping6(podB(), IP.a));
  });

  for (const how of ['SIGTERM', 'kill -9'] as const) {
    it(`an agent restart (${how}) removes no /128 and the workloads keep their routes`, async () => {
      const defaultA = (await execa('ip', ['-n', podA(), '-6', 'route', 'show', 'default'])).stdout;
      await restartUnderPing(session, how, { routes: hostRoutes6, loop: pingLoop });
      expect((await execa('ip', ['-n', podA(), '-6', 'route', 'show', 'default'])).stdout).toBe(defaultA);
      // The SLAAC workload keeps its address and its RA default route (no final advertisement).
      expect((await addrs(podS(), 'eth0')).some((a) => a.local === IP_S)).toBe(true);
      expect((await execa('ip', ['-n', podS(), '-6', 'route', 'show', 'default'])).stdout).toContain('via fe80:');
    });
  }

  it('removing an attachment removes its /128', async () => {
    await apply([att.a(), att.b()]);
    await eventually('the /128 of r5 gone', async () => !(await hostRoutes6()).some((r) => r.startsWith(`${IP_S} `)));
    expect(await hostRoutes6()).toEqual(expectedRoutes(false));
    expect(await ping6(podA(), IP.b)).toBe(true);
  });
});

describe('DHCPv6 on a routed network with the real agent (one server per device)', () => {
  const nsd: string[] = [];
  const ds = new AgentSession();
  const clients: Dhclient6[] = [];
  const NET = {
    name: 'pubd', mode: 'ROUTED', ipFamily: 'IPV4', cidr: '10.96.0.0/24',
    ipv6: { cidr: 'fd00:96::/64', ipv6Mode: 'DHCPV6_STATEFUL', dhcp: { enabled: true, pools: [{ start: 'fd00:96::100', end: 'fd00:96::1ff' }], dnsServers: ['fd00:96::53'] } },
  };
  useAgentSession(ds, nsd, {
    dirPrefix: 'hostnet-rt6d-',
    namespaces: async (n) => { n.push(await createTestNetns('hnC6d'), await pod(true), await pod(false)); },
    stopFirst: async () => { for (const c of clients) await c.stop().catch(() => undefined); },
  });

  it('dhclient -6 gets its attachment\'s own address on its device, routed as a /128, and reaches another workload', async () => {
    const [h, d, a] = nsd as [string, string, string];
    await ds.apply({
      networks: [NET], attachments: [
        // The workload runs its own DHCPv6 client: hostnet reserves its auto address and leaves the pod alone.
        { name: 'd1', network: 'pubd', veth: { ifName: 'hv6-d1', peerNetns: `/var/run/netns/${d}`, peerIfName: 'eth0' },
          ip: { auto: {}, addresses: [{ auto: {}, family: 'IPV6' }], skipAssignment: true } },
        { name: 'a1', network: 'pubd', veth: { ifName: 'hv6-a1', peerNetns: `/var/run/netns/${a}`, peerIfName: 'eth0' },
          ip: { static: '10.96.0.11', addresses: [{ static: 'fd00:96::11' }] } },
      ],
    });
    const cond = (type: string) => ds.condition('networks', 'pubd', type);
    const serving = await eventually('Dhcpv6Serving True on both devices', async () => {
      const c = await cond('Dhcpv6Serving');
      return c?.status === ConditionStatus.CONDITION_STATUS_TRUE && c.message.includes('on 2 of 2') ? c : undefined;
    }, 20_000);
    expect(serving.reason).toBe('Serving');
    await eventually('a link-local address on eth0 in d', () => linkLocal(d, 'eth0'), 15_000);

    const c = await Dhclient6.create(d, 'eth0');
    clients.push(c);
    c.start();
    const ev = await c.waitEvent(BOUND6).catch((err: Error) => { console.log(c.output.join('').slice(-3000)); throw err; });
    const got = ev.env['new_ip6_address'] ?? '';
    expect(got).toMatch(/^fd00:96::1[0-9a-f]{2}$/);
    expect(ev.env['new_dhcp6_name_servers']).toBe('fd00:96::53');
    // The server's own lease file for that device.
    expect(existsSync(path.join(ds.stateDir, 'leases', 'pubd@hv6-d1.leases6'))).toBe(true);
    // Exactly the address the host routes to d1's device (hostnet's reservation), in the kernel.
    const routes = JSON.parse((await execa('ip', ['-n', h, '-j', '-N', '-6', 'route', 'show', 'proto', '104', 'dev', 'hv6-d1'])).stdout || '[]') as JRoute[];
    expect(routes.map((x) => x.dst)).toEqual([got]);
    // The RA made the device's link-local address the default router (M flag, not on-link).
    const router = await linkLocal(h, 'hv6-d1');
    await eventually('the default route via hv6-d1\'s link-local address in d', async () =>
      (JSON.parse((await execa('ip', ['-n', d, '-j', '-6', 'route', 'show', 'default'])).stdout || '[]') as JRoute[]).some((x) => x.gateway === router), 20_000);
    const rdisc = (await inNs(d, 'rdisc6', ['-1', '-w', '3000', 'eth0'])).stdout;
    expect(rdisc).toMatch(/Stateful address conf\.\s*:\s*Yes/);
    expect(rdisc).toMatch(/On-link\s*:\s*No/);
    expect(rdisc).toMatch(/Autonomous address conf\.\s*:\s*No/);
    // d reaches a (a static workload on another device) through the host, from its leased address.
    await eventually(`d pings fd00:96::11 from ${got}`, async () => (await inNs(d, 'ping', ['-6', '-c', '1', '-W', '1', '-I', got, 'fd00:96::11'])).exitCode === 0, 15_000);
  });
});

describe('an IPv6-only routed network with the real agent', () => {
  const ns6: string[] = [];
  const s6 = new AgentSession();
  useAgentSession(s6, ns6, {
    dirPrefix: 'hostnet-rt6o-',
    namespaces: async (n) => { n.push(await createTestNetns('hnC6o'), await pod(false), await pod(false)); },
  });

  it('routes a /128 to each workload; they reach each other through the host; no gateway address on the devices', async () => {
    const [h, a, b] = ns6 as [string, string, string];
    await s6.apply({
      networks: [{ name: 'six', mode: 'ROUTED', ipFamily: 'IPV6', cidr: 'fd00:97::/64' }],
      attachments: [
        { name: 'o1', network: 'six', veth: { ifName: 'hv6-o1', peerNetns: `/var/run/netns/${a}`, peerIfName: 'eth0' }, ip: { static: 'fd00:97::11' } },
        { name: 'o2', network: 'six', veth: { ifName: 'hv6-o2', peerNetns: `/var/run/netns/${b}`, peerIfName: 'eth0' }, ip: { static: 'fd00:97::12' } },
      ],
    });
    // The static addresses, and (SLAAC is the default mode) the ones each workload would form from its MAC.
    const want = ['fd00:97::11 hv6-o1', 'fd00:97::12 hv6-o2', `${eui64(await mac(a, 'eth0'), 'fd00:97::')} hv6-o1`, `${eui64(await mac(b, 'eth0'), 'fd00:97::')} hv6-o2`].sort();
    await eventually('the /128s with protocol 104', async () => {
      const got = await hostRoutes(h, 6);
      return got.join(',') === want.join(',') ? got : undefined;
    }, 20_000);
    for (const [p, ip, dev] of [[a, 'fd00:97::11', 'hv6-o1'], [b, 'fd00:97::12', 'hv6-o2']] as const) {
      const router = await eventually(`the link-local address of ${dev}`, () => linkLocal(h, dev), 15_000);
      await eventually(`${ip}/128 and the default route via ${router} in ${p}`, async () => {
        const x = (await addrs(p, 'eth0')).find((y) => y.local === ip);
        const d = JSON.parse((await execa('ip', ['-n', p, '-j', '-6', 'route', 'show', 'default'])).stdout || '[]') as JRoute[];
        return x?.prefixlen === 128 && d.some((y) => y.gateway === router);
      }, 15_000);
      // The device holds only its kernel link-local address: no gateway, nothing of hostnet's.
      expect((await addrs(h, dev)).filter((y) => !y.local.startsWith('fe80:'))).toEqual([]);
      expect(await sysctl(h, `net.ipv6.conf.${dev}.force_forwarding`)).toBe('1');
    }
    await eventually('o1 pings o2', () => ping6(a, 'fd00:97::12'), 15_000);
    expect(await ping6(b, 'fd00:97::11')).toBe(true);
  });
});

describe('BGP: the /128s in ipv6 unicast with the agent\'s own FRR', () => {
  const PATHSPACE = `hnC6bgp${process.pid}`;
  const nsb: string[] = [];
  const sb = new AgentSession();
  afterAll(async () => {
    await sb.stop();
    // The agent leaves its FRR running across its own restarts: stopped here, files removed.
    await stopFrrInstance(PATHSPACE, { netns: nsb[0] ?? null, removeFiles: true }).catch(() => undefined);
    await Promise.all(nsb.map(destroyTestNetns));
    await sb.close();
  });

  it('bgpd originates network fd00:98::11/128 while the host route exists, and withdraws it with the attachment', async () => {
    nsb.push(await createTestNetns('hnC6b'), await pod(false));
    const [h, a] = nsb as [string, string];
    await sb.open('hostnet-rt6b-');
    await sb.boot(h, ['--frr-pathspace', PATHSPACE]);
    const state = (attachments: unknown[]) => ({
      // A peer that never answers: the families and their policy are rendered for it all the same.
      node: { bgp: { asn: 65001, routerId: '10.77.0.1', peers: [{ address: '10.77.0.100', asn: 65000, description: 'fabric' }] } },
      networks: [{ name: 'pubb', mode: 'ROUTED', ipFamily: 'IPV4', cidr: '10.98.0.0/24', ipv6: { cidr: 'fd00:98::/64', ipv6Mode: 'DHCPV6_STATEFUL', dhcp: { enabled: true, pools: [{ start: 'fd00:98::100', end: 'fd00:98::1ff' }] } } }],
      attachments,
    });
    const b1 = { name: 'b1', network: 'pubb', veth: { ifName: 'hv6-b1', peerNetns: `/var/run/netns/${a}`, peerIfName: 'eth0' }, ip: { static: '10.98.0.11', addresses: [{ static: 'fd00:98::11' }] } };
    await sb.apply(state([b1]));
    const frr = frrInstance(PATHSPACE, h);
    type Bgp = { routes?: Record<string, Array<{ valid?: boolean; bestpath?: boolean }>> };
    const routes6 = async (): Promise<Record<string, Array<{ valid?: boolean; bestpath?: boolean }>>> =>
      ((await vtyshJson(frr, 'show bgp ipv6 unicast json').catch(() => ({}))) as Bgp).routes ?? {};
    const got = await eventually('fd00:98::11/128 valid and best in bgpd', async () => {
      const x = (await routes6())['fd00:98::11/128'];
      return x?.some((p) => p.valid && p.bestpath) ? x : undefined;
    }, 60_000);
    expect(got.length).toBe(1);
    // The /32 is IPv4's, the /128 IPv6's: neither leaks into the other family.
    const v4 = ((await vtyshJson(frr, 'show bgp ipv4 unicast json')) as Bgp).routes ?? {};
    expect(Object.keys(v4)).toEqual(['10.98.0.11/32']);
    expect(Object.keys(await routes6())).toEqual(['fd00:98::11/128']);
    const running = (await execa(frr.vtysh, ['-N', PATHSPACE, '-c', 'show running-config'], { reject: false })).stdout;
    expect(running).toContain('ipv6 prefix-list hostnet-routed6 seq 5 permit fd00:98::/64 le 128');
    expect(running).toMatch(/address-family ipv6 unicast\n(?:.*\n)*?\s+network fd00:98::11\/128\n/);

    // The attachment goes: its /128 leaves the kernel and bgpd.
    await sb.apply(state([]));
    await eventually('fd00:98::11/128 gone from bgpd', async () => !(await routes6())['fd00:98::11/128'], 30_000);
  });
});
