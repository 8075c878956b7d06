// Addresses inside the workload (issue 11), with the real hostnet-agent: networks and veth/TAP
// attachments applied as YAML or JSON through hostnetctl, pods made as namespaces here. Static,
// auto (from the pools, stable across a restart and a new attachment sorting first, never an
// address DHCP leased to someone else), several addresses, skipAssignment, drift inside the pod
// (repaired on SIGHUP and by a periodic pass; the pod's own addresses stay), a changed static
// address, a TAP's static address served by DHCP to a real client behind the TAP, and the
// status the agent reports. Witnesses: `ip -n POD -j addr|route|link`, the IFA_PROTO of the
// pod's addresses (addr-protocols.py), ping from the pod to the gateway, real DHCP clients,
// GetStatus, and hostnetctl's output.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressSource, ConditionStatus, type AttachmentStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { addressProtocols } from '../lib/addr-protocols.js';
import { buildDist, hostnetctl } from '../lib/agent-process.js';
import { AgentSession } from '../lib/agent-session.js';
import { eventually, tap, veth } from '../lib/agent-state.js';
import { DhcpClientRun } from '../lib/dhcp-clients.js';
import { useNetns } from '../lib/netns.js';
import { startTapRelay, type TapRelay } from '../lib/tap-relay.js';

/** hostnet's number for the addresses and routes it puts in a workload (IFA_PROTO, rtm_protocol). */
const HOSTNET_PROTO = 104;

const ns = useNetns(11, 'all', 'hw');
const host = (): string => ns[0]!;
const pod = {
  st: () => ns[1]!, au: () => ns[2]!, mu: () => ns[3]!, sk: () => ns[4]!, first: () => ns[5]!,
  leaser: () => ns[6]!, guest: () => ns[7]!, probe: () => ns[8]!,
};

const WEB = {
  name: 'web', ipFamily: 'IPV4', cidr: '10.79.1.0/24', gateway: '10.79.1.1', gatewayOnBridge: true, mtu: 1400,
  dhcp: {
    enabled: true, serverAddress: '10.79.1.2', pools: [{ start: '10.79.1.100', end: '10.79.1.120' }],
    routes: [{ destination: '10.99.0.0/16', via: '10.79.1.254' }], leaseSeconds: 600,
  },
};
/** Two addresses in its pool: which one DHCP leased decides which one auto may take. */
const TIGHT = {
  name: 'tight', ipFamily: 'IPV4', cidr: '10.79.2.0/24', gateway: '10.79.2.1', gatewayOnBridge: true,
  dhcp: { enabled: true, serverAddress: '10.79.2.2', pools: [{ start: '10.79.2.100', end: '10.79.2.101' }], leaseSeconds: 600 },
};
const inWebPool = (ip: string): boolean => ip.startsWith('10.79.1.') && Number(ip.split('.')[3]) >= 100 && Number(ip.split('.')[3]) <= 120;
const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const session = new AgentSession();
const networks: Record<string, unknown>[] = [WEB, TIGHT];
const attachments = new Map<string, Record<string, unknown>>();
const dhcpClients: DhcpClientRun[] = [];
const relays: TapRelay[] = [];

/** Applies the whole desired state (networks + every attachment so far), as YAML and JSON in turn. */
async function apply(): Promise<void> {
  await session.apply({ networks, attachments: [...attachments.values()] }, session.generation % 2 === 0 ? 'yaml' : 'json');
}

async function boot(extraArgs: string[] = []): Promise<void> {
  await session.boot(host(), extraArgs);
}

async function status(name: string): Promise<AttachmentStatus | undefined> {
  return (await session.status()).attachments.find((a) => a.name === name);
}
const conditionOf = (s: AttachmentStatus | undefined, type: string) => s?.conditions.find((c) => c.type === type);
const isTrue = (s: AttachmentStatus | undefined, type: string): boolean => conditionOf(s, type)?.status === ConditionStatus.CONDITION_STATUS_TRUE;

/** The IPv4 addresses on `dev` in the pod, as CIDRs, in the kernel's order. */
async function podAddrs(netns: string, dev = 'net1'): Promise<string[]> {
  const out = (await execa('ip', ['-n', netns, '-j', '-4', 'addr', 'show', 'dev', dev])).stdout;
  const links = JSON.parse(out || '[]') as { addr_info: { local: string; prefixlen: number }[] }[];
  return links.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

interface PodRoute { dst: string; gateway?: string; dev: string; protocol?: string }
async function podRoutes(netns: string): Promise<PodRoute[]> {
  return JSON.parse((await execa('ip', ['-n', netns, '-j', '-4', 'route', 'show'])).stdout || '[]') as PodRoute[];
}
const route = (routes: PodRoute[], dst: string): PodRoute | undefined => routes.find((r) => r.dst === dst);

async function podMtu(netns: string, dev = 'net1'): Promise<number> {
  return (JSON.parse((await execa('ip', ['-n', netns, '-j', 'link', 'show', 'dev', dev])).stdout) as { mtu: number }[])[0]!.mtu;
}

async function pings(netns: string, ip: string): Promise<boolean> {
  return (await execa('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '2', ip], { reject: false })).exitCode === 0;
}

/** SIGHUP to the agent's pid, then waits for the full pass it asks for. */
async function sighupPass(): Promise<void> {
  const from = session.agent!.logs().length;
  process.kill(session.agent!.pid, 'SIGHUP');
  await eventually('a pass after SIGHUP', () => session.agent!.logs().slice(from).split('\n').some((l) => l.includes('"msg":"pass"') && l.includes('SIGHUP')));
}

/** Waits until the attachment reports `count` addresses, all assigned (or all not, with skip). */
async function addressesOf(name: string, count: number, assigned = true): Promise<AttachmentStatus> {
  return eventually(`${name}: ${count} address(es) reported${assigned ? ' and assigned' : ''}`, async () => {
    const s = await status(name);
    return s && s.addresses.length === count && s.addresses.every((a) => a.assigned === assigned) && isTrue(s, 'Configured') ? s : undefined;
  });
}

async function udhcpc(netns: string, ifname = 'net1', extra: string[] = []): Promise<DhcpClientRun> {
  const c = await DhcpClientRun.start('udhcpc', netns, ifname, extra);
  dhcpClients.push(c);
  return c;
}

beforeAll(async () => {
  await buildDist();
  await session.open('hostnet-hw-');
  await boot();
});

afterAll(async () => {
  for (const c of dhcpClients.splice(0)) await c.stop().catch(() => undefined);
  for (const r of relays.splice(0)) await r.stop().catch(() => undefined);
  await session.close();
});

describe('workload addressing with the real agent', () => {
  it('static: the address with the network\'s prefix length, the default route via the gateway, the network\'s routes and MTU, in the pod', async () => {
    attachments.set('st', veth('st', 'web', 'hv-st', pod.st(), 'net1', { ip: { static: '10.79.1.10' } }));
    await apply();
    await eventually('10.79.1.10/24 and the default route in the pod', async () =>
      (await podAddrs(pod.st())).includes('10.79.1.10/24') && route(await podRoutes(pod.st()), 'default') !== undefined);
    expect(await podAddrs(pod.st())).toEqual(['10.79.1.10/24']);
    const routes = await podRoutes(pod.st());
    expect(route(routes, 'default')).toMatchObject({ gateway: '10.79.1.1', dev: 'net1', protocol: String(HOSTNET_PROTO) });
    expect(route(routes, '10.99.0.0/16')).toMatchObject({ gateway: '10.79.1.254', dev: 'net1', protocol: String(HOSTNET_PROTO) });
    expect(await podMtu(pod.st())).toBe(1400);
    expect((await addressProtocols(pod.st())).find((a) => a.cidr === '10.79.1.10/24')?.protocol).toBe(HOSTNET_PROTO);
    expect(await pings(pod.st(), '10.79.1.1')).toBe(true);

    const s = await addressesOf('st', 1);
    expect(s).toMatchObject({
      ip: '10.79.1.10', gateway: '10.79.1.1', vlanId: 0, workloadIfName: 'net1', containerId: '', mtu: 1400,
      addresses: [{ ip: '10.79.1.10', prefixLength: 24, network: 'web', source: AddressSource.ADDRESS_SOURCE_STATIC, assigned: true }],
    });
    expect(s.routes).toEqual(expect.arrayContaining([{ destination: '10.99.0.0/16', via: '10.79.1.254' }]));
    expect(isTrue(s, 'AddressesAssigned'), JSON.stringify(s.conditions)).toBe(true);

    const get = await hostnetctl(session.socket, ['get', 'attachments']);
    expect(get.stdout).toMatch(/^NAME\s+NETWORK\s+KIND\s+IFNAME\s+ADDRESSES\s+READY\s+AGE\s+CONTAINER$/m);
    expect(get.stdout).toMatch(/^st\s+web\s+veth\s+hv-st\s+10\.79\.1\.10\/24\s+True\s+\S+\s+-$/m);
    const ips = await hostnetctl(session.socket, ['get', 'ips']);
    expect(ips.stdout).toMatch(/^web\s+10\.79\.1\.10\s+attachment\s+st\s+yes/m);
    const desc = await hostnetctl(session.socket, ['describe', 'attachment', 'st']);
    expect(desc.exitCode, desc.stderr).toBe(0);
    expect(desc.stdout).toContain('Addresses:    10.79.1.10/24 (static, assigned)');
    expect(desc.stdout).toContain('Gateway:      10.79.1.1');
    expect(desc.stdout).toMatch(/10\.99\.0\.0\/16 via 10\.79\.1\.254/);
    expect(desc.stdout).toContain('Workload IF:  net1');
    expect(desc.stdout).toContain('MTU:          1400');
  });

  it('drift inside the pod: a deleted address and default route come back on SIGHUP; addresses the pod added itself stay', async () => {
    await execa('ip', ['-n', pod.st(), 'addr', 'add', '192.0.2.7/24', 'dev', 'net1']);
    await execa('ip', ['-n', pod.st(), 'addr', 'del', '10.79.1.10/24', 'dev', 'net1']);
    await execa('ip', ['-n', pod.st(), 'route', 'del', 'default'], { reject: false });
    expect(await podAddrs(pod.st())).toEqual(['192.0.2.7/24']);
    expect(route(await podRoutes(pod.st()), 'default')).toBeUndefined();

    await sighupPass();
    await eventually('address and routes back', async () => {
      const routes = await podRoutes(pod.st());
      return (await podAddrs(pod.st())).includes('10.79.1.10/24') && route(routes, 'default')?.gateway === '10.79.1.1' && route(routes, '10.99.0.0/16') !== undefined;
    });
    expect((await podAddrs(pod.st())).sort()).toEqual(['10.79.1.10/24', '192.0.2.7/24']);

    // One more of the pod's own, in hostnet's subnet this time: another full pass leaves it alone.
    await execa('ip', ['-n', pod.st(), 'addr', 'add', '10.79.1.77/24', 'dev', 'net1']);
    await sighupPass();
    expect((await podAddrs(pod.st())).sort()).toEqual(['10.79.1.10/24', '10.79.1.77/24', '192.0.2.7/24']);
    expect(await pings(pod.st(), '10.79.1.1')).toBe(true);
  });

  it('a changed static address replaces hostnet\'s address only', async () => {
    attachments.set('st', veth('st', 'web', 'hv-st', pod.st(), 'net1', { ip: { static: '10.79.1.11' } }));
    await apply();
    await eventually('10.79.1.11 in, 10.79.1.10 out', async () => {
      const a = await podAddrs(pod.st());
      return a.includes('10.79.1.11/24') && !a.includes('10.79.1.10/24');
    });
    // The pod's own addresses are still there, the same-subnet one included (a kernel without
    // promote_secondaries drops secondaries with their primary: the agent must not let it).
    expect((await podAddrs(pod.st())).sort()).toEqual(['10.79.1.11/24', '10.79.1.77/24', '192.0.2.7/24']);
    expect(route(await podRoutes(pod.st()), 'default')).toMatchObject({ gateway: '10.79.1.1' });
    expect((await addressesOf('st', 1)).addresses[0]).toMatchObject({ ip: '10.79.1.11', source: AddressSource.ADDRESS_SOURCE_STATIC });
    const ips = await hostnetctl(session.socket, ['get', 'ips', '--network', 'web']);
    expect(ips.stdout).toMatch(/^web\s+10\.79\.1\.11\s+attachment\s+st\s+yes/m);
    // The old address is nobody's now (the bridge's neighbour table may still list it as foreign until it ages out).
    expect(ips.stdout).not.toMatch(/^web\s+10\.79\.1\.10\s+(attachment|lease|reservation)/m);
  });

  it('several addresses: auto, then a static, then another auto, in that order, all in the pod', async () => {
    attachments.set('mu', veth('mu', 'web', 'hv-mu', pod.mu(), 'net1', { ip: { auto: {}, addresses: [{ static: '10.79.1.20' }, { auto: {} }] } }));
    await apply();
    const s = await addressesOf('mu', 3);
    const [a, b, c] = s.addresses;
    expect(a).toMatchObject({ source: AddressSource.ADDRESS_SOURCE_AUTO, prefixLength: 24, network: 'web' });
    expect(b).toMatchObject({ ip: '10.79.1.20', source: AddressSource.ADDRESS_SOURCE_STATIC, prefixLength: 24 });
    expect(c).toMatchObject({ source: AddressSource.ADDRESS_SOURCE_AUTO, prefixLength: 24 });
    expect(inWebPool(a!.ip) && inWebPool(c!.ip), `${a!.ip} ${c!.ip}`).toBe(true);
    expect(new Set([a!.ip, b!.ip, c!.ip]).size).toBe(3);
    expect(s.ip).toBe(a!.ip);
    await eventually('all three in the pod', async () => (await podAddrs(pod.mu())).length === 3);
    expect((await podAddrs(pod.mu())).sort()).toEqual([`${a!.ip}/24`, '10.79.1.20/24', `${c!.ip}/24`].sort());
    expect((await podRoutes(pod.mu())).filter((r) => r.dst === 'default')).toHaveLength(1);
    expect(await pings(pod.mu(), '10.79.1.1')).toBe(true);

    const get = await hostnetctl(session.socket, ['get', 'attachments']);
    expect(get.stdout).toMatch(new RegExp(`^mu\\s+web\\s+veth\\s+hv-mu\\s+${re(`${a!.ip}/24,10.79.1.20/24,${c!.ip}/24`)}\\s+True`, 'm'));
    const ips = await hostnetctl(session.socket, ['get', 'ips']);
    for (const ip of [a!.ip, '10.79.1.20', c!.ip]) expect(ips.stdout).toMatch(new RegExp(`^web\\s+${re(ip)}\\s+attachment\\s+mu\\s+yes`, 'm'));
    const desc = (await hostnetctl(session.socket, ['describe', 'attachment', 'mu'])).stdout;
    expect(desc).toContain(`Addresses:    ${a!.ip}/24 (auto, assigned)\n              10.79.1.20/24 (static, assigned)\n              ${c!.ip}/24 (auto, assigned)`);
  });

  it('skipAssignment: reserved and reported, nothing configured in the pod; DHCP serves it to the pod\'s own client', async () => {
    attachments.set('sk', veth('sk', 'web', 'hv-sk', pod.sk(), 'net1', { ip: { static: '10.79.1.30', skipAssignment: true } }));
    await apply();
    const s = await addressesOf('sk', 1, false);
    expect(s.addresses[0]).toMatchObject({ ip: '10.79.1.30', prefixLength: 24, network: 'web', source: AddressSource.ADDRESS_SOURCE_STATIC, assigned: false });
    expect(s).toMatchObject({ gateway: '10.79.1.1', workloadIfName: 'net1' });
    await sighupPass();
    expect(await podAddrs(pod.sk())).toEqual([]);
    expect(await podRoutes(pod.sk())).toEqual([]);
    const ips = await hostnetctl(session.socket, ['get', 'ips']);
    expect(ips.stdout).toMatch(/^web\s+10\.79\.1\.30\s+attachment\s+sk\s+yes/m);
    expect((await hostnetctl(session.socket, ['describe', 'attachment', 'sk'])).stdout).toContain('Addresses:    10.79.1.30/24 (static, not assigned)');

    const lease = await (await udhcpc(pod.sk())).waitLease();
    expect(lease).toMatchObject({ ip: '10.79.1.30', prefix: 24, routers: ['10.79.1.1'] });
    expect(lease.routes).toEqual(expect.arrayContaining([{ destination: '10.99.0.0/16', via: '10.79.1.254' }]));
  });

  it('a TAP\'s static address is served to its guest by DHCP (a real client behind the TAP)', async () => {
    const mac = '52:54:00:79:00:40';
    attachments.set('vm', tap('vm', 'web', 'hwtap0', { mac, ip: { static: '10.79.1.40' } }));
    await apply();
    await eventually('vm Configured', async () => isTrue(await status('vm'), 'Configured'));
    const relay = await startTapRelay({ hostNetns: host(), tap: 'hwtap0', relayIf: 'hwrelay0', guestNetns: pod.guest(), guestIf: 'eth0', mac });
    relays.push(relay);
    const lease = await (await udhcpc(pod.guest(), 'eth0')).waitLease();
    expect(lease, relay.output()).toMatchObject({ ip: '10.79.1.40', prefix: 24, routers: ['10.79.1.1'] });
    expect(await pings(pod.guest(), '10.79.1.1')).toBe(true);

    const s = (await status('vm'))!;
    expect(s.addresses).toEqual([{ ip: '10.79.1.40', prefixLength: 24, network: 'web', source: AddressSource.ADDRESS_SOURCE_STATIC, assigned: false }]);
    expect(s).toMatchObject({ workloadIfName: '', mac, gateway: '10.79.1.1' });
    const ips = await hostnetctl(session.socket, ['get', 'ips']);
    expect(ips.stdout).toMatch(/^web\s+10\.79\.1\.40\s+attachment\s+vm\s+yes/m);
    const get = await hostnetctl(session.socket, ['get', 'attachments']);
    expect(get.stdout).toMatch(/^vm\s+web\s+tap\s+hwtap0\s+10\.79\.1\.40\/24\s+/m);
  });

  it('auto never takes an address DHCP has leased to another client', async () => {
    // Which address would auto take here? Ask once, then take the attachment away again.
    attachments.set('probe', veth('probe', 'tight', 'hv-probe', pod.probe(), 'net1', { ip: { auto: {} } }));
    await apply();
    const first = (await addressesOf('probe', 1)).addresses[0]!.ip;
    attachments.delete('probe');
    await apply();
    await eventually('probe gone', async () => (await status('probe')) === undefined);

    // Another client leases that very address (udhcpc -r asks for it) before auto chooses again.
    attachments.set('leaser', veth('leaser', 'tight', 'hv-leaser', pod.leaser(), 'net1'));
    await apply();
    await eventually('leaser Configured', async () => isTrue(await status('leaser'), 'Configured'));
    const lease = await (await udhcpc(pod.leaser(), 'net1', ['-r', first])).waitLease();
    expect(['10.79.2.100', '10.79.2.101']).toContain(lease.ip);
    // The strong case: the very address auto chose before (the agent let it go with the attachment).
    expect(lease.ip, 'udhcpc -r got the address auto had chosen').toBe(first);

    attachments.set('probe', veth('probe', 'tight', 'hv-probe', pod.probe(), 'net1', { ip: { auto: {} } }));
    await apply();
    const again = (await addressesOf('probe', 1)).addresses[0]!.ip;
    expect(again, `auto chose ${first} first; udhcpc then leased ${lease.ip}`).not.toBe(lease.ip);
    expect(['10.79.2.100', '10.79.2.101']).toContain(again);
    await eventually('the auto address in the probe pod', async () => (await podAddrs(pod.probe())).includes(`${again}/24`));
    // The leaser kept its lease: the address is still its own in the pod and in IP usage.
    expect(await podAddrs(pod.leaser())).toContain(`${lease.ip}/24`);
    const ips = await hostnetctl(session.socket, ['get', 'ips', '--network', 'tight']);
    expect(ips.stdout).toMatch(new RegExp(`^tight\\s+${re(again)}\\s+attachment\\s+probe\\s+yes`, 'm'));
    // A lease of an attachment's MAC is held by the attachment (ip-usage.ts), named by it.
    expect(ips.stdout).toMatch(new RegExp(`^tight\\s+${re(lease.ip)}\\s+attachment\\s+leaser\\s+yes`, 'm'));
  });

  let autoA = '';
  let autoB = '';

  it('auto: an address from the pools, in the pod, stable when an attachment whose name sorts first is added', async () => {
    attachments.set('au', veth('au', 'web', 'hv-au', pod.au(), 'net1', { ip: { auto: {} } }));
    await apply();
    const s = await addressesOf('au', 1);
    autoA = s.addresses[0]!.ip;
    expect(s.addresses[0]).toMatchObject({ prefixLength: 24, network: 'web', source: AddressSource.ADDRESS_SOURCE_AUTO, assigned: true });
    expect(inWebPool(autoA), autoA).toBe(true);
    await eventually('the auto address in the pod', async () => (await podAddrs(pod.au())).includes(`${autoA}/24`));
    expect(route(await podRoutes(pod.au()), 'default')).toMatchObject({ gateway: '10.79.1.1' });
    expect(await pings(pod.au(), '10.79.1.1')).toBe(true);
    const ips = await hostnetctl(session.socket, ['get', 'ips']);
    expect(ips.stdout).toMatch(new RegExp(`^web\\s+${re(autoA)}\\s+attachment\\s+au\\s+yes`, 'm'));
    expect((await hostnetctl(session.socket, ['get', 'attachments'])).stdout).toMatch(new RegExp(`^au\\s+web\\s+veth\\s+hv-au\\s+${re(autoA)}/24\\s+True`, 'm'));

    attachments.set('aa-first', veth('aa-first', 'web', 'hv-first', pod.first(), 'net1', { ip: { auto: {} } }));
    await apply();
    autoB = (await addressesOf('aa-first', 1)).addresses[0]!.ip;
    expect(autoB).not.toBe(autoA);
    expect(inWebPool(autoB), autoB).toBe(true);
    expect((await status('au'))!.addresses[0]!.ip).toBe(autoA);
    expect(await podAddrs(pod.au())).toEqual([`${autoA}/24`]);
  });

  it('after an agent restart every pod keeps its addresses (auto ones from <stateDir>/ipam.json), and a periodic pass repairs drift', async () => {
    const before = {
      st: (await podAddrs(pod.st())).sort(), mu: (await podAddrs(pod.mu())).sort(), au: await podAddrs(pod.au()), first: await podAddrs(pod.first()),
    };
    expect(await session.agent!.stop()).toBe(0);
    expect(existsSync(path.join(session.stateDir, 'ipam.json'))).toBe(true);
    // This time with a periodic resync, so drift is repaired without a signal.
    await boot(['--resync-interval', '2']);
    expect((await addressesOf('au', 1)).addresses[0]!.ip).toBe(autoA);
    expect((await addressesOf('aa-first', 1)).addresses[0]!.ip).toBe(autoB);
    expect(await podAddrs(pod.au())).toEqual(before.au);
    expect(await podAddrs(pod.first())).toEqual(before.first);
    expect((await podAddrs(pod.st())).sort()).toEqual(before.st);
    expect((await podAddrs(pod.mu())).sort()).toEqual(before.mu);

    await execa('ip', ['-n', pod.au(), 'route', 'del', 'default']);
    await execa('ip', ['-n', pod.au(), 'addr', 'del', `${autoA}/24`, 'dev', 'net1']);
    await eventually('address and default route back by a periodic pass', async () =>
      (await podAddrs(pod.au())).includes(`${autoA}/24`) && route(await podRoutes(pod.au()), 'default')?.gateway === '10.79.1.1', 10_000);
  });

  it('the VLAN id of the attachment\'s network is reported', async () => {
    // The parent may not carry VLANs on this kernel; the id comes from the network either way.
    await execa('ip', ['-n', host(), 'link', 'add', 'hwvpar0', 'type', 'veth', 'peer', 'name', 'hwvpar1']);
    networks.push({ name: 'tagged', ipFamily: 'IPV4', cidr: '10.79.3.0/24', gateway: '10.79.3.1', uplink: { vlan: { parent: 'hwvpar0', id: 600 } } });
    attachments.set('tv', tap('tv', 'tagged', 'hwtap1', { ip: { static: '10.79.3.10' } }));
    await apply();
    const s = await eventually('tv reported with its address', async () => {
      const x = await status('tv');
      return x?.addresses.length ? x : undefined;
    });
    expect(s).toMatchObject({ vlanId: 600, workloadIfName: '', addresses: [{ ip: '10.79.3.10', prefixLength: 24, network: 'tagged' }] });
    expect((await status('st'))!.vlanId).toBe(0);
    expect((await hostnetctl(session.socket, ['describe', 'attachment', 'tv'])).stdout).toMatch(/\nVLAN:\s+600\n/);
  });
});
