// EVPN with the real hostnet-agent (issue 12, part 2): two hosts (namespaces) on an underlay
// veth, each running hostnet-agent with --netns and its own FRR pathspace; the same EVPN
// network (VXLAN, evpn: true) and a pod with a static address on each, applied with
// hostnetctl. The agents start FRR inside their hosts' namespaces; the pods ping each other
// across hosts; GetStatus reports BgpReady, the peers and the remote VTEP; an agent kill -9
// and restart, and an agent stop, leave FRR's sessions untouched (same pids, same session
// count); at the end every FRR daemon is stopped by pid.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GetStatusResponse } from '../../agent/api/gen/hostnet/v1/agent.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { findDaemons, isAlive, stopFrrInstance } from '../../agent/frr/daemons.js';
import { frrInstance, type FrrInstance } from '../../agent/frr/instance.js';
import { vtyshJson } from '../../agent/frr/state.js';
import { agentClient, buildDist, hostnetctl, rpc, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, veth } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(4, 'all', 'frr');
const TRUE = ConditionStatus.CONDITION_STATUS_TRUE;

interface Host {
  i: number;
  host: string;
  pod: string;
  vtep: string;
  asn: number;
  podIp: string;
  socket: string;
  stateDir: string;
  instance: FrrInstance;
  agent: AgentProcess | null;
}

let dir: string;
const hosts: Host[] = [];

function stateOf(h: Host, peer: Host): Record<string, unknown> {
  return {
    node: { bgp: { asn: h.asn, routerId: h.vtep, peers: [{ address: peer.vtep, asn: peer.asn, description: `host ${peer.i}` }] } },
    networks: [{
      name: 'ev', ipFamily: 'IPV4', cidr: '10.78.0.0/24', mtu: 1400,
      uplink: { vxlan: { vni: 7000, local: h.vtep, device: 'ul', evpn: true } },
    }],
    // One name per host: a MAC is derived from the attachment's name, and both are on one L2.
    attachments: [veth(`pod-${h.i}`, 'ev', 'hv-pod', h.pod, 'net1', { ip: { static: h.podIp } })],
  };
}

async function start(h: Host): Promise<void> {
  h.agent = await startAgent({ netns: h.host, socket: h.socket, stateDir: h.stateDir, extraArgs: ['--frr-pathspace', h.instance.pathspace] });
}

async function status(h: Host): Promise<GetStatusResponse> {
  return rpc(agentClient(h.socket), agentClient(h.socket).getStatus, {});
}

async function session(h: Host, peer: Host): Promise<{ state: string; connectionsEstablished: number }> {
  const j = await vtyshJson(h.instance, 'show bgp summary json') as { l2VpnEvpn?: { peers?: Record<string, { state: string; connectionsEstablished: number }> } };
  const p = j.l2VpnEvpn?.peers?.[peer.vtep];
  if (!p) throw new Error(`no EVPN session to ${peer.vtep}`);
  return p;
}

const ping = (from: Host, to: Host) => execa('ip', ['netns', 'exec', from.pod, 'ping', '-c', '1', '-W', '1', to.podIp], { reject: false });

describe('EVPN through FRR with the real agent', () => {
  beforeAll(async () => {
    await buildDist();
    dir = await mkdtemp(path.join(tmpdir(), 'hntest-frr-e2e-'));
    for (const i of [0, 1]) {
      hosts.push({
        i, host: ns[i * 2]!, pod: ns[i * 2 + 1]!, vtep: `10.97.${process.pid % 200}.${i + 1}`, asn: 65101 + i, podIp: `10.78.0.${10 + i}`,
        socket: path.join(dir, `agent${i}.sock`), stateDir: path.join(dir, `state${i}`),
        instance: frrInstance(`hntest-frr-e2e-${process.pid}-${i}`, ns[i * 2]!), agent: null,
      });
    }
    const [a, b] = hosts as [Host, Host];
    await execa('ip', ['link', 'add', 'ul', 'netns', a.host, 'type', 'veth', 'peer', 'name', 'ul', 'netns', b.host]);
    for (const h of hosts) {
      await execa('ip', ['-n', h.host, 'addr', 'add', `${h.vtep}/24`, 'dev', 'ul']);
      await execa('ip', ['-n', h.host, 'link', 'set', 'ul', 'up']);
    }
    for (const h of hosts) await start(h);
  });

  afterAll(async () => {
    for (const h of hosts) await h.agent?.stop().catch(() => undefined);
    const daemons = (await Promise.all(hosts.map(async (h) => Object.values(await findDaemons(h.instance))))).flat();
    for (const h of hosts) await stopFrrInstance(h.instance.pathspace, { removeFiles: true });
    for (const d of daemons) if (d) expect(await isAlive(d.pid), `${d.daemon} ${d.pid}`).toBe(false);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the agents start FRR in their namespaces; BgpReady, EvpnReady with the remote VTEP; pods ping across hosts', async () => {
    const [a, b] = hosts as [Host, Host];
    for (const [h, peer] of [[a, b], [b, a]] as const) {
      const file = path.join(dir, `state${h.i}.yaml`);
      await writeFile(file, YAML.stringify(stateOf(h, peer)));
      const r = await hostnetctl(h.socket, ['apply', '-f', file]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('start zebra of FRR');
    }
    for (const h of hosts) {
      const d = await findDaemons(h.instance);
      expect(d.zebra?.inNetns && d.bgpd?.inNetns).toBe(true);
    }
    await eventually('pods reach each other across the EVPN network', async () => (await ping(a, b)).exitCode === 0 && (await ping(b, a)).exitCode === 0, 40_000);
    // The agents learn of the session and the VTEP through their own polling, no nudging.
    const s = await eventually('BgpReady and EvpnReady in GetStatus', async () => {
      const st = await status(a);
      const bgpReady = st.node?.conditions.find((c) => c.type === 'BgpReady');
      const evpn = st.networks[0]?.conditions.find((c) => c.type === 'EvpnReady');
      return bgpReady?.status === TRUE && evpn?.status === TRUE && st.networks[0]!.remoteVteps.length > 0 ? st : false;
    }, 20_000);
    expect(s.node?.bgpPeers).toEqual([expect.objectContaining({ address: b.vtep, asn: b.asn, state: 'Established' })]);
    expect(s.networks[0]!.remoteVteps).toEqual([b.vtep]);
    const fdb = JSON.parse((await execa('bridge', ['-n', a.host, '-j', 'fdb', 'show', 'dev', 'hnvx7000'])).stdout) as Array<{ mac: string; dst?: string; flags?: string[] }>;
    expect(fdb.some((e) => e.mac === '00:00:00:00:00:00' && e.dst === b.vtep)).toBe(true);
    expect(fdb.some((e) => e.dst === b.vtep && e.flags?.includes('extern_learn'))).toBe(true);
  }, 120_000);

  it('agent kill -9 and restart, and agent stop: FRR keeps running, sessions untouched, adopted again', async () => {
    const [a, b] = hosts as [Host, Host];
    const pids = await findDaemons(a.instance);
    const before = await session(a, b);
    await a.agent!.kill9();
    expect((await ping(b, a)).exitCode).toBe(0);
    await start(a);
    expect(a.agent!.logs()).not.toContain('start zebra');
    const again = await findDaemons(a.instance);
    expect([again.zebra?.pid, again.bgpd?.pid]).toEqual([pids.zebra?.pid, pids.bgpd?.pid]);
    await a.agent!.stop();
    a.agent = null;
    expect(await isAlive(pids.bgpd!.pid)).toBe(true);
    expect((await ping(a, b)).exitCode).toBe(0);
    await start(a);
    const after = await session(a, b);
    expect(after.state).toBe('Established');
    expect(after.connectionsEstablished).toBe(before.connectionsEstablished);
  }, 120_000);
});
