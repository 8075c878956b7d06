// Routed networks (issue 13), with the real hostnet-agent in a namespace that plays the host: the
// issue's YAML shape (mode ROUTED, 10.95.0.0/24, DHCP on) with two veth workloads holding static
// addresses and a TAP attachment. Witnesses: ping between the workload namespaces and to the
// gateway; an ARP request from one workload for the other's address (scapy, as arping would)
// answered with the host device's MAC while a sniffer in the other workload sees no ARP of the
// first; `ip -j -N route` in the agent's namespace (the /32s with protocol 104); the devices'
// sysctls; GetStatus's Routed; a route deleted by hand coming back; restarts (SIGTERM, kill -9)
// that keep ifindexes and routes while a ping loop runs; an attachment removed with its route.
// Once per dataplane backend (netlink, iproute2): their route operations and route watches differ.
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { buildDist } from '../lib/agent-process.js';
import { restartUnderPing } from '../lib/agent-restart.js';
import { AgentSession, useAgentSession } from '../lib/agent-session.js';
import { READY_CALLBACK, startSniffer } from '../lib/scapy-sniffer.js';
import { eventually } from '../lib/agent-state.js';
import { hostRoutes as hostRoutesIn, ifindex, inNs, linkMac as mac, pingLoop as pingLoopIn, pings, sysctl as sysctlIn, type JRoute } from '../lib/ns-probe.js';
import { createTestNetns } from '../lib/netns.js';

/** The host and the two pods of the backend under test (made in its beforeAll). */
const ns: string[] = [];
beforeAll(buildDist);
const host = (): string => ns[0]!;
const podA = (): string => ns[1]!;
const podB = (): string => ns[2]!;
const PY = '/usr/bin/python3';
const IP = { a: '10.95.0.11', b: '10.95.0.12', gw: '10.95.0.1' };

// The network and TAP as written (the TAP's guest would take its address by DHCP: there
// is none here, so it has no route and waits for its lease; routed-dhcp.test.ts has the leases).
const PUB = {
  name: 'pub', mode: 'ROUTED', ipFamily: 'IPV4', cidr: '10.95.0.0/24',
  dhcp: { enabled: true, pools: [{ start: '10.95.0.10', end: '10.95.0.99' }], dnsServers: ['10.95.0.53'] },
};
const att = {
  a: () => ({ name: 'r1', network: 'pub', veth: { ifName: 'hv-r1', peerNetns: `/var/run/netns/${podA()}`, peerIfName: 'eth0' }, ip: { static: IP.a } }),
  b: () => ({ name: 'r3', network: 'pub', veth: { ifName: 'hv-r3', peerNetns: `/var/run/netns/${podB()}`, peerIfName: 'eth0' }, ip: { static: IP.b } }),
  tap: () => ({ name: 'r2', network: 'pub', tap: { ifName: 'tap-r2' }, mac: '52:54:00:95:00:02' }),
};

const session = new AgentSession();
const loops: ResultPromise[] = [];

const apply = (attachments: unknown[]): Promise<void> => session.apply({ networks: [PUB], attachments });
/** hostnet's host routes in the agent's namespace, "dst dev", sorted. */
const hostRoutes = (): Promise<string[]> => hostRoutesIn(host());
const sysctl = (key: string): Promise<string> => sysctlIn(host(), key);
const routedCondition = (name: string) => session.condition('attachments', name, 'Routed');
/** A ping loop from pod A to pod B, 10 a second; resolves with (sent, received) once stopped. */
const pingLoop = () => pingLoopIn(podA(), IP.b, loops);

// Sniffs ARP on eth0 for `secs` seconds, printing one JSON line per packet (as tcpdump would show them).
const SNIFF = `
import json, sys
from scapy.all import sniff, ARP
for p in sniff(iface='eth0', filter='arp', timeout=float(sys.argv[1]), started_callback=${READY_CALLBACK}):
    a = p[ARP]
    print(json.dumps({'op': int(a.op), 'hwsrc': a.hwsrc, 'psrc': a.psrc, 'pdst': a.pdst}))
`;
// One broadcast ARP request on eth0 for argv[1] (arping -I eth0): prints the answers' hwsrc.
const ARPING = `
import sys
from scapy.all import srp, Ether, ARP, get_if_hwaddr, conf
conf.verb = 0
me = get_if_hwaddr('eth0')
ans, _ = srp(Ether(dst='ff:ff:ff:ff:ff:ff', src=me) / ARP(op=1, hwsrc=me, psrc=sys.argv[2], pdst=sys.argv[1]), iface='eth0', timeout=2, multi=True)
for _, r in ans:
    print(r[ARP].hwsrc)
`;

for (const which of ['netlink', 'iproute2'] as const) describe(`routed networks with the real agent (${which} backend)`, () => {
  useAgentSession(session, ns, {
    dirPrefix: 'hostnet-rtd-',
    namespaces: async (n) => { for (let i = 0; i < 3; i++) n.push(await createTestNetns('rtd')); },
    extraArgs: ['--dataplane', which],
    stopFirst: async () => { for (const l of loops.splice(0)) l.kill('SIGKILL'); },
  });

  it('two veth workloads reach each other and the gateway only through the host; the TAP has its device', async () => {
    await apply([att.a(), att.tap(), att.b()]);
    for (const [p, ip] of [[podA(), IP.a], [podB(), IP.b]] as const) {
      await eventually(`${ip}/24 and the default route via the gateway in ${p}`, async () =>
        (await execa('ip', ['-n', p, 'addr', 'show', 'eth0'])).stdout.includes(`${ip}/24`)
        && (await execa('ip', ['-n', p, 'route', 'show', 'default'])).stdout.includes(`via ${IP.gw}`));
    }
    await eventually('host routes with protocol 104', async () => {
      const r = await hostRoutes();
      return r.includes(`${IP.a} hv-r1`) && r.includes(`${IP.b} hv-r3`) ? r : undefined;
    });
    const json = JSON.parse((await execa('ip', ['-n', host(), '-j', '-N', 'route', 'show', `${IP.a}/32`])).stdout) as JRoute[];
    // -N prints numbers, as strings: protocol 104, scope link (253).
    expect(json).toEqual([expect.objectContaining({ dst: IP.a, dev: 'hv-r1', protocol: '104', scope: '253' })]);

    for (const dev of ['hv-r1', 'hv-r3', 'tap-r2']) {
      expect(await sysctl(`net.ipv4.conf.${dev}.forwarding`), dev).toBe('1');
      expect(await sysctl(`net.ipv4.conf.${dev}.proxy_arp`), dev).toBe('1');
      expect(await sysctl(`net.ipv4.neigh.${dev}.proxy_delay`), dev).toBe('0');
    }
    // Per device only: the host-wide switch stays off.
    expect(await sysctl('net.ipv4.ip_forward')).toBe('0');

    await eventually('A pings B', () => pings(podA(), IP.b));
    expect(await pings(podB(), IP.a)).toBe(true);
    expect(await pings(podA(), IP.gw)).toBe(true);
    expect(await pings(podB(), IP.gw)).toBe(true);

    // The TAP: its device, no bridge, the gateway as a /32.
    const tapAddrs = (await execa('ip', ['-n', host(), '-o', 'addr', 'show', 'dev', 'tap-r2'])).stdout;
    expect(tapAddrs).toContain(`${IP.gw}/32`);
    expect((await execa('ip', ['-n', host(), '-j', 'link', 'show', 'type', 'bridge'])).stdout).toBe('[ ]'.replace(' ', ''));

    const r1 = await eventually('Routed True for r1', async () => {
      const c = await routedCondition('r1');
      return c?.status === ConditionStatus.CONDITION_STATUS_TRUE ? c : undefined;
    });
    expect(r1.message).toBe(`${IP.a}/32 via hv-r1`);
    // The TAP without a lease: no route, nothing wrong yet.
    expect(await hostRoutes()).toEqual([`${IP.a} hv-r1`, `${IP.b} hv-r3`]);
    expect(await routedCondition('r2')).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'AwaitingLease' });
  });

  it('ARP from one workload for the other is answered by the host device, never crosses to the other workload', async () => {
    const hostMac = await mac(host(), 'hv-r1');
    const bMac = await mac(podB(), 'eth0');
    const aMac = await mac(podA(), 'eth0');
    // Nobody knows anybody: B and the host must ask again, so the sniffer has something to see.
    await execa('ip', ['-n', podA(), 'neigh', 'flush', 'dev', 'eth0']);
    await execa('ip', ['-n', podB(), 'neigh', 'flush', 'dev', 'eth0']);
    await execa('ip', ['-n', host(), 'neigh', 'flush', 'dev', 'hv-r3']);
    const sniffer = await startSniffer(podB(), SNIFF, ['4'], loops);
    const answers = (await inNs(podA(), PY, ['-c', ARPING, IP.b, IP.a])).stdout.split('\n').filter(Boolean);
    expect(answers).toEqual([hostMac]);
    expect(answers).not.toContain(bMac);
    // The kernel's own resolution too.
    expect(await pings(podA(), IP.b)).toBe(true);
    const neigh = (await execa('ip', ['-n', podA(), 'neigh', 'show', IP.b, 'dev', 'eth0'])).stdout;
    expect(neigh).toContain(`lladdr ${hostMac}`);
    // B sees ARP only from the host's device (its questions, and its proxy answers for A's
    // address when B asks), never a frame of A.
    const seen = (await sniffer.lines()).map((l) => JSON.parse(l) as { hwsrc: string; psrc: string });
    const hostSideOfB = await mac(host(), 'hv-r3');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((p) => p.hwsrc === aMac)).toEqual([]);
    expect(seen.filter((p) => p.hwsrc !== hostSideOfB && p.hwsrc !== bMac)).toEqual([]);
  });

  it('a host route deleted by hand comes back at once, also after its device went down', async () => {
    await execa('ip', ['-n', host(), 'route', 'del', `${IP.a}/32`, 'dev', 'hv-r1']);
    await eventually('the route back', async () => (await hostRoutes()).includes(`${IP.a} hv-r1`), 3000);
    expect(await pings(podB(), IP.a)).toBe(true);
    // A device taken down loses its routes without a route event: up again (the links
    // participant), the route follows.
    await execa('ip', ['-n', host(), 'link', 'set', 'hv-r1', 'down']);
    await eventually('hv-r1 up with its route again', async () => (await hostRoutes()).includes(`${IP.a} hv-r1`), 3000);
    await eventually('B pings A again', () => pings(podB(), IP.a));
  });

  for (const how of ['SIGTERM', 'kill -9'] as const) {
    it(`an agent restart (${how}) removes no route and keeps the devices`, async () => {
      const indexes = [await ifindex(host(), 'hv-r1'), await ifindex(host(), 'hv-r3'), await ifindex(host(), 'tap-r2')];
      await restartUnderPing(session, how, { routes: hostRoutes, loop: pingLoop });
      expect([await ifindex(host(), 'hv-r1'), await ifindex(host(), 'hv-r3'), await ifindex(host(), 'tap-r2')]).toEqual(indexes);
    });
  }

  it('removing an attachment removes its route', async () => {
    await apply([att.a(), att.tap()]);
    await eventually('route of r3 gone', async () => !(await hostRoutes()).some((r) => r.startsWith(`${IP.b} `)));
    expect(await hostRoutes()).toEqual([`${IP.a} hv-r1`]);
    expect(await pings(podA(), IP.gw)).toBe(true);
  });
});
