// Routers between networks and NAT (issue 13), with the real hostnet-agent in a namespace that
// plays the host: three bridged networks with a veth workload each (static addresses, the
// default route via the gateway put there by the agent), a router joining two of them with
// uplink0 as its way out, uplink0 a veth to an "internet" namespace that has no route back to
// the workloads. Witnesses: ping between workload namespaces, a TCP server in the internet
// namespace printing the peer address it sees, `nft -j list table inet hostnet-routers`, the
// agent namespace's sysctls, GetStatus and `hostnetctl get ips`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { agentClient, buildDist, hostnetctl, rpc, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, veth } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(5, 'all', 'rtr');
const host = (): string => ns[0]!;
const internet = (): string => ns[1]!;
const pod = { a: () => ns[2]!, b: () => ns[3]!, c: () => ns[4]! };
const NFT = '/usr/sbin/nft';

const net = (name: string, third: number): Record<string, unknown> =>
  ({ name, ipFamily: 'IPV4', cidr: `10.81.${third}.0/24`, gateway: `10.81.${third}.1`, gatewayOnBridge: true });
const IP = { a: '10.81.1.10', b: '10.81.2.10', c: '10.81.3.10' };

let dir: string;
let socket: string;
let agent: AgentProcess | null = null;
let client: NodeAgentClient | null = null;
let generation = 0;
let server: ResultPromise | null = null;

async function apply(routers: unknown[]): Promise<void> {
  const s = {
    generation: ++generation,
    networks: [net('a', 1), net('b', 2), net('c', 3)],
    attachments: [
      veth('wa', 'a', 'hv-wa', pod.a(), 'net1', { ip: { static: IP.a } }),
      veth('wb', 'b', 'hv-wb', pod.b(), 'net1', { ip: { static: IP.b } }),
      veth('wc', 'c', 'hv-wc', pod.c(), 'net1', { ip: { static: IP.c } }),
    ],
    routers,
  };
  const file = path.join(dir, `state-${generation}.yaml`);
  await writeFile(file, YAML.stringify(s));
  const r = await hostnetctl(socket, ['apply', '-f', file]);
  expect(r.exitCode, `${r.stderr}\n${r.stdout}`).toBe(0);
}
const R1 = { name: 'r1', networks: ['a', 'b'], external: { interface: 'uplink0' } };

async function pings(from: string, ip: string): Promise<boolean> {
  return (await execa('ip', ['netns', 'exec', from, 'ping', '-c', '1', '-W', '1', ip], { reject: false })).exitCode === 0;
}
const inHost = (cmd: string, args: string[]) => execa('ip', ['netns', 'exec', host(), cmd, ...args], { reject: false });
async function sysctl(key: string): Promise<string> {
  return (await inHost('sysctl', ['-n', key])).stdout.trim();
}
async function routerTable(): Promise<Array<Record<string, unknown>> | null> {
  const r = await inHost(NFT, ['-j', 'list', 'table', 'inet', 'hostnet-routers']);
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as { nftables: Array<Record<string, unknown>> }).nftables : null;
}
async function isolatedCount(): Promise<number> {
  const c = (await routerTable())?.find((i) => (i['counter'] as { name?: string } | undefined)?.name === 'isolated');
  return (c?.['counter'] as { packets: number } | undefined)?.packets ?? -1;
}
/** The source address the internet namespace sees for a TCP connection from `from`. */
async function peerSeenFrom(from: string): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', from, 'socat', '-T', '2', '-', 'TCP:203.0.113.1:9999,connect-timeout=2'], { input: '', reject: false, timeout: 5000 });
  return r.stdout.trim();
}
async function sighupPass(): Promise<void> {
  const from = agent!.logs().length;
  process.kill(agent!.pid, 'SIGHUP');
  await eventually('a pass after SIGHUP', () => agent!.logs().slice(from).split('\n').some((l) => l.includes('"msg":"pass"') && l.includes('SIGHUP')));
}

beforeAll(async () => {
  await buildDist();
  dir = await mkdtemp(path.join(tmpdir(), 'hostnet-rtr-'));
  socket = path.join(dir, 'run', 'agent.sock');
  // The internet: 203.0.113.1 at the far end of uplink0, and no route back to 10.81.0.0/16.
  await execa('ip', ['-n', host(), 'link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'inet0', 'netns', internet()]);
  await execa('ip', ['-n', host(), 'addr', 'add', '203.0.113.2/24', 'dev', 'uplink0']);
  await execa('ip', ['-n', internet(), 'addr', 'add', '203.0.113.1/24', 'dev', 'inet0']);
  await execa('ip', ['-n', host(), 'link', 'set', 'uplink0', 'up']);
  await execa('ip', ['-n', internet(), 'link', 'set', 'inet0', 'up']);
  server = execa('ip', ['netns', 'exec', internet(), 'socat', 'TCP-LISTEN:9999,reuseaddr,fork', 'SYSTEM:echo $SOCAT_PEERADDR'], { reject: false });
  agent = await startAgent({ netns: host(), socket, stateDir: path.join(dir, 'state') });
  client = agentClient(socket);
});

afterAll(async () => {
  client?.close();
  if (agent) await agent.stop().catch(() => undefined);
  if (server?.pid) process.kill(server.pid, 'SIGTERM');
  await server?.catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('routers and NAT with the real agent', () => {
  it('a router joins two networks and takes them out through uplink0 with masquerade; the third stays apart', async () => {
    await apply([R1]);
    for (const [p, gw] of [[pod.a(), '10.81.1.1'], [pod.b(), '10.81.2.1'], [pod.c(), '10.81.3.1']] as const) {
      await eventually(`default route via ${gw} in ${p}`, async () =>
        (await execa('ip', ['-n', p, 'route', 'show', 'default'])).stdout.includes(`via ${gw}`));
    }
    expect(await sysctl('net.ipv4.ip_forward')).toBe('0');
    await eventually('a pings b', () => pings(pod.a(), IP.b));
    expect(await pings(pod.b(), IP.a)).toBe(true);
    // Per device only: the connected bridges and uplink0, not the third bridge nor the host-wide switch.
    expect(await sysctl('net.ipv4.conf.hn-a.forwarding')).toBe('1');
    expect(await sysctl('net.ipv4.conf.hn-b.forwarding')).toBe('1');
    expect(await sysctl('net.ipv4.conf.uplink0.forwarding')).toBe('1');
    expect(await sysctl('net.ipv4.conf.hn-c.forwarding')).toBe('0');
    for (const [from, to] of [[pod.c(), IP.a], [pod.c(), IP.b], [pod.a(), IP.c], [pod.b(), IP.c]] as const) {
      expect(await pings(from, to), `${from} -> ${to}`).toBe(false);
    }

    // Out to the internet, which sees only uplink0's address.
    expect(await pings(pod.a(), '203.0.113.1')).toBe(true);
    expect(await peerSeenFrom(pod.a())).toBe('203.0.113.2');
    expect(await peerSeenFrom(pod.b())).toBe('203.0.113.2');
    expect(await peerSeenFrom(pod.c())).toBe('');

    const table = await routerTable();
    expect(table, 'nft table inet hostnet-routers').not.toBeNull();
    const text = JSON.stringify(table);
    // What each network's chain lets out: a reaches b and the way out, c only itself.
    const elems = (name: string): unknown[] | undefined =>
      (table!.find((i) => (i['set'] as { name?: string } | undefined)?.name === name)?.['set'] as { elem?: unknown[] } | undefined)?.elem;
    expect(elems('to_net_a')).toEqual(['hn-a', 'hn-b', 'uplink0']);
    expect(elems('to_net_c')).toEqual(['hn-c']);
    expect(text).toContain('"masquerade"');

    const s = await rpc(client!, client!.getStatus, {});
    const routed = (name: string) => s.networks.find((n) => n.name === name)?.conditions.find((c) => c.type === 'Routed');
    expect(routed('a')).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'Connected' });
    expect(routed('a')!.message).toBe('connected by router r1 to b; out through uplink0 (masquerade)');
    expect(routed('c')).toBeUndefined();

    const ips = await hostnetctl(socket, ['get', 'ips']);
    expect(ips.stdout).toMatch(/^a\s+10\.81\.1\.1\s+router\s+r1\s+yes/m);
    expect(ips.stdout).toMatch(/^b\s+10\.81\.2\.1\s+router\s+r1\s+yes/m);
    expect(ips.stdout).toMatch(/^c\s+10\.81\.3\.1\s+gateway\s+c\s+yes/m);
  });

  it('with the host-wide ip_forward on, the nft drop alone keeps the third network apart', async () => {
    await inHost('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    try {
      expect(await sysctl('net.ipv4.conf.hn-c.forwarding')).toBe('1');
      const before = await isolatedCount();
      for (const [from, to] of [[pod.c(), IP.a], [pod.c(), IP.b], [pod.a(), IP.c], [pod.b(), IP.c]] as const) {
        expect(await pings(from, to), `${from} -> ${to}`).toBe(false);
      }
      expect(await peerSeenFrom(pod.c())).toBe('');
      // Each ping was forwarded as far as the table and dropped there.
      expect(await isolatedCount()).toBeGreaterThanOrEqual(before + 4);
      expect(await pings(pod.a(), IP.b)).toBe(true);
    } finally {
      // Off again: that turns every device's switch off, the routers' too...
      await inHost('sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
    }
    expect(await sysctl('net.ipv4.conf.hn-a.forwarding')).toBe('0');
    // ... and a full pass turns the routers' back on.
    await sighupPass();
    await eventually('a pings b again', () => pings(pod.a(), IP.b));
    expect(await sysctl('net.ipv4.conf.hn-c.forwarding')).toBe('0');
  });

  it('a table deleted by hand is back after a full pass', async () => {
    await inHost(NFT, ['delete', 'table', 'inet', 'hostnet-routers']);
    expect(await routerTable()).toBeNull();
    await sighupPass();
    await eventually('the table is back', async () => (await routerTable()) !== null);
    expect(await peerSeenFrom(pod.a())).toBe('203.0.113.2');
  });

  it('removing the router removes the table, the switches it turned on, and the connectivity', async () => {
    await apply([]);
    await eventually('table gone', async () => (await routerTable()) === null);
    expect(await sysctl('net.ipv4.conf.hn-a.forwarding')).toBe('0');
    expect(await sysctl('net.ipv4.conf.hn-b.forwarding')).toBe('0');
    expect(await sysctl('net.ipv4.conf.uplink0.forwarding')).toBe('0');
    expect(await pings(pod.a(), IP.b)).toBe(false);
    expect(await peerSeenFrom(pod.a())).toBe('');
    const ips = await hostnetctl(socket, ['get', 'ips']);
    expect(ips.stdout).toMatch(/^a\s+10\.81\.1\.1\s+gateway\s+a\s+yes/m);
  });
});
