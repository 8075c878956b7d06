// EVPN through FRR with the agent's "bgp" participant: two hosts (namespaces) on an underlay
// veth, each with a bridge, a VXLAN device in EVPN mode (no remote, learning off) and a
// workload behind a veth in its own namespace; each host's participant starts its own FRR
// (zebra + bgpd, its own pathspace) inside the host's namespace. Witnesses: the sessions,
// the other side's workload MAC as an extern_learn entry on the VXLAN device, the all-zeros
// flood entry towards the other VTEP (type-3 route), ping between the workloads, the session's
// uptime across a configuration change, the daemons' pids across a participant close, a
// restart of a killed bgpd only, and every daemon stopped by pid at the end.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { findDaemons, isAlive, stopFrrInstance } from '../../agent/frr/daemons.js';
import { frrInstance, type FrrInstance } from '../../agent/frr/instance.js';
import { BgpParticipant } from '../../agent/frr/participant.js';
import { vtyshJson } from '../../agent/frr/state.js';
import type { PassContext, ResourceReport } from '../../agent/reconcile/participant.js';
import { createTestNetns, destroyAllTestNetns } from '../lib/netns.js';

const VNI = 4242;
const VX = `hnvx${VNI}`;
const BR = 'hn-evpn';

interface Host {
  ns: string;
  wl: string;
  vtep: string;
  asn: number;
  workloadIp: string;
  workloadMac: string;
  instance: FrrInstance;
  participant: BgpParticipant;
  passesAsked: number;
}

const hosts: Host[] = [];
const pathspaces: string[] = [];

function desiredOf(h: Host, peer: Host, options: { description?: string; bgp?: boolean } = {}): DesiredState {
  return DesiredState.fromPartial({
    generation: 1,
    node: options.bgp === false ? {} : {
      bgp: { asn: h.asn, routerId: h.vtep, peers: [{ address: peer.vtep, asn: peer.asn, description: options.description ?? '' }] },
    },
    networks: [{
      name: 'evpn', bridgeName: BR, cidr: '192.168.77.0/24',
      uplink: { kind: { $case: 'vxlan', vxlan: { vni: VNI, local: h.vtep, device: 'ul', remotes: [], evpn: true } } },
    }],
  });
}

/** One reconcile pass of the participant alone: plan, apply, report. */
async function pass(h: Host, desired: DesiredState): Promise<{ ops: string[]; reports: ResourceReport[]; failures: string[] }> {
  const ctx: PassContext = { desired, observed: { links: [], addresses: [], routes: [], neighbours: [] }, holdTeardown: false, refresh: false, held: new Map() };
  const plan = await h.participant.plan(ctx);
  const outcome = await h.participant.apply(plan, ctx);
  const problems = outcome.failures.flatMap((f) => (f.problem ? [f.problem] : []));
  return { ops: plan.steps.map((s) => `${s.op}${'daemon' in s && s.daemon ? ` ${s.daemon}` : ''}`), reports: h.participant.report(ctx, problems), failures: outcome.failures.map((f) => f.error) };
}

const nodeReport = (reports: ResourceReport[]) => reports.find((r) => r.resource.kind === 'node');
const networkReport = (reports: ResourceReport[]) => reports.find((r) => r.resource.kind === 'network');
const TRUE = ConditionStatus.CONDITION_STATUS_TRUE;

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

interface FdbEntry { mac: string; dst?: string; flags?: string[]; state?: string }
async function fdb(ns: string): Promise<FdbEntry[]> {
  const r = await execa('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', VX]);
  return JSON.parse(r.stdout || '[]') as FdbEntry[];
}

/** The EVPN session as FRR itself tells it. */
async function session(h: Host, peer: Host): Promise<{ state: string; connectionsEstablished: number; peerUptimeMsec: number; desc?: string }> {
  const j = await vtyshJson(h.instance, 'show bgp summary json') as { l2VpnEvpn?: { peers?: Record<string, { state: string; connectionsEstablished: number; peerUptimeMsec: number; desc?: string }> } };
  const p = j.l2VpnEvpn?.peers?.[peer.vtep];
  if (!p) throw new Error(`no session to ${peer.vtep} on ${h.instance.pathspace}`);
  return p;
}

const sh = (ns: string, ...args: string[]) => execa('ip', ['-n', ns, ...args]);

async function buildHost(i: number): Promise<Host> {
  const ns = await createTestNetns('frr');
  const wl = await createTestNetns('frr');
  const vtep = `10.99.${process.pid % 200}.${i + 1}`;
  const pathspace = `hntest-frr-${process.pid}-${i}`;
  pathspaces.push(pathspace);
  // The links participant's part for an EVPN network (no remote, learning off, local address,
  // port 4789, in the bridge), made here with ip.
  await sh(ns, 'link', 'add', BR, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
  await sh(ns, 'link', 'add', VX, 'type', 'vxlan', 'id', String(VNI), 'local', vtep, 'dstport', '4789', 'nolearning');
  await sh(ns, 'link', 'set', VX, 'master', BR);
  await sh(ns, 'link', 'set', VX, 'type', 'bridge_slave', 'learning', 'off');
  await sh(ns, 'link', 'set', VX, 'up');
  await sh(ns, 'link', 'set', BR, 'up');
  const workloadMac = `02:00:00:77:00:0${i + 1}`;
  await execa('ip', ['link', 'add', 'wl0', 'netns', ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', wl]);
  await sh(ns, 'link', 'set', 'wl0', 'master', BR);
  await sh(ns, 'link', 'set', 'wl0', 'up');
  await sh(wl, 'link', 'set', 'eth0', 'address', workloadMac);
  const workloadIp = `192.168.77.${i + 1}`;
  await sh(wl, 'addr', 'add', `${workloadIp}/24`, 'dev', 'eth0');
  await sh(wl, 'link', 'set', 'eth0', 'up');
  const instance = frrInstance(pathspace, ns);
  const h: Host = {
    ns, wl, vtep, asn: 65001 + i, workloadIp, workloadMac, instance, passesAsked: 0,
    participant: undefined as unknown as BgpParticipant,
  };
  h.participant = newParticipant(h);
  return h;
}

function newParticipant(h: Host): BgpParticipant {
  return new BgpParticipant({ instance: h.instance, supervise: true, hostname: h.instance.pathspace, pollIntervalMs: 500, onStateChange: () => void h.passesAsked++ });
}

async function cleanup(): Promise<void> {
  for (const h of hosts) await h.participant.close().catch(() => undefined);
  for (const p of pathspaces) await stopFrrInstance(p, { removeFiles: true });
  await destroyAllTestNetns();
}

describe('EVPN through FRR (bgp participant)', () => {
  beforeAll(async () => {
    try {
      const a = await buildHost(0);
      const b = await buildHost(1);
      hosts.push(a, b);
      await execa('ip', ['link', 'add', 'ul', 'netns', a.ns, 'type', 'veth', 'peer', 'name', 'ul', 'netns', b.ns]);
      for (const h of hosts) {
        await sh(h.ns, 'addr', 'add', `${h.vtep}/24`, 'dev', 'ul');
        await sh(h.ns, 'link', 'set', 'ul', 'up');
      }
    } catch (err) {
      await cleanup();
      throw err;
    }
  });

  afterAll(async () => {
    const pids = await Promise.all(hosts.map(async (h) => Object.values(await findDaemons(h.instance)).filter((d) => d !== null)));
    await cleanup();
    // Every daemon is gone: nothing of FRR outlives the test.
    for (const d of pids.flat()) expect(await isAlive(d!.pid), `${d!.daemon} pid ${d!.pid}`).toBe(false);
  });

  it('starts FRR in each host namespace; sessions establish; MACs and flood entries cross; workloads ping', async () => {
    const [a, b] = hosts as [Host, Host];
    const first = await Promise.all([pass(a, desiredOf(a, b)), pass(b, desiredOf(b, a))]);
    for (const r of first) {
      expect(r.failures).toEqual([]);
      expect(r.ops).toEqual(['startFrr zebra', 'startFrr bgpd', 'reloadFrr']);
    }
    for (const h of hosts) {
      const d = await findDaemons(h.instance);
      expect(d.zebra?.inNetns).toBe(true);
      expect(d.bgpd?.inNetns).toBe(true);
    }
    // The poll asks for a pass when the session comes up; the pass then reports it.
    await until('sessions established (BgpReady)', async () => {
      const [ra, rb] = await Promise.all([pass(a, desiredOf(a, b)), pass(b, desiredOf(b, a))]);
      const ok = [ra, rb].every((r) => nodeReport(r.reports)?.conditions[0]?.status === TRUE);
      return ok ? [ra, rb] : null;
    });
    expect(a.passesAsked + b.passesAsked).toBeGreaterThan(0);
    const witnessed = await until('remote MACs and flood entries on the VXLAN devices', async () => {
      // The workloads speak (ARP), so each bridge knows its local MAC and zebra announces it
      // (IPv6 DAD usually did already).
      await Promise.all([[a, b], [b, a]].map(([from, to]) => execa('ip', ['netns', 'exec', from!.wl, 'ping', '-c', '1', '-W', '1', to!.workloadIp], { reject: false })));
      const [fa, fb] = await Promise.all([fdb(a.ns), fdb(b.ns)]);
      const has = (entries: FdbEntry[], peer: Host) =>
        entries.some((e) => e.mac === peer.workloadMac && e.dst === peer.vtep && e.flags?.includes('extern_learn'))
        && entries.some((e) => e.mac === '00:00:00:00:00:00' && e.dst === peer.vtep);
      return has(fa, b) && has(fb, a) ? { fa, fb } : null;
    }, 30_000);
    expect(witnessed.fa.length).toBeGreaterThan(0);
    const ping = await execa('ip', ['netns', 'exec', a.wl, 'ping', '-c', '3', '-i', '0.2', '-W', '2', b.workloadIp], { reject: false });
    expect(ping.exitCode, ping.stdout).toBe(0);
    const r = await pass(a, desiredOf(a, b));
    expect(r.ops).toEqual([]); // nothing to do: no reload, no start
    const node = nodeReport(r.reports)!;
    expect(node.conditions[0]).toMatchObject({ type: 'BgpReady', status: TRUE, reason: 'PeersEstablished' });
    expect(node.node?.bgpPeers).toEqual([expect.objectContaining({ address: b.vtep, asn: b.asn, state: 'Established' })]);
    expect(node.node!.bgpPeers![0]!.prefixesReceived).toBeGreaterThan(0);
    const net = networkReport(r.reports)!;
    expect(net.conditions[0]).toMatchObject({ type: 'EvpnReady', status: TRUE, reason: 'VniKnown' });
    expect(net.network?.remoteVteps).toEqual([b.vtep]);
  }, 90_000);

  it('a configuration change (a peer description) is reloaded without resetting the session', async () => {
    const [a, b] = hosts as [Host, Host];
    const before = await session(a, b);
    const beforeB = await session(b, a);
    expect(before.state).toBe('Established');
    const r = await pass(a, desiredOf(a, b, { description: 'host b' }));
    expect(r.failures).toEqual([]);
    expect(r.ops).toEqual(['reloadFrr']);
    const after = await session(a, b);
    const afterB = await session(b, a);
    expect(after.desc).toBe('host b');
    expect(after.state).toBe('Established');
    expect(after.connectionsEstablished).toBe(before.connectionsEstablished);
    expect(afterB.connectionsEstablished).toBe(beforeB.connectionsEstablished);
    // Uptime went on (not back to zero).
    expect(after.peerUptimeMsec).toBeGreaterThanOrEqual(before.peerUptimeMsec);
  }, 30_000);

  it('daemons outlive a participant close and are adopted by the next one, sessions untouched', async () => {
    const [a, b] = hosts as [Host, Host];
    const desired = desiredOf(a, b, { description: 'host b' });
    const pids = await findDaemons(a.instance);
    const before = await session(a, b);
    await a.participant.close();
    a.participant = newParticipant(a);
    const r = await pass(a, desired);
    // The first look reloads (a no-op when nothing differs); nothing is started.
    expect(r.ops).toEqual(['reloadFrr']);
    expect(r.failures).toEqual([]);
    const again = await findDaemons(a.instance);
    expect(again.zebra?.pid).toBe(pids.zebra?.pid);
    expect(again.bgpd?.pid).toBe(pids.bgpd?.pid);
    const after = await session(a, b);
    expect(after.connectionsEstablished).toBe(before.connectionsEstablished);
    expect(nodeReport(r.reports)?.conditions[0]?.status).toBe(TRUE);
    expect((await pass(a, desired)).ops).toEqual([]);
  }, 30_000);

  it('a killed bgpd is restarted alone; a killed zebra takes bgpd with it; EVPN comes back', async () => {
    const [a, b] = hosts as [Host, Host];
    const desired = desiredOf(b, a);
    const pids = await findDaemons(b.instance);
    process.kill(pids.bgpd!.pid, 'SIGKILL');
    await until('bgpd gone', async () => !(await isAlive(pids.bgpd!.pid)));
    const down = await pass(b, desired);
    expect(down.ops).toEqual(['startFrr bgpd', 'reloadFrr']);
    const now = await findDaemons(b.instance);
    expect(now.zebra?.pid).toBe(pids.zebra?.pid);
    expect(now.bgpd?.pid).not.toBe(pids.bgpd?.pid);
    await until('session back after bgpd restart', async () => (await session(b, a)).state === 'Established');

    process.kill(now.zebra!.pid, 'SIGKILL');
    await until('zebra gone', async () => !(await isAlive(now.zebra!.pid)));
    const zebraDown = await pass(b, desired);
    expect(zebraDown.ops).toEqual(['stopFrr bgpd', 'startFrr zebra', 'startFrr bgpd', 'reloadFrr']);
    await until('session, remote MAC and ping back after zebra restart', async () => {
      if ((await session(b, a)).state !== 'Established') return false;
      const entries = await fdb(b.ns);
      if (!entries.some((e) => e.mac === a.workloadMac && e.dst === a.vtep)) return false;
      const ping = await execa('ip', ['netns', 'exec', b.wl, 'ping', '-c', '1', '-W', '1', a.workloadIp], { reject: false });
      return ping.exitCode === 0;
    }, 40_000);
  }, 90_000);

  it('supervise off: never starts daemons, reports FrrNotRunning', async () => {
    const pathspace = `hntest-frr-${process.pid}-u`;
    pathspaces.push(pathspace);
    const instance = frrInstance(pathspace, hosts[0]!.ns);
    const h = { ...hosts[0]!, instance, participant: new BgpParticipant({ instance, supervise: false, hostname: 'u' }) };
    const r = await pass(h, desiredOf(h, hosts[1]!));
    expect(r.ops).toEqual(['reloadFrr']);
    // The reload fails (nothing answers) and says so in FRR's words.
    expect(r.failures).toEqual([expect.stringMatching(new RegExp(`^reload FRR pathspace "${pathspace}" .*: exit 1`))]);
    expect(await findDaemons(instance)).toEqual({ zebra: null, bgpd: null });
    expect(nodeReport(r.reports)?.conditions[0]).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_FALSE, reason: 'FrrNotRunning', message: expect.stringContaining('supervise is off') });
    // A failed reload is not retried on every pass: at most every few seconds.
    expect((await pass(h, desiredOf(h, hosts[1]!))).ops).toEqual([]);
    expect(networkReport(r.reports)?.conditions[0]).toMatchObject({ reason: 'FrrNotRunning' });
    // node.bgp goes: what hostnet configured is taken back (a config without router bgp), the
    // daemons (someone else's) are not touched.
    const gone = await pass(h, desiredOf(h, hosts[1]!, { bgp: false }));
    expect(gone.ops).toEqual(['reloadFrr']);
    expect(await readFile(`/etc/frr/${pathspace}/frr.conf`, 'utf8')).not.toMatch(/router bgp/);
    await h.participant.close();
  }, 30_000);

  it('node.bgp removed: the supervised daemons are stopped', async () => {
    const [a, b] = hosts as [Host, Host];
    const pids = await findDaemons(a.instance);
    const r = await pass(a, desiredOf(a, b, { bgp: false }));
    expect(r.ops).toEqual(['stopFrr bgpd', 'stopFrr zebra']);
    expect(r.failures).toEqual([]);
    expect(await isAlive(pids.zebra!.pid)).toBe(false);
    expect(await isAlive(pids.bgpd!.pid)).toBe(false);
    expect(nodeReport(r.reports)).toBeUndefined();
    expect(networkReport(r.reports)?.conditions[0]).toMatchObject({ reason: 'BgpNotConfigured' });
    expect((await pass(a, desiredOf(a, b, { bgp: false }))).ops).toEqual([]);
  }, 30_000);
});
