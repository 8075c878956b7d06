// The embedded DHCP server inside the real hostnet-agent: a network with DHCP applied through
// gRPC, veth attachments whose peers live in workload namespaces, busybox udhcpc as the
// client. What the client understood, ListLeases / ListIpUsage / hostnetctl, the DhcpServing
// condition, a kill -9 and restart (leases durable), and a reconfiguration that keeps leases.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { ConditionStatus, IpHolderKind, LeaseState } from '../../agent/api/gen/hostnet/v1/status.js';
import { dhcpConfigOf } from '../../agent/dhcp/config.js';
import { assignAddresses } from '../../agent/ipam/assignments.js';
import { deriveAttachmentMac } from '../../agent/naming.js';
import { agentClient, buildDist, hostnetctl, rpc, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, state, veth, type StateJson } from '../lib/agent-state.js';
import { DhcpClientRun } from '../lib/dhcp-clients.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(3, 'all', 'agdhcp');
const host = (): string => ns[0]!;
const workA = (): string => ns[1]!;
const workB = (): string => ns[2]!;

const RESERVED_MAC = '02:00:00:00:aa:01';
const RESERVED_IP = '10.78.5.20';
const AUTO_MAC = deriveAttachmentMac('pod-auto');

let dir: string;
let socket: string;
let stateDir: string;
let agent: AgentProcess | null = null;
let client: NodeAgentClient | null = null;
const clients: DhcpClientRun[] = [];

const desired = (generation: number, dns: string[]): StateJson => ({
  generation,
  networks: [{
    name: 'lan', ipFamily: 'IPV4', cidr: '10.78.5.0/24', gateway: '10.78.5.1', gatewayOnBridge: true,
    dhcp: {
      enabled: true, serverAddress: '10.78.5.2',
      pools: [{ start: '10.78.5.100', end: '10.78.5.150' }],
      dnsServers: dns, searchDomains: ['lan.example'],
      routes: [{ destination: '10.99.0.0/16', via: '10.78.5.254' }],
      leaseSeconds: 600,
      reservations: [{ mac: RESERVED_MAC, ip: RESERVED_IP, hostname: 'reserved' }],
    },
  }],
  attachments: [
    // The pod runs its own DHCP client: the agent reserves its address and leaves net1 alone.
    veth('pod-auto', 'lan', 'hv-auto', workA(), 'net1', { ip: { auto: {}, skipAssignment: true } }),
    veth('pod-res', 'lan', 'hv-res', workB(), 'net1', { mac: RESERVED_MAC }),
  ],
});

/** The address the agent reserves for pod-auto, as the agent computes it. */
function autoIp(): string {
  const s = state(desired(1, ['10.78.5.53']));
  const cfg = dhcpConfigOf(s.networks[0]!, { assignments: assignAddresses(s, {}, () => []), node: s.node, mtu: 1500 });
  const ip = cfg?.reservations?.find((r) => r.mac === AUTO_MAC)?.ip;
  if (!ip) throw new Error('no auto reservation computed');
  return ip;
}

async function udhcpc(netns: string): Promise<DhcpClientRun> {
  const c = await DhcpClientRun.start('udhcpc', netns, 'net1');
  clients.push(c);
  return c;
}

async function stopClients(): Promise<void> {
  for (const c of clients.splice(0)) await c.stop().catch(() => undefined);
}

async function leases() {
  return (await rpc(client!, client!.listLeases, { network: '' })).leases;
}

async function dhcpServing() {
  const s = await rpc(client!, client!.getStatus, {});
  return s.networks.find((n) => n.name === 'lan')?.conditions.find((c) => c.type === 'DhcpServing');
}

async function boot(): Promise<void> {
  agent = await startAgent({ netns: host(), socket, stateDir });
  client?.close();
  client = agentClient(socket);
}

beforeAll(async () => {
  await buildDist();
  dir = await mkdtemp(path.join(tmpdir(), 'hostnet-e2e-dhcp-'));
  socket = path.join(dir, 'run', 'agent.sock');
  stateDir = path.join(dir, 'state');
  await boot();
});

afterAll(async () => {
  await stopClients();
  client?.close();
  if (agent) await agent.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('hostnet-agent serves DHCP', () => {
  let autoAddress = '';

  it('Apply starts a server on the bridge: udhcpc gets address, router, DNS, routes; the reservation is honoured', async () => {
    await rpc(client!, client!.apply, { state: state(desired(1, ['10.78.5.53'])), dryRun: false });
    const serving = await eventually('DhcpServing True', async () => {
      const c = await dhcpServing();
      return c?.status === ConditionStatus.CONDITION_STATUS_TRUE ? c : undefined;
    });
    expect(serving.reason).toBe('Serving');
    expect(existsSync(path.join(stateDir, 'leases', 'lan.leases'))).toBe(true);

    const a = await udhcpc(workA());
    const b = await udhcpc(workB());
    const la = await a.waitLease();
    autoAddress = autoIp();
    expect(la.ip).toBe(autoAddress);
    expect(Number(autoAddress.split('.')[3])).toBeGreaterThanOrEqual(100);
    expect(Number(autoAddress.split('.')[3])).toBeLessThanOrEqual(150);
    expect(la.prefix).toBe(24);
    expect(la.routers).toEqual(['10.78.5.1']);
    expect(la.dns).toEqual(['10.78.5.53']);
    expect(la.search).toEqual(['lan.example']);
    expect(la.serverId).toBe('10.78.5.2');
    expect(la.leaseSeconds).toBe(600);
    expect(la.routes).toEqual(expect.arrayContaining([
      { destination: '10.99.0.0/16', via: '10.78.5.254' }, { destination: '0.0.0.0/0', via: '10.78.5.1' },
    ]));
    const lb = await b.waitLease();
    expect(lb.ip).toBe(RESERVED_IP);
  });

  it('ListLeases, ListIpUsage and hostnetctl get leases show the leases', async () => {
    const ls = await eventually('two bound leases', async () => {
      const l = await leases();
      return l.filter((x) => x.state === LeaseState.LEASE_STATE_BOUND).length === 2 ? l : undefined;
    });
    expect(ls.find((l) => l.mac === AUTO_MAC)).toMatchObject({ network: 'lan', ip: autoAddress, state: LeaseState.LEASE_STATE_BOUND });
    expect(ls.find((l) => l.mac === RESERVED_MAC)).toMatchObject({ network: 'lan', ip: RESERVED_IP, state: LeaseState.LEASE_STATE_BOUND });
    expect(ls[0]!.expiresAt!.getTime()).toBeGreaterThan(Date.now());

    const usage = (await rpc(client!, client!.listIpUsage, { network: 'lan' })).networks[0]!;
    const holder = (ip: string) => usage.ips.find((u) => u.ip === ip);
    expect(holder('10.78.5.1')?.holderKind).toBe(IpHolderKind.IP_HOLDER_KIND_GATEWAY);
    expect(holder('10.78.5.2')?.holderKind).toBe(IpHolderKind.IP_HOLDER_KIND_DHCP_SERVER);
    // Leased and auto-assigned to the attachment: named by it.
    expect(holder(autoAddress)).toMatchObject({ holderKind: IpHolderKind.IP_HOLDER_KIND_ATTACHMENT, holderName: 'pod-auto', managed: true, mac: AUTO_MAC });
    expect(holder(RESERVED_IP)?.holderKind).toBe(IpHolderKind.IP_HOLDER_KIND_RESERVATION);

    const ctl = await hostnetctl(socket, ['get', 'leases']);
    expect(ctl.exitCode).toBe(0);
    expect(ctl.stdout).toMatch(/NETWORK\s+IP\s+MAC/);
    const row = ctl.stdout.split('\n').find((l) => l.includes(AUTO_MAC));
    expect(row).toMatch(new RegExp(`lan\\s+${autoAddress.replace(/\./g, '\\.')}\\s+${AUTO_MAC}\\s+.*BOUND\\s+in `));
    expect(ctl.stdout).toContain(RESERVED_IP);
  });

  it('after kill -9 and a restart the leases are still listed, same IP for the same MAC', async () => {
    await stopClients(); // no RELEASE: the leases stay bound
    const before = (await leases()).filter((l) => l.state === LeaseState.LEASE_STATE_BOUND).map((l) => [l.mac, l.ip]).sort();
    await agent!.kill9();
    agent = null;
    await boot();
    const after = await eventually('leases back after restart', async () => {
      const l = (await leases()).filter((x) => x.state === LeaseState.LEASE_STATE_BOUND).map((x) => [x.mac, x.ip]).sort();
      return l.length === before.length ? l : undefined;
    });
    expect(after).toEqual(before);
    expect((await dhcpServing())?.status).toBe(ConditionStatus.CONDITION_STATUS_TRUE);
  });

  it('changing the DNS servers reconfigures the running server without losing leases', async () => {
    const count = (what: string): number => agent!.logs().split('\n').filter((l) => l.includes(`"${what}"`)).length;
    const started = count('DHCP server started');
    const reconfigured = count('DHCP server reconfigured');
    const before = (await leases()).map((l) => [l.mac, l.ip]).sort();
    await rpc(client!, client!.apply, { state: state(desired(2, ['10.78.5.54'])), dryRun: false });
    await eventually('reconfigured', () => count('DHCP server reconfigured') > reconfigured);
    expect(count('DHCP server started')).toBe(started);
    expect((await leases()).map((l) => [l.mac, l.ip]).sort()).toEqual(before);
    const a = await udhcpc(workA());
    const la = await a.waitLease();
    expect(la.ip).toBe(autoAddress);
    expect(la.dns).toEqual(['10.78.5.54']);
    expect((await dhcpServing())?.status).toBe(ConditionStatus.CONDITION_STATUS_TRUE);
  });

  it('drift: the server address removed by hand is repaired in the same pass (no flap); a bridge recreated by hand serves again', async () => {
    await stopClients();
    const seen: string[] = [];
    const stream = client!.watchStatus({ sendInitial: false });
    stream.on('data', (r: { resourceName: string; condition?: { type: string; status: number; reason: string } }) => {
      if (r.resourceName === 'lan' && r.condition?.type === 'DhcpServing') seen.push(`${r.condition.status === ConditionStatus.CONDITION_STATUS_TRUE ? 'True' : 'False'}/${r.condition.reason}`);
    });
    stream.on('error', () => undefined);
    try {
      await execa('ip', ['-n', host(), 'addr', 'del', '10.78.5.2/24', 'dev', 'hn-lan']);
      // The pass re-adds the address before the servers are synced: DhcpServing never flaps.
      await eventually('server address back', async () =>
        (await execa('ip', ['-n', host(), '-j', 'addr', 'show', 'dev', 'hn-lan'])).stdout.includes('"10.78.5.2"'));
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toEqual([]);
    } finally {
      stream.cancel();
    }
    const oldIndex = JSON.parse((await execa('ip', ['-n', host(), '-j', 'link', 'show', 'hn-lan'])).stdout)[0].ifindex as number;
    await execa('ip', ['-n', host(), 'link', 'del', 'hn-lan']);
    await eventually('bridge back and serving', async () => {
      const r = await execa('ip', ['-n', host(), '-j', 'link', 'show', 'hn-lan'], { reject: false });
      if (r.exitCode !== 0 || (JSON.parse(r.stdout)[0].ifindex as number) === oldIndex) return false;
      return (await dhcpServing())?.status === ConditionStatus.CONDITION_STATUS_TRUE;
    });
    const a = await udhcpc(workA());
    expect((await a.waitLease()).ip).toBe(autoAddress);
  });

  it('a full pool shows as DhcpServing False/PoolExhausted until an address is offered again', async () => {
    await stopClients();
    const s = desired(3, ['10.78.5.54']);
    // One pool address, kept for pod-auto: a client without a reservation finds nothing.
    (s.networks![0]!['dhcp'] as Record<string, unknown>)['pools'] = [{ start: '10.78.5.100', end: '10.78.5.100' }];
    s.attachments!.push(veth('pod-dyn', 'lan', 'hv-dyn', workB(), 'net2'));
    await rpc(client!, client!.apply, { state: state(s), dryRun: false });
    const dyn = await DhcpClientRun.start('udhcpc', workB(), 'net2', ['-n']); // -n: exit when no lease
    clients.push(dyn);
    await eventually('pool-exhausted drops', async () => {
      process.kill(agent!.pid, 'SIGHUP'); // a pass: conditions are computed in passes
      const c = await dhcpServing();
      return c?.status === ConditionStatus.CONDITION_STATUS_FALSE && c.reason === 'PoolExhausted' ? c : undefined;
    }, 15_000);
    // The refused client goes first (it would otherwise go on asking, and a refusal after the
    // OFFER below rightly keeps the condition False); then an address offered again
    // (pod-auto's reserved one) clears it on the next pass: the latest of the two decides.
    await stopClients();
    const a = await udhcpc(workA());
    expect((await a.waitLease()).ip).toBe('10.78.5.100');
    await stopClients();
    await eventually('Serving again', async () => {
      process.kill(agent!.pid, 'SIGHUP');
      return (await dhcpServing())?.status === ConditionStatus.CONDITION_STATUS_TRUE;
    });
  });

  it('disabling DHCP stops the server and drops the condition; the lease file stays', async () => {
    await stopClients();
    const s = desired(4, ['10.78.5.54']);
    (s.networks![0]!['dhcp'] as Record<string, unknown>)['enabled'] = false;
    delete s.attachments![0]!['ip']; // ip: auto needs DHCP
    await rpc(client!, client!.apply, { state: state(s), dryRun: false });
    expect(await dhcpServing()).toBeUndefined();
    expect(await leases()).toEqual([]);
    expect(existsSync(path.join(stateDir, 'leases', 'lan.leases'))).toBe(true);
  });

  it('removing the network removes its lease file', async () => {
    await rpc(client!, client!.apply, { state: state({ generation: 5, networks: [], attachments: [] }), dryRun: false });
    expect(existsSync(path.join(stateDir, 'leases', 'lan.leases'))).toBe(false);
    expect((await rpc(client!, client!.getStatus, {})).networks).toEqual([]);
  });
});
