// Forwarding towards the BGP peers (agent/frr/peer-forwarding.ts, the wants, run by the
// forwarding participant as the agent does) against fake sysctls and a fake `ip route get`:
// forwarding on the device towards the BGP peers only while a network is routed, a switch found
// on left alone, one it turned on turned back off (also after a restart, through its record), a
// device that moves is looked up again on a full pass, a failed lookup turns nothing off.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import type { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { ConditionStatus } from '../../../agent/api/gen/hostnet/v1/status.js';
import { NODE_RESOURCE } from '../../../agent/conditions/condition.js';
import { ForwardingParticipant } from '../../../agent/forwarding/participant.js';
import { ForwardingRecord } from '../../../agent/forwarding/record.js';
import { forwardingPeers, PeerForwarding } from '../../../agent/frr/peer-forwarding.js';
import type { PassContext } from '../../../agent/reconcile/participant.js';
import type { ObservedState } from '../../../dataplane/types.js';
import type { SysctlBatch } from '../../../dataplane/sysctl.js';

const NODE = 'node: { bgp: { asn: 65001, routerId: 10.77.0.1, peers: [{ address: 10.77.0.200, asn: 65000 }] } }\n';
const ROUTED = 'networks:\n  - { name: pub, mode: ROUTED, ipFamily: IPV4, cidr: 10.95.0.0/24 }\n';
const BRIDGED = 'networks:\n  - { name: web, ipFamily: IPV4, cidr: 10.96.1.0/24 }\n';
const state = (text: string): DesiredState => parseDesiredState(text);

const dirs: string[] = [];
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

const observed = (...devs: string[]): ObservedState =>
  ({ links: devs.map((name, i) => ({ index: i + 10, name, kind: 'veth', alias: null })), addresses: [], routes: [], neighbours: [] }) as unknown as ObservedState;
const ctx = (desired: DesiredState, refresh = false): PassContext => ({ desired, observed: observed('eth0', 'eth1'), holdTeardown: false, refresh, held: new Map() });

async function setup(initial: Record<string, string>) {
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-peer-fwd-'));
  dirs.push(dir);
  const sysctls = new Map(Object.entries(initial));
  const sysctl: SysctlBatch = {
    async read(keys) { return new Map(keys.map((k) => [k, sysctls.get(k) ?? null])); },
    async write(values) { for (const [k, v] of values) sysctls.set(k, v); },
  };
  const route = { dev: 'eth0' as string | null, lookups: 0, fail: false };
  const make = () => new ForwardingParticipant({
    sysctl, record: new ForwardingRecord(path.join(dir, 'forwarding.json')),
    providers: [new PeerForwarding(async () => {
      route.lookups++;
      if (route.fail) throw new Error('ip route get 10.77.0.200 in own namespace: exit 2: boom');
      return route.dev;
    })],
  });
  return { sysctls, route, make };
}
async function pass(p: ForwardingParticipant, c: PassContext): Promise<string[]> {
  const plan = await p.plan(c);
  const out = await p.apply(plan);
  expect(out.failures).toEqual([]);
  return plan.steps.map((s) => s.op);
}

describe('forwarding towards the BGP peers', () => {
  it('the peers count only with node.bgp and a routed network', () => {
    expect(forwardingPeers(state(NODE + ROUTED))).toEqual(['10.77.0.200']);
    expect(forwardingPeers(state(NODE + BRIDGED))).toEqual([]);
    expect(forwardingPeers(state(ROUTED))).toEqual([]);
  });

  it('turns on the peer device\'s switch, then back off when the routed network goes (also after a restart)', async () => {
    const { sysctls, route, make } = await setup({ 'net/ipv4/conf/eth0/forwarding': '0', 'net/ipv4/conf/eth1/forwarding': '0' });
    let p = make();
    expect(await pass(p, ctx(state(NODE + BRIDGED)))).toEqual([]);
    expect(await pass(p, ctx(state(NODE + ROUTED)))).toEqual(['forwardingOn']);
    expect(sysctls.get('net/ipv4/conf/eth0/forwarding')).toBe('1');
    expect(sysctls.get('net/ipv4/conf/eth1/forwarding')).toBe('0');
    // Settled: no lookup and no step while nothing changes...
    const lookups = route.lookups;
    expect(await pass(p, ctx(state(NODE + ROUTED)))).toEqual([]);
    expect(route.lookups).toBe(lookups);
    // ... but a switch turned off by someone else comes back at the next pass.
    sysctls.set('net/ipv4/conf/eth0/forwarding', '0');
    expect(await pass(p, ctx(state(NODE + ROUTED)))).toEqual(['forwardingOn']);
    expect(sysctls.get('net/ipv4/conf/eth0/forwarding')).toBe('1');
    // A restarted agent knows from its record that it turned eth0 on.
    p = make();
    expect(await pass(p, ctx(state(NODE + BRIDGED)))).toEqual(['forwardingOff']);
    expect(sysctls.get('net/ipv4/conf/eth0/forwarding')).toBe('0');
  });

  it('a switch found on stays on; the peer moving to eth1 is found on a full pass', async () => {
    const { sysctls, route, make } = await setup({ 'net/ipv4/conf/eth0/forwarding': '1', 'net/ipv4/conf/eth1/forwarding': '0' });
    const p = make();
    expect(await pass(p, ctx(state(NODE + ROUTED)))).toEqual([]);
    route.dev = 'eth1';
    expect(await pass(p, ctx(state(NODE + ROUTED)))).toEqual([]);
    expect(await pass(p, ctx(state(NODE + ROUTED), true))).toEqual(['forwardingOn']);
    expect(sysctls.get('net/ipv4/conf/eth1/forwarding')).toBe('1');
    expect(await pass(p, ctx(state(ROUTED)))).toEqual(['forwardingOff']);
    expect(sysctls.get('net/ipv4/conf/eth1/forwarding')).toBe('0');
    // Found on, never recorded: left alone.
    expect(sysctls.get('net/ipv4/conf/eth0/forwarding')).toBe('1');
  });

  it('a failed lookup is a failure of the pass and turns nothing off; the next pass looks again', async () => {
    const { sysctls, route, make } = await setup({ 'net/ipv4/conf/eth0/forwarding': '0' });
    const p = make();
    expect(await pass(p, ctx(state(NODE + ROUTED)))).toEqual(['forwardingOn']);
    route.fail = true;
    const plan = await p.plan(ctx(state(NODE + ROUTED), true));
    expect(plan.steps).toEqual([]);
    const out = await p.apply(plan);
    expect(out.failures.map((f) => f.error)).toEqual(['find the devices towards the BGP peers: ip route get 10.77.0.200 in own namespace: exit 2: boom']);
    expect(p.failure('bgp-peers')).toContain('boom');
    expect(p.failure('routers')).toBeNull();
    // The node says so: FabricForwarding False with the cause.
    expect(p.report()).toEqual([{ resource: { kind: 'node', name: NODE_RESOURCE }, conditions: [expect.objectContaining({ type: 'FabricForwarding', status: ConditionStatus.CONDITION_STATUS_FALSE, reason: 'ForwardingFailed' })] }]);
    expect(p.report()[0]!.conditions[0]!.message).toContain('boom');
    expect(sysctls.get('net/ipv4/conf/eth0/forwarding')).toBe('1');
    route.fail = false;
    expect(await pass(p, ctx(state(NODE + ROUTED)))).toEqual([]);
    expect(p.failure('bgp-peers')).toBeNull();
    expect(p.report()[0]!.conditions[0]).toMatchObject({ type: 'FabricForwarding', status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'Forwarding', message: 'IPv4 forwarding on eth0, towards the BGP peers' });
    // No routed network: the peers want nothing, and the node has no such condition.
    await pass(p, ctx(state(NODE)));
    expect(p.report()).toEqual([]);
  });
});
