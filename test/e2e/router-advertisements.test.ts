// Router advertisements from the real hostnet-agent on an IPv6 network (issue 10, SLAAC): a
// workload namespace with the kernel's own SLAAC forms an address in the prefix and a default
// route via the bridge's link-local address; rdisc6 shows every field; an agent restart leaves
// the workload's default route alone (no router lifetime 0 on the way down), while a network
// that stops advertising sends its final advertisement and the route goes at once. Witnesses:
// rdisc6 (ndisc6), `ip -n POD -j -6 addr|route`, ping, GetStatus, hostnetctl.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { buildDist, hostnetctl } from '../lib/agent-process.js';
import { AgentSession } from '../lib/agent-session.js';
import { eventually, veth } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(2, 'all', 'hra6');
const host = (): string => ns[0]!;
const pod = (): string => ns[1]!;

const V6 = (gatewayOnBridge: boolean): Record<string, unknown> => ({
  name: 'v6', ipFamily: 'IPV6', cidr: 'fd00:77::/64', gateway: 'fd00:77::1', gatewayOnBridge, mtu: 1400, ipv6Mode: 'SLAAC',
  dhcp: { dnsServers: ['fd00:77::53'], searchDomains: ['v6.example'], routes: [{ destination: 'fd00:99::/48', via: 'fd00:77::fe' }] },
});

const session = new AgentSession();

const apply = (advertise: boolean): Promise<void> =>
  session.apply({ networks: [V6(advertise)], attachments: [veth('w', 'v6', 'hv-w', pod(), 'net1')] }, 'json');

interface Route6 { dst: string; gateway?: string; dev: string; protocol?: string }
const routes = async (): Promise<Route6[]> => JSON.parse((await execa('ip', ['-n', pod(), '-j', '-6', 'route', 'show'])).stdout || '[]') as Route6[];
const raDefault = async (): Promise<Route6 | undefined> => (await routes()).find((r) => r.dst === 'default' && r.protocol === 'ra');

async function slaacAddress(): Promise<string | undefined> {
  const links = JSON.parse((await execa('ip', ['-n', pod(), '-j', '-6', 'addr', 'show', 'dev', 'net1'])).stdout || '[]') as { addr_info: { local: string; prefixlen: number; scope: string; dynamic?: boolean }[] }[];
  return links.flatMap((l) => l.addr_info).find((a) => a.scope === 'global' && a.local.startsWith('fd00:77:') && a.prefixlen === 64 && a.dynamic)?.local;
}

beforeAll(async () => {
  await buildDist();
  await session.open('hostnet-ra6-', 'agent.sock');
  await session.boot(host());
  // The workload takes advertisements and forms addresses itself (the kernel's SLAAC).
  await execa('ip', ['netns', 'exec', pod(), 'sysctl', '-qw', 'net.ipv6.conf.all.accept_ra=1', 'net.ipv6.conf.default.accept_ra=1', 'net.ipv6.conf.default.autoconf=1',
    // Route information options are taken only up to this prefix length (default 0: none).
    'net.ipv6.conf.default.accept_ra_rt_info_max_plen=64']);
  await apply(true);
});

afterAll(async () => {
  await session.close();
});

describe('router advertisements from the agent', () => {
  it('a workload forms a SLAAC address and a default route via the bridge\'s link-local', async () => {
    const address = await eventually('a SLAAC address in fd00:77::/64', slaacAddress, 20_000);
    const def = await eventually('a default route from the RA', raDefault);
    expect(def.gateway).toMatch(/^fe80::/);
    expect(def.dev).toBe('net1');
    expect((await routes()).find((r) => r.dst === 'fd00:99::/48')).toMatchObject({ gateway: def.gateway, protocol: 'ra' });
    expect((await execa('ip', ['netns', 'exec', pod(), 'ping', '-6', '-c', '1', '-W', '2', 'fd00:77::1'], { reject: false })).exitCode).toBe(0);
    expect(address).not.toBe('fd00:77::1');
  });

  it('rdisc6 shows every field of the advertisement', async () => {
    const out = (await execa('ip', ['netns', 'exec', pod(), 'rdisc6', '-1', '-w', '2000', 'net1'])).stdout;
    expect(out).toMatch(/Stateful address conf\.\s*:\s*No/);
    expect(out).toMatch(/Stateful other conf\.\s*:\s*No/);
    expect(out).toMatch(/Router lifetime\s*:\s*1800 /);
    expect(out).toMatch(/MTU\s*:\s*1400 bytes/);
    expect(out).toMatch(/Prefix\s*:\s*fd00:77::\/64/);
    expect(out).toMatch(/Autonomous address conf\.\s*:\s*Yes/);
    expect(out).toMatch(/Recursive DNS server\s*:\s*fd00:77::53/);
    expect(out).toMatch(/DNS search list\s*:\s*v6\.example/);
    expect(out).toMatch(/Route\s*:\s*fd00:99::\/48/);
  });

  it('reports RouterAdvertising and exact IPv6 totals', async () => {
    const c = await session.condition('networks', 'v6', 'RouterAdvertising');
    expect(c).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'Advertising' });
    const ips = await hostnetctl(session.socket, ['get', 'ips', '--network', 'v6']);
    expect(ips.stdout).toMatch(/v6\s+fd00:77::\/64\s+18446744073709551616\s/);
  });

  it('an agent restart never withdraws the default route', async () => {
    expect(await session.agent!.stop()).toBe(0);
    session.agent = null;
    await new Promise((r) => setTimeout(r, 500));
    expect(await raDefault()).toBeDefined();
    await session.boot(host());
    await new Promise((r) => setTimeout(r, 500));
    expect(await raDefault()).toBeDefined();
  });

  it('a network that stops advertising sends router lifetime 0: the default route goes at once', async () => {
    expect(await raDefault()).toBeDefined();
    await apply(false);
    await eventually('the RA default route withdrawn', async () => !(await raDefault()), 3000);
  });
});
