// Routers and routed networks (issue 13), with the real hostnet-agent in a namespace that plays
// the host: two routed networks (rt, rt2) and two bridged ones (br, lone), a veth workload on
// each (static addresses), and uplink0, a veth to an "internet" namespace with no route back.
// Without a router: the routed networks reach each other through the host (by design), but a
// routed workload reaches neither bridged network, even though its device forwards and the host
// has a connected route to br (its gateway is on the bridge). With router r1 joining rt and br,
// out through uplink0: rt and br talk both ways, rt goes out masqueraded, rt2 and lone stay apart.
// Witnesses are datagrams received in the workload namespaces (a one-way leak shows there even
// when no reply could come back), pings, a TCP server in the internet namespace printing the
// source it sees, the table in `nft -j`, GetStatus and `hostnetctl get ips`.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { buildDist, hostnetctl } from '../lib/agent-process.js';
import { AgentSession } from '../lib/agent-session.js';
import { eventually, veth } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';
import { inNs, pings, sysctl as sysctlIn } from '../lib/ns-probe.js';

const ns = useNetns(6, 'all', 'hnD-rr');
const host = (): string => ns[0]!;
const internet = (): string => ns[1]!;
const pod = { rt: () => ns[2]!, rt2: () => ns[3]!, br: () => ns[4]!, lone: () => ns[5]! };
const NFT = '/usr/sbin/nft';
const IP = { rt: '10.82.1.10', rt2: '10.82.2.10', br: '10.82.3.10', lone: '10.82.4.10', internet: '203.0.113.1' };

const routed = (name: string, third: number): Record<string, unknown> =>
  ({ name, mode: 'ROUTED', ipFamily: 'IPV4', cidr: `10.82.${third}.0/24` });
const bridged = (name: string, third: number): Record<string, unknown> =>
  ({ name, ipFamily: 'IPV4', cidr: `10.82.${third}.0/24`, gateway: `10.82.${third}.1`, gatewayOnBridge: true });

const session = new AgentSession();
const servers: ResultPromise[] = [];

/**
 * node.bgp for the last case: a peer in the internet namespace, FRR not run by the agent
 * (--frr-supervise false, its own pathspace): only the announcement matters to the routers.
 */
const FRR_PATHSPACE = 'hnD-rr';
const BGP = { bgp: { asn: 65001, routerId: '203.0.113.2', peers: [{ address: IP.internet, asn: 65000 }] } };

async function apply(routers: unknown[], opts: { bgp?: boolean } = {}): Promise<void> {
  await session.apply({
    ...(opts.bgp ? { node: BGP } : {}),
    networks: [routed('rt', 1), { ...routed('rt2', 2), ...(opts.bgp ? { announce: 'NO_ANNOUNCE' } : {}) }, bridged('br', 3), bridged('lone', 4)],
    attachments: [
      veth('wrt', 'rt', 'hv-rt', pod.rt(), 'eth0', { ip: { static: IP.rt } }),
      veth('wrt2', 'rt2', 'hv-rt2', pod.rt2(), 'eth0', { ip: { static: IP.rt2 } }),
      veth('wbr', 'br', 'hv-br', pod.br(), 'eth0', { ip: { static: IP.br } }),
      veth('wlone', 'lone', 'hv-lone', pod.lone(), 'eth0', { ip: { static: IP.lone } }),
    ],
    routers,
  });
}

/** A UDP receiver in each namespace, appending what arrives (with the sender's address) to a file. */
const inbox = (netns: string): string => path.join(session.dir, `udp-${netns}.log`);
async function listen(netns: string): Promise<void> {
  await writeFile(inbox(netns), '');
  servers.push(execa('ip', ['netns', 'exec', netns, 'socat', '-u', 'UDP-RECV:7777', `OPEN:${inbox(netns)},append`], { reject: false }));
}
let tag = 0;
/**
 * Whether a datagram sent from `from` to `ip` arrives in namespace `to`: one way only, so a
 * leak shows even where no reply could come back. Three tries, 1 s for the last to land.
 */
async function arrives(from: string, to: string, ip: string): Promise<boolean> {
  const word = `t${++tag}-${from}`;
  const send = async (): Promise<void> => void await execa('ip', ['netns', 'exec', from, 'socat', '-u', '-', `UDP:${ip}:7777`], { input: `${word}\n`, reject: false });
  for (let i = 0; i < 3; i++) await send();
  await new Promise((r) => setTimeout(r, 1000));
  return (await readFile(inbox(to), 'utf8')).includes(word);
}

async function routerTable(): Promise<Array<Record<string, unknown>> | null> {
  const r = await inNs(host(), NFT, ['-j', 'list', 'table', 'inet', 'hostnet-routers']);
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as { nftables: Array<Record<string, unknown>> }).nftables : null;
}
async function isolatedCount(): Promise<number> {
  const c = (await routerTable())?.find((i) => (i['counter'] as { name?: string } | undefined)?.name === 'isolated');
  return (c?.['counter'] as { packets: number } | undefined)?.packets ?? -1;
}
/** The source address the internet namespace sees for a TCP connection from `from` ('' when none got through). */
async function peerSeenFrom(from: string): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', from, 'socat', '-T', '2', '-', `TCP:${IP.internet}:9999,connect-timeout=2`], { input: '', reject: false, timeout: 5000 });
  return r.stdout.trim();
}
const sysctl = (key: string): Promise<string> => sysctlIn(host(), key);

beforeAll(async () => {
  await buildDist();
  await session.open('hostnet-rtr-routed-');
  await execa('ip', ['-n', host(), 'link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'inet0', 'netns', internet()]);
  await execa('ip', ['-n', host(), 'addr', 'add', '203.0.113.2/24', 'dev', 'uplink0']);
  await execa('ip', ['-n', internet(), 'addr', 'add', `${IP.internet}/24`, 'dev', 'inet0']);
  await execa('ip', ['-n', host(), 'link', 'set', 'uplink0', 'up']);
  await execa('ip', ['-n', internet(), 'link', 'set', 'inet0', 'up']);
  servers.push(execa('ip', ['netns', 'exec', internet(), 'socat', 'TCP-LISTEN:9999,reuseaddr,fork', 'SYSTEM:echo $SOCAT_PEERADDR'], { reject: false }));
  for (const n of [internet(), pod.rt(), pod.rt2(), pod.br(), pod.lone()]) await listen(n);
  await session.boot(host(), ['--frr-pathspace', FRR_PATHSPACE, '--frr-supervise', 'false']);
  await apply([]);
  for (const [p, gw] of [[pod.rt(), '10.82.1.1'], [pod.rt2(), '10.82.2.1'], [pod.br(), '10.82.3.1'], [pod.lone(), '10.82.4.1']] as const) {
    await eventually(`default route via ${gw} in ${p}`, async () =>
      (await execa('ip', ['-n', p, 'route', 'show', 'default'])).stdout.includes(`via ${gw}`), 30_000);
  }
});

afterAll(async () => {
  await session.stop();
  for (const s of servers) if (s.pid) process.kill(s.pid, 'SIGTERM');
  await Promise.all(servers.map((s) => s.catch(() => undefined)));
  await session.close();
  // The frr.conf the agent wrote for the last case (no daemon ran under that pathspace).
  await rm(path.join('/etc/frr', FRR_PATHSPACE), { recursive: true, force: true });
});

describe('routed networks and routers with the real agent', () => {
  it('without a router: routed networks reach each other, but no bridged network nor the way back', async () => {
    await eventually('rt pings rt2', () => pings(pod.rt(), IP.rt2), 20_000);
    expect(await arrives(pod.rt(), pod.rt2(), IP.rt2), 'positive control: rt -> rt2 arrives').toBe(true);
    // The routed device forwards (the routed participant turns it on) and the host has a
    // connected route to br: without isolation this datagram would land in br's namespace.
    expect(await sysctl('net.ipv4.conf.hv-rt.forwarding')).toBe('1');
    expect(await arrives(pod.rt(), pod.br(), IP.br), 'rt -> br must not arrive').toBe(false);
    expect(await arrives(pod.rt2(), pod.lone(), IP.lone), 'rt2 -> lone must not arrive').toBe(false);
    expect(await arrives(pod.br(), pod.rt(), IP.rt), 'br -> rt must not arrive').toBe(false);
    // Nor out of the host by a device no router uses (the host has a connected route to the
    // internet namespace through uplink0): a routed network that is not announced has no way out.
    expect(await arrives(pod.rt(), internet(), IP.internet), 'rt -> internet through uplink0 must not arrive').toBe(false);
    expect(await pings(pod.rt(), IP.br)).toBe(false);
    expect(await isolatedCount()).toBeGreaterThan(0);
    const ips = await hostnetctl(session.socket, ['get', 'ips']);
    expect(ips.stdout).toMatch(/^rt\s+10\.82\.1\.1\s+gateway\s+rt\s+yes/m);
  });

  it('with the host-wide ip_forward on, the drop alone keeps bridged networks and routed ones apart', async () => {
    await inNs(host(), 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    try {
      expect(await arrives(pod.br(), pod.rt(), IP.rt), 'br -> rt').toBe(false);
      expect(await arrives(pod.lone(), pod.rt2(), IP.rt2), 'lone -> rt2').toBe(false);
      expect(await arrives(pod.rt(), pod.br(), IP.br), 'rt -> br').toBe(false);
    } finally {
      await inNs(host(), 'sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
      // That reset every device's switch, the routed ones too: a full pass puts them back.
      process.kill(session.agent!.pid, 'SIGHUP');
    }
    await eventually('rt pings rt2 again', () => pings(pod.rt(), IP.rt2), 20_000);
  });

  it('router r1 joins rt and br and takes rt out masqueraded; rt2 and lone stay apart', async () => {
    await apply([{ name: 'r1', networks: ['rt', 'br'], external: { interface: 'uplink0' } }]);
    await eventually('rt pings br', () => pings(pod.rt(), IP.br), 20_000);
    expect(await pings(pod.br(), IP.rt)).toBe(true);
    expect(await arrives(pod.br(), pod.rt(), IP.rt)).toBe(true);
    expect(await pings(pod.rt(), IP.rt2), 'routed networks still reach each other').toBe(true);
    for (const [from, to, ip] of [
      [pod.rt2(), pod.br(), IP.br], [pod.br(), pod.rt2(), IP.rt2], [pod.lone(), pod.rt(), IP.rt], [pod.rt(), pod.lone(), IP.lone],
      [pod.rt2(), internet(), IP.internet], [pod.lone(), internet(), IP.internet],
    ] as const) expect(await arrives(from, to, ip), `${from} -> ${ip}`).toBe(false);
    expect(await peerSeenFrom(pod.rt())).toBe('203.0.113.2');
    expect(await peerSeenFrom(pod.br())).toBe('203.0.113.2');
    expect(await peerSeenFrom(pod.rt2())).toBe('');
    expect(await sysctl('net.ipv4.conf.hn-br.forwarding')).toBe('1');
    expect(await sysctl('net.ipv4.conf.uplink0.forwarding')).toBe('1');

    const s = await session.status();
    const cond = (name: string) => s.networks.find((n) => n.name === name)?.conditions.find((c) => c.type === 'Routed');
    expect(cond('rt')).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'Connected' });
    expect(cond('rt')!.message).toBe('connected by router r1 to br; out through uplink0 (masquerade)');
    const ips = await hostnetctl(session.socket, ['get', 'ips']);
    expect(ips.stdout).toMatch(/^rt\s+10\.82\.1\.1\s+router\s+r1\s+yes/m);
    expect(ips.stdout).toMatch(/^br\s+10\.82\.3\.1\s+router\s+r1\s+yes/m);
  });

  it('removing the router cuts rt from br and the internet again; the isolation stays', async () => {
    await apply([]);
    await eventually('rt no longer pings br', async () => !(await pings(pod.rt(), IP.br)), 20_000);
    expect(await arrives(pod.rt(), pod.br(), IP.br)).toBe(false);
    expect(await peerSeenFrom(pod.rt())).toBe('');
    expect(await routerTable(), 'the isolation table stays while routed networks exist').not.toBeNull();
    expect(await sysctl('net.ipv4.conf.hn-br.forwarding')).toBe('0');
    expect(await pings(pod.rt(), IP.rt2)).toBe(true);
  });

  it('with node.bgp, an announced routed network keeps its own way out the router\'s external interface, unNATed; a NO_ANNOUNCE one has none', async () => {
    // The fabric's side: it would learn rt's /32s over BGP; here a static route stands for that.
    await execa('ip', ['-n', internet(), 'route', 'replace', '10.82.0.0/16', 'via', '203.0.113.2']);
    await apply([{ name: 'r2', networks: ['br'], external: { interface: 'uplink0' } }], { bgp: true });
    await eventually('the internet sees rt by its own address', async () => (await peerSeenFrom(pod.rt())) === IP.rt, 20_000);
    expect(await pings(internet(), IP.rt), 'the fabric reaches the announced workload').toBe(true);
    expect(await peerSeenFrom(pod.br())).toBe('203.0.113.2');
    expect(await arrives(pod.rt2(), internet(), IP.internet), 'NO_ANNOUNCE rt2 -> internet').toBe(false);
    expect(await arrives(internet(), pod.rt2(), IP.rt2), 'internet -> NO_ANNOUNCE rt2').toBe(false);
    expect(await arrives(pod.rt(), pod.br(), IP.br), 'rt -> br, joined by no router').toBe(false);
    // The agent turned on forwarding towards the BGP peer (uplink0, also the router's way out).
    expect(await sysctl('net.ipv4.conf.uplink0.forwarding')).toBe('1');
  });
});
