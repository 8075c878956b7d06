// VLAN uplinks end to end (issue 12): two hosts, each a namespace running the real
// hostnet-agent (dist/agent/main.js, compiled on the host; in the VM fixture the guest runs the
// host's dist/ over 9p), joined by a trunk: a veth pair named eth1 on both sides. Each agent has
// network v600 (uplink eth1.600) and v601 (uplink eth1.601), both 10.60.0.0/24 on purpose, and
// one veth workload per network (attachment named after its pod) with a static address the
// agent puts inside the pod:
//   host a: a600 10.60.0.11 (v600), a601 10.60.0.12 (v601)
//   host b: b600 10.60.0.21 (v600), b601 10.60.0.22 (v601)
// Only the VLAN tag keeps a600 from b601. Witnesses: ping between the pods, `ip -j -d link` of
// the sub-interfaces, the receive counters of b's eth1.600 and eth1.601 (a sub-interface only
// gets frames with its tag), GetStatus. Needs 802.1Q: run with `bash test/vlan/run.sh`.
// TCG is slow: one agent start per host for the whole file, coarse tests, polls every 250 ms.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { ConditionStatus, type NetworkStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { killAll, spawnAgent, stopAgent, waitForLog, type Agent } from '../../agent/testing/launch.js';
import { ipJson, ipLink } from '../../dataplane/testing/ip.js';
import { AGENT_JS, agentClient, buildDist, CTL_JS, rpc } from '../lib/agent-process.js';
import { eventually } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';
import { kernelHasVlan } from '../lib/vlan-support.js';

const inVm = process.env['HOSTNET_IN_VM'] !== undefined;
const ns = useNetns(6, 'all', 'vlanh');
const hostA = (): string => ns[0]!;
const hostB = (): string => ns[1]!;
const pod = { a600: (): string => ns[2]!, a601: (): string => ns[3]!, b600: (): string => ns[4]!, b601: (): string => ns[5]! };
const IP = { a600: '10.60.0.11', a601: '10.60.0.12', b600: '10.60.0.21', b601: '10.60.0.22' };

interface Host {
  name: 'a' | 'b';
  netns: () => string;
  agent: Agent | null;
  client: NodeAgentClient | null;
}
const hosts: Host[] = [
  { name: 'a', netns: hostA, agent: null, client: null },
  { name: 'b', netns: hostB, agent: null, client: null },
];
let dir = '';

/** One host's desired state: the two VLAN networks, one veth workload on each. */
function desired(h: 'a' | 'b'): DesiredState {
  const net = (id: number): Record<string, unknown> => ({
    name: `v${id}`, ipFamily: 'IPV4', cidr: '10.60.0.0/24', uplink: { vlan: { parent: 'eth1', id } },
  });
  const work = (id: 600 | 601): Record<string, unknown> => {
    const key = `${h}${id}` as keyof typeof pod;
    // Names unique across the hosts, as a control plane gives them: the MAC derives from the name.
    return { name: key, network: `v${id}`, veth: { ifName: `hv-${key}`, peerNetns: pod[key](), peerIfName: 'eth0' }, ip: { static: IP[key] } };
  };
  return DesiredState.fromJSON({ generation: 1, networks: [net(600), net(601)], attachments: [work(600), work(601)] });
}

/** Polls every 250 ms: each poll costs a lot under TCG. */
const until = <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> => eventually(what, check, timeoutMs, 250);

async function networks(h: Host): Promise<NetworkStatus[]> {
  return (await rpc(h.client!, h.client!.getStatus, {})).networks;
}
const conditionTrue = (n: NetworkStatus | undefined, type: string): boolean =>
  n?.conditions.some((c) => c.type === type && c.status === ConditionStatus.CONDITION_STATUS_TRUE) ?? false;

async function uplinksReady(h: Host): Promise<boolean> {
  const s = await networks(h);
  return ['v600', 'v601'].every((name) => conditionTrue(s.find((n) => n.name === name), 'UplinkReady'));
}

async function podHasAddress(netns: string, ip: string): Promise<boolean> {
  const links = await ipJson(netns, 'addr', 'show', 'dev', 'eth0');
  return links.some((l) => Array.isArray(l['addr_info']) && (l['addr_info'] as { local?: string }[]).some((a) => a.local === ip));
}

async function pings(netns: string, ip: string, count = 1): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', netns, 'ping', '-c', String(count), '-i', '0.2', '-W', '1', ip], { reject: false });
  return r.exitCode === 0;
}

/** Frames `dev` received (ip -s): on a VLAN sub-interface, frames that came tagged with its id. */
async function rxPackets(netns: string, dev: string): Promise<number> {
  const [l] = await ipJson(netns, '-s', 'link', 'show', 'dev', dev);
  const rx = (l?.['stats64'] as { rx?: { packets?: number } } | undefined)?.rx?.packets;
  if (typeof rx !== 'number') throw new Error(`ip -s link show ${dev} in ${netns}: no stats64.rx.packets`);
  return rx;
}

async function rxOnB(): Promise<{ v600: number; v601: number }> {
  return { v600: await rxPackets(hostB(), 'eth1.600'), v601: await rxPackets(hostB(), 'eth1.601') };
}

const sh = (netns: string, cmd: string): Promise<unknown> => execa('ip', ['netns', 'exec', netns, 'sh', '-c', cmd]);

beforeAll(async () => {
  if (!(await kernelHasVlan())) {
    throw new Error('this kernel has no 802.1Q VLAN support (CONFIG_VLAN_8021Q): run `bash test/vlan/run.sh`');
  }
  // In the guest, tsc would take minutes: the host compiles before booting.
  if (!inVm) await buildDist();
  else if (!existsSync(AGENT_JS) || !existsSync(CTL_JS)) throw new Error(`no ${AGENT_JS}: run \`npx tsc -p tsconfig.json\` on the host first`);
  dir = await mkdtemp(path.join(tmpdir(), 'hntest-vlanh-'));
  // No IPv6: its autoconfiguration chatter (ND, MLD) would add to the counters compared below.
  for (const n of ns) await sh(n, 'sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1');
  // The trunk: a's eth1 and b's eth1 are the two ends of one veth pair (the hosts' NICs).
  await execa('ip', ['-n', hostA(), 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', hostB()]);
  await execa('ip', ['-n', hostA(), 'link', 'set', 'eth1', 'up']);
  await execa('ip', ['-n', hostB(), 'link', 'set', 'eth1', 'up']);
  // Both agents start at once: node starts slowly under TCG.
  for (const h of hosts) h.agent = spawnAgent(h.netns(), path.join(dir, h.name, 'agent.sock'), path.join(dir, h.name, 'state'));
  await Promise.all(hosts.map((h) => waitForLog(h.agent!, '"converged after start"', 0, 120_000)));
  for (const h of hosts) h.client = agentClient(path.join(dir, h.name, 'agent.sock'));
  await Promise.all(hosts.map((h) => rpc(h.client!, h.client!.apply, { state: desired(h.name), dryRun: false })));
  await Promise.all(hosts.map((h) => until(`UplinkReady on host ${h.name}`, () => uplinksReady(h))));
  await Promise.all(Object.entries(pod).map(([k, netns]) => until(`${IP[k as keyof typeof IP]} in pod ${k}`, () => podHasAddress(netns(), IP[k as keyof typeof IP]))));
}, 300_000);

afterAll(async () => {
  for (const h of hosts) h.client?.close();
  for (const h of hosts) if (h.agent) await stopAgent(h.agent).catch(() => undefined);
  await killAll(); // by pid: anything this file started and did not see exit
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('VLAN uplinks between two hosts running hostnet-agent', () => {
  it('makes eth1.600 and eth1.601 802.1Q sub-interfaces of eth1, ports of their networks\' bridges, on both hosts', async () => {
    for (const h of [hostA(), hostB()]) {
      for (const id of [600, 601]) {
        const link = await ipLink(h, `eth1.${id}`);
        expect(link, `eth1.${id} in ${h}`).toBeDefined();
        expect(link).toMatchObject({ kind: 'vlan', link: 'eth1', master: `hn-v${id}` });
        expect(link!.data).toMatchObject({ id, protocol: '802.1Q' });
        expect(link!.flags).toContain('UP');
      }
    }
  });

  it('carries VLAN 600 and VLAN 601 between the hosts, each on its own tag', async () => {
    const before = await rxOnB();
    expect(await pings(pod.a600(), IP.b600, 3)).toBe(true);
    const mid = await rxOnB();
    // ICMP and ARP from a arrived on b's eth1.600 only: the trunk carried them tagged 600.
    expect(mid.v600 - before.v600).toBeGreaterThanOrEqual(3);
    expect(mid.v601).toBe(before.v601);
    expect(await pings(pod.a601(), IP.b601, 3)).toBe(true);
    const after = await rxOnB();
    expect(after.v601 - mid.v601).toBeGreaterThanOrEqual(3);
    expect(await pings(pod.b600(), IP.a600)).toBe(true);
  });

  it('isolates the VLANs: a VLAN 600 workload cannot reach a VLAN 601 workload in the same subnet', async () => {
    const before = await rxOnB();
    expect(await pings(pod.a600(), IP.b601)).toBe(false);
    expect(await pings(pod.a601(), IP.b600)).toBe(false);
    const after = await rxOnB();
    // a600's ARP for b601 went out tagged 600 (and a601's tagged 601): each reached only its own sub-interface.
    expect(after.v600).toBeGreaterThan(before.v600);
    expect(after.v601).toBeGreaterThan(before.v601);
    // Same host, other VLAN: not bridged either.
    expect(await pings(pod.a600(), IP.a601)).toBe(false);
  });

  it('reports UplinkReady True and the uplink device name on both agents', async () => {
    for (const h of hosts) {
      const s = await networks(h);
      for (const id of [600, 601]) {
        const n = s.find((x) => x.name === `v${id}`);
        expect(n, `network v${id} on host ${h.name}`).toBeDefined();
        const up = n!.conditions.find((c) => c.type === 'UplinkReady');
        expect(up, JSON.stringify(n!.conditions)).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'Enslaved' });
        expect(n!.uplinkName).toBe(`eth1.${id}`);
        expect(conditionTrue(n, 'Ready'), JSON.stringify(n!.conditions)).toBe(true);
      }
    }
  });

  it('repairs a VLAN sub-interface deleted by hand (drift), and traffic flows again', async () => {
    const old = await ipLink(hostA(), 'eth1.600');
    await execa('ip', ['-n', hostA(), 'link', 'del', 'eth1.600']);
    const back = await until('eth1.600 back on host a, a port of hn-v600 and up', async () => {
      const l = await ipLink(hostA(), 'eth1.600');
      return l && l.master === 'hn-v600' && l.flags.includes('UP') ? l : undefined;
    });
    expect(back.ifindex).not.toBe(old!.ifindex);
    expect(back.data).toMatchObject({ id: 600, protocol: '802.1Q' });
    await until('UplinkReady True again on host a', () => uplinksReady(hosts[0]!));
    expect(await pings(pod.a600(), IP.b600)).toBe(true);
    // The other VLAN was left alone.
    expect((await ipLink(hostA(), 'eth1.601'))?.master).toBe('hn-v601');
  });
});
