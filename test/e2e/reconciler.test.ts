// The Reconciler in-process against real namespaces (netlink dataplane): convergence,
// conditions, zero-write no-op passes, drift repair from kernel events, failures that stay
// with their resource.
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { openNetlinkDataplane, type NetlinkDataplane } from '../../dataplane/netlink/backend.js';
import type { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { KernelLinksParticipant } from '../../agent/kernel/participant.js';
import { Reconciler } from '../../agent/reconcile/reconciler.js';
import { eventually, network, state, tap, veth } from '../lib/agent-state.js';
import { ipLink } from '../../dataplane/testing/ip.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(2, 'each', 'rec');
let dp: NetlinkDataplane | null = null;
let rec: Reconciler | null = null;

afterEach(async () => {
  await rec?.close();
  await dp?.close();
  rec = null;
  dp = null;
});

async function start(desired: () => DesiredState, watch = true): Promise<Reconciler> {
  dp = await openNetlinkDataplane(ns[0]!);
  rec = new Reconciler(dp, { desired, participants: [new KernelLinksParticipant(dp)], watchKernel: watch, debounceMs: 30 });
  await rec.start();
  return rec;
}

const cond = (r: Reconciler, kind: 'networks' | 'attachments', name: string, type: string) =>
  r.status(0)[kind].find((x) => x.name === name)?.conditions.find((c) => c.type === type);
const isTrue = (r: Reconciler, kind: 'networks' | 'attachments', name: string, type: string) =>
  cond(r, kind, name, type)?.status === ConditionStatus.CONDITION_STATUS_TRUE;

describe('Reconciler', () => {
  it('converges bridges, a VXLAN uplink, a TAP and a veth with its peer in a workload namespace', async () => {
    const [host, work] = [ns[0]!, ns[1]!];
    await execa('ip', ['-n', host, 'link', 'add', 'underlay0', 'type', 'bridge']);
    await execa('ip', ['-n', host, 'addr', 'add', '192.0.2.10/24', 'dev', 'underlay0']);
    const s = state({
      generation: 3,
      networks: [network('web', 1, { uplink: { vxlan: { vni: 42, local: '192.0.2.10', remote: '192.0.2.20', device: 'underlay0' } } }), network('db', 2)],
      attachments: [tap('vm1-nic0', 'web', 'tap-vm1'), veth('pod-a', 'db', 'hv-poda', `/var/run/netns/${work}`)],
    });
    const r = await start(() => s);
    const pass = await r.reconcile('test');
    expect(pass.problems).toEqual([]);
    expect(pass.applied).toBe(pass.plan.actions.length);
    const bridge = await ipLink(host, 'hn-web');
    expect(bridge?.kind).toBe('bridge');
    expect((await ipLink(host, 'hnvx42'))?.master).toBe('hn-web');
    expect((await ipLink(host, 'tap-vm1'))?.master).toBe('hn-web');
    expect((await ipLink(host, 'hv-poda'))?.master).toBe('hn-db');
    expect((await ipLink(work, 'net1'))?.flags).toContain('UP');
    expect(isTrue(r, 'networks', 'web', 'Ready')).toBe(true);
    expect(cond(r, 'networks', 'web', 'UplinkReady')?.reason).toBe('Enslaved');
    expect(cond(r, 'networks', 'db', 'UplinkReady')?.reason).toBe('NoUplink');
    expect(isTrue(r, 'attachments', 'vm1-nic0', 'Configured')).toBe(true);
    // Nobody holds the TAP open: no carrier.
    expect(cond(r, 'attachments', 'vm1-nic0', 'Negotiated')).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_FALSE, reason: 'NoCarrier', observedGeneration: 3 });
    // The veth's peer is up: carrier (the kernel reports it a moment later: events re-run the pass).
    await eventually('veth Ready', () => isTrue(r, 'attachments', 'pod-a', 'Ready'));
  });

  it('a no-op pass makes zero netlink writes and keeps transition times', async () => {
    const s = state({ generation: 1, networks: [network('web', 1)], attachments: [tap('vm1-nic0', 'web', 'tap-vm1')] });
    const r = await start(() => s, false);
    await r.reconcile();
    const before = cond(r, 'networks', 'web', 'Ready');
    const writes = dp!.socket.writeCount;
    const again = await r.reconcile();
    expect(again.plan.actions).toEqual([]);
    expect(again.transitions).toEqual([]);
    expect(dp!.socket.writeCount).toBe(writes);
    expect(cond(r, 'networks', 'web', 'Ready')?.lastTransitionTime).toEqual(before?.lastTransitionTime);
    // Status is built once per pass: the same answer until the next pass, then an equal new one.
    const status = r.status(1);
    expect(r.status(1)).toBe(status);
    await r.reconcile();
    expect(r.status(1)).not.toBe(status);
    expect(r.status(1)).toEqual(status);
  });

  it('drift: a bridge deleted by hand comes back, a port detached by hand is re-attached', async () => {
    const host = ns[0]!;
    const s = state({ generation: 1, networks: [network('web', 1)], attachments: [tap('vm1-nic0', 'web', 'tap-vm1')] });
    const r = await start(() => s);
    const seen: string[] = [];
    r.subscribe((t) => seen.push(`${t.name} ${t.condition.type} ${t.condition.status}`));
    await r.reconcile();
    const oldIndex = (await ipLink(host, 'hn-web'))!.ifindex;
    await execa('ip', ['-n', host, 'link', 'del', 'hn-web']);
    const back = await eventually('bridge back with its port', async () => {
      const b = await ipLink(host, 'hn-web');
      const t = await ipLink(host, 'tap-vm1');
      return b && t?.master === 'hn-web' ? b : undefined;
    });
    expect(back.ifindex).not.toBe(oldIndex);
    await execa('ip', ['-n', host, 'link', 'set', 'tap-vm1', 'nomaster']);
    await eventually('port re-attached', async () => (await ipLink(host, 'tap-vm1'))?.master === 'hn-web');
    await eventually('Configured True again', () => isTrue(r, 'attachments', 'vm1-nic0', 'Configured'));
    expect(seen).toContain(`web BridgeReady ${ConditionStatus.CONDITION_STATUS_TRUE}`);
  });

  it('a missing peer netns and a failed action stay with their attachment; the rest converges', async () => {
    const [host, work] = [ns[0]!, ns[1]!];
    // The peer name is taken in the workload namespace: the kernel refuses the pair.
    await execa('ip', ['-n', work, 'link', 'add', 'net1', 'type', 'bridge']);
    const s = state({
      generation: 2,
      networks: [network('web', 1)],
      attachments: [
        veth('gone', 'web', 'hv-gone', '/var/run/netns/hntest-does-not-exist'),
        veth('taken', 'web', 'hv-taken', work, 'net1'),
        tap('vm1-nic0', 'web', 'tap-vm1'),
      ],
    });
    const r = await start(() => s, false);
    const pass = await r.reconcile();
    expect(cond(r, 'attachments', 'gone', 'Configured')).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_FALSE, reason: 'PeerNetnsMissing' });
    const taken = cond(r, 'attachments', 'taken', 'Configured');
    expect(taken).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_FALSE, reason: 'ApplyFailed' });
    expect(taken?.message).toMatch(/net1/);
    expect(cond(r, 'attachments', 'taken', 'Ready')?.status).toBe(ConditionStatus.CONDITION_STATUS_FALSE);
    expect(isTrue(r, 'attachments', 'vm1-nic0', 'Configured')).toBe(true);
    expect(isTrue(r, 'networks', 'web', 'Ready')).toBe(true);
    expect(pass.problems.map((p) => p.reason).sort()).toEqual(['ApplyFailed', 'PeerNetnsMissing']);
    expect(await ipLink(host, 'hv-gone')).toBeUndefined();
  });
});
