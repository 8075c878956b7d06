import { describe, expect, it } from 'vitest';
import { DesiredState, NetworkMode, type Attachment, type Network } from '../../../agent/api/gen/hostnet/v1/resources.js';
import {
  deriveAttachmentMac, deriveBridgeMac, HOSTNET_ADDR_PROTO, networkGroup, ownerAlias, tapHostMac, TEARDOWN_GROUP,
} from '../../../agent/naming.js';
import { describeAction, describePlan, planReconcile, type PlanAction } from '../../../agent/reconcile/plan.js';
import type { Address, Link } from '../../../dataplane/types.js';
import { examplesOf, ISSUE_EXAMPLE_TEXT } from '../../lib/desired-example.js';
import { FakeKernel, link } from './fake-kernel.js';

const { example } = examplesOf(ISSUE_EXAMPLE_TEXT);

/** The host's own NICs: foreign devices hostnet must never touch. */
const hostNics = () => [
  link({ name: 'lo', index: 1, kind: 'device', mac: '00:00:00:00:00:00' }),
  link({ name: 'eth0', index: 2, mac: '52:54:00:12:34:56' }),
  link({ name: 'eth1', index: 3, mac: '52:54:00:12:34:57', mtu: 9000 }),
];

const ops = (actions: readonly PlanAction[]): string[] => actions.map((a) => {
  switch (a.op) {
    case 'deleteLinkGroup': return `deleteLinkGroup ${a.group}`;
    case 'deleteLink': return `deleteLink ${a.name}`;
    case 'setLink': return `setLink ${a.attrs.name}`;
    case 'setPeerLink': return `setPeerLink ${a.attrs.name}`;
    case 'addAddress': case 'deleteAddress': return `${a.op} ${a.spec.cidr} ${a.spec.dev}`;
    default: return `${a.op} ${a.spec.name}`;
  }
});

/** Names every action touches, for "never touched" checks. */
const touched = (actions: readonly PlanAction[]): Set<string> => new Set(actions.flatMap((a) => {
  switch (a.op) {
    case 'deleteLinkGroup': return a.links;
    case 'deleteLink': return [a.name];
    case 'setLink': return [a.attrs.name];
    case 'setPeerLink': return [`${a.netns}/${a.attrs.name}`];
    case 'addAddress': case 'deleteAddress': return [a.spec.dev];
    default: return [a.spec.name];
  }
}));

/** Plans, applies to the kernel, and checks the kernel is then converged. */
function converge(kernel: FakeKernel, state: DesiredState): PlanAction[] {
  const plan = planReconcile(state, kernel.observe());
  kernel.apply(plan.actions);
  expect(planReconcile(state, kernel.observe()).actions).toEqual([]);
  return plan.actions;
}

const net = (p: Partial<Network> & { name: string; cidr: string }): Network => DesiredState.fromPartial({ networks: [{ ipFamily: 4, ...p }] }).networks[0]!;
const tap = (name: string, network: string, ifName: string, extra: Partial<Attachment> = {}): Attachment =>
  DesiredState.fromPartial({ attachments: [{ name, network, kind: { $case: 'tap', tap: { ifName } }, ...extra }] }).attachments[0]!;

describe('planReconcile', () => {
  it('creates everything from an empty host, in order, with markers, groups and derived values', () => {
    const kernel = new FakeKernel(hostNics());
    const plan = planReconcile(example(), kernel.observe());
    expect(plan.problems).toEqual([]);
    expect(ops(plan.actions)).toEqual([
      'ensureBridge hn-web', 'ensureVlan eth1.600', 'addAddress 192.168.10.1/24 hn-web', 'ensureTap tap-vm1', 'ensureVeth hv-poda',
      'setPeerLink net1',
    ]);
    const g = networkGroup('web');
    expect(plan.actions[0]).toMatchObject({
      op: 'ensureBridge', resource: { kind: 'network', name: 'web' },
      spec: { name: 'hn-web', mtu: 1500, alias: 'hostnet:bridge:web', group: g, up: true, stp: false, forwardDelayCentis: 0, mac: deriveBridgeMac('web') },
    });
    expect(plan.actions[1]).toMatchObject({ spec: { name: 'eth1.600', parent: 'eth1', vlanId: 600, master: 'hn-web', alias: 'hostnet:vlan:web', group: g, mtu: 1500 } });
    expect(plan.actions[3]).toMatchObject({
      resource: { kind: 'attachment', name: 'vm1-nic0' },
      spec: { name: 'tap-vm1', master: 'hn-web', alias: 'hostnet:tap:vm1-nic0', mac: tapHostMac('52:54:00:00:00:01'), group: g, up: true },
    });
    expect(plan.actions[4]).toMatchObject({
      spec: {
        name: 'hv-poda', master: 'hn-web', alias: 'hostnet:veth:pod-a-net1', group: g,
        peer: { name: 'net1', netns: '/var/run/netns/poda', mac: deriveAttachmentMac('pod-a-net1'), mtu: 1500 },
      },
    });
    // The peer is created down and brought up after every pair exists.
    expect((plan.actions[4] as { spec: { peer: { up?: boolean } } }).spec.peer.up).toBeUndefined();
    expect(plan.actions[5]).toMatchObject({ op: 'setPeerLink', netns: '/var/run/netns/poda', attrs: { name: 'net1', up: true }, resource: { kind: 'attachment', name: 'pod-a-net1' } });
    expect(describePlan(plan)[0]).toBe('ensure bridge hn-web (mtu 1500) for network web: missing');
    expect(touched(plan.actions).has('eth1')).toBe(false);
  });

  it('plans nothing on a converged node (no-op resync), and keeps every ifindex', () => {
    const kernel = new FakeKernel(hostNics());
    converge(kernel, example());
    const before = kernel.observe();
    kernel.writes = 0;
    const again = planReconcile(example(), before);
    expect(again).toEqual({ actions: [], problems: [] });
    // A restarted agent (same desired state, same kernel) re-adopts: still nothing to do.
    expect(planReconcile(DesiredState.fromJSON(DesiredState.toJSON(example())), kernel.observe()).actions).toEqual([]);
  });

  it('drift: a deleted bridge comes back and its ports are re-enslaved', () => {
    const kernel = new FakeKernel(hostNics());
    converge(kernel, example());
    kernel.apply([{ op: 'deleteLink', name: 'hn-web', reason: 'by hand' }]);
    expect(kernel.get('tap-vm1')?.masterIndex).toBeNull();
    const actions = converge(kernel, example());
    expect(ops(actions)).toEqual([
      'ensureBridge hn-web', 'setLink eth1.600', 'addAddress 192.168.10.1/24 hn-web', 'setLink tap-vm1', 'setLink hv-poda',
    ]);
    expect(actions[1]).toMatchObject({ attrs: { name: 'eth1.600', master: 'hn-web' } });
    expect(kernel.get('tap-vm1')?.masterIndex).toBe(kernel.get('hn-web')?.index);
  });

  it('drift: a port detached by hand is re-attached, nothing else', () => {
    const kernel = new FakeKernel(hostNics());
    converge(kernel, example());
    kernel.get('tap-vm1')!.masterIndex = null;
    const actions = converge(kernel, example());
    expect(actions).toEqual([{
      op: 'setLink', attrs: { name: 'tap-vm1', master: 'hn-web' }, resource: { kind: 'attachment', name: 'vm1-nic0' },
      reason: 'not a port: enslave to hn-web',
    }]);
  });

  it('drift: mtu, mac and state are set back with only what differs', () => {
    const kernel = new FakeKernel(hostNics());
    converge(kernel, example());
    kernel.get('hv-poda')!.mtu = 1400;
    kernel.get('hn-web')!.up = false;
    kernel.get('tap-vm1')!.mac = '02:00:00:00:00:99';
    const actions = converge(kernel, example());
    expect(actions.map((a) => a.op === 'setLink' && a.attrs)).toEqual([
      { name: 'hn-web', up: true },
      { name: 'tap-vm1', mac: tapHostMac('52:54:00:00:00:01') },
      { name: 'hv-poda', mtu: 1500 },
    ]);
  });

  it('drift: a bridge with STP turned on is fixed through ensureBridge', () => {
    const kernel = new FakeKernel(hostNics());
    converge(kernel, example());
    kernel.get('hn-web')!.bridge = { stp: true, forwardDelayCentis: 1500, vlanFiltering: false };
    expect(ops(converge(kernel, example()))).toEqual(['ensureBridge hn-web']);
  });

  it('removing a network deletes exactly its devices, in one kernel batch', () => {
    const kernel = new FakeKernel([...hostNics(), link({ name: 'br-foreign', index: 50, kind: 'bridge' }), link({ name: 'vnet9', index: 51, kind: 'tun', masterIndex: 50 })]);
    const both = example();
    both.networks.push(net({ name: 'db', cidr: '10.20.0.0/24', gateway: '10.20.0.1', gatewayOnBridge: true, uplink: { kind: { $case: 'vxlan', vxlan: { vni: 42, local: '', device: 'eth0', remotes: [], evpn: false, destination: { $case: 'remote', remote: '192.0.2.7' } } } } }));
    both.attachments.push(tap('db1-nic0', 'db', 'tap-db1'), tap('db2-nic0', 'db', 'tap-db2'));
    converge(kernel, both);
    const webIndexes = ['hn-web', 'eth1.600', 'tap-vm1', 'hv-poda'].map((n) => kernel.get(n)!.index);
    expect(kernel.get('hnvx42')?.alias).toBe('hostnet:vxlan:db');

    const actions = converge(kernel, example());
    expect(actions).toEqual([{
      op: 'deleteLinkGroup', group: networkGroup('db'), links: ['hn-db', 'hnvx42', 'tap-db1', 'tap-db2'],
      reason: `all 4 devices of group ${networkGroup('db')} go`,
    }]);
    expect(kernel.links.map((l) => l.name).sort()).toEqual(['br-foreign', 'eth0', 'eth1', 'eth1.600', 'hn-web', 'hv-poda', 'lo', 'tap-vm1', 'vnet9']);
    expect(['hn-web', 'eth1.600', 'tap-vm1', 'hv-poda'].map((n) => kernel.get(n)!.index)).toEqual(webIndexes);
  });

  it('removing several attachments of a network that stays: moved to the teardown group, deleted at once', () => {
    const kernel = new FakeKernel(hostNics());
    const s = example();
    s.attachments.push(tap('a1', 'web', 'tap-a1'), tap('a2', 'web', 'tap-a2'), tap('a3', 'web', 'tap-a3'));
    converge(kernel, s);
    const actions = converge(kernel, example());
    expect(ops(actions)).toEqual(['setLink tap-a1', 'setLink tap-a2', 'setLink tap-a3', `deleteLinkGroup ${TEARDOWN_GROUP}`]);
    expect(actions[0]).toMatchObject({ attrs: { name: 'tap-a1', group: TEARDOWN_GROUP } });
    // One by one when asked to.
    const k2 = new FakeKernel(hostNics());
    converge(k2, s);
    expect(ops(planReconcile(example(), k2.observe(), { bulkDeleteMin: Infinity }).actions)).toEqual(['deleteLink tap-a1', 'deleteLink tap-a2', 'deleteLink tap-a3']);
    // A single removal is a single delete.
    const one = example();
    one.attachments.pop();
    expect(ops(planReconcile(one, kernel.observe()).actions)).toEqual(['deleteLink hv-poda']);
  });

  it('never uses a group delete when a foreign device shares the group', () => {
    const kernel = new FakeKernel(hostNics());
    const s = example();
    s.networks.push(net({ name: 'db', cidr: '10.20.0.0/24' }));
    s.attachments.push(tap('db1-nic0', 'db', 'tap-db1'));
    converge(kernel, s);
    kernel.links.push(link({ name: 'odd0', index: 90, group: networkGroup('db') }));
    kernel.links.push(link({ name: 'odd1', index: 91, group: TEARDOWN_GROUP }));
    const actions = planReconcile(example(), kernel.observe()).actions;
    expect(ops(actions)).toEqual(['deleteLink hn-db', 'deleteLink tap-db1']);
    kernel.apply(actions);
    expect(kernel.get('odd0')).toBeDefined();
    expect(kernel.get('odd1')).toBeDefined();
  });

  it('foreign devices are never touched, even on a desired name or with a look-alike alias', () => {
    const kernel = new FakeKernel([
      ...hostNics(),
      link({ name: 'tap-vm1', index: 60, kind: 'tun', tun: { type: 'tap', multiQueue: false, vnetHdr: false, persist: true, owner: null, groupOwner: null }, alias: 'libvirt vm1' }),
      link({ name: 'br0', index: 61, kind: 'bridge', alias: 'hostnet-ish but not a marker' }),
      link({ name: 'veth7', index: 62, kind: 'veth', alias: 'hostnet:router:x', masterIndex: 61 }),
    ]);
    const plan = planReconcile(example(), kernel.observe());
    const t = touched(plan.actions);
    for (const name of ['tap-vm1', 'br0', 'veth7', 'eth0', 'eth1', 'lo']) expect(t.has(name)).toBe(false);
    expect(plan.problems).toEqual([{
      resource: { kind: 'attachment', name: 'vm1-nic0' }, condition: 'Configured', reason: 'NameTaken',
      message: 'a tun device named "tap-vm1" exists without hostnet\'s marker; hostnet does not touch it',
    }]);
    // An empty desired state deletes nothing here.
    expect(planReconcile(DesiredState.fromPartial({}), kernel.observe()).actions).toEqual([]);
  });

  it('an imported bridge is used (ports, gateway address) but never changed or deleted', () => {
    const kernel = new FakeKernel([...hostNics(), link({ name: 'br-ext', index: 70, kind: 'bridge', mtu: 9000, bridge: { stp: true, forwardDelayCentis: 1500, vlanFiltering: false } })]);
    const s = example();
    s.networks[0]!.importedBridge = true;
    s.networks[0]!.bridgeName = 'br-ext';
    const actions = converge(kernel, s);
    expect(ops(actions)).toEqual(['ensureVlan eth1.600', 'addAddress 192.168.10.1/24 br-ext', 'ensureTap tap-vm1', 'ensureVeth hv-poda', 'setPeerLink net1']);
    expect(kernel.get('br-ext')).toMatchObject({ mtu: 9000, alias: null, group: 0 });
    // Removing the network removes hostnet's devices and the gateway it added, not the bridge.
    const removal = converge(kernel, DesiredState.fromPartial({ generation: 2 }));
    expect(removal.filter((a) => touched([a]).has('br-ext')).map((a) => ops([a])[0])).toEqual(['deleteAddress 192.168.10.1/24 br-ext']);
    expect(kernel.get('br-ext')).toBeDefined();
    // A missing imported bridge is a problem, not a creation.
    const gone = new FakeKernel(hostNics());
    const plan = planReconcile(s, gone.observe());
    expect(plan.actions).toEqual([]);
    expect(plan.problems.map((p) => `${p.resource.name} ${p.condition} ${p.reason}`)).toEqual([
      'web BridgeReady ImportedBridgeMissing', 'vm1-nic0 Configured NetworkNotReady', 'pod-a-net1 Configured NetworkNotReady',
    ]);
  });

  describe('addresses on an imported bridge: hostnet removes exactly what it added (IFA_PROTO marker)', () => {
    const addr = (index: number, dev: string, cidr: string, protocol = 0): Address => (
      { index, dev, family: cidr.includes(':') ? 6 : 4, cidr, scope: 0, flags: 0x80, protocol });
    const bridge = (): Link => link({ name: 'br-ext', index: 70, kind: 'bridge' });
    const imported = (p: Partial<Network> = {}): DesiredState => DesiredState.fromPartial({
      generation: 1,
      networks: [{ ipFamily: 4, name: 'ext', cidr: '198.51.100.0/24', gateway: '198.51.100.1', gatewayOnBridge: true, importedBridge: true, bridgeName: 'br-ext', ...p }],
    });
    const on = (kernel: FakeKernel, dev: string): string[] => kernel.addresses.filter((a) => a.dev === dev).map((a) => `${a.cidr} ${a.protocol}`).sort();

    it('adds the gateway with the marker; removing the network deletes it (teardown) and nothing of the admin', () => {
      const kernel = new FakeKernel([...hostNics(), bridge()], [addr(70, 'br-ext', '192.0.2.5/24'), addr(70, 'br-ext', 'fe80::1/64')]);
      kernel.addresses[1]!.scope = 253;
      const added = converge(kernel, imported());
      expect(added).toEqual([{
        op: 'addAddress', spec: { dev: 'br-ext', cidr: '198.51.100.1/24', protocol: HOSTNET_ADDR_PROTO },
        resource: { kind: 'network', name: 'ext' }, reason: 'missing',
      }]);
      const removal = converge(kernel, DesiredState.fromPartial({ generation: 2 }));
      expect(removal).toEqual([{ op: 'deleteAddress', spec: { dev: 'br-ext', cidr: '198.51.100.1/24' }, reason: 'added by hostnet, no network wants it' }]);
      expect(on(kernel, 'br-ext')).toEqual(['192.0.2.5/24 0', 'fe80::1/64 0']);
      expect(kernel.get('br-ext')).toBeDefined();
    });

    it('while the network stays, a marked address no longer wanted goes; unmarked ones stay', () => {
      const kernel = new FakeKernel([...hostNics(), bridge()], [addr(70, 'br-ext', '192.0.2.5/24'), addr(70, 'br-ext', '203.0.113.9/24', 4)]);
      const dhcp = DesiredState.fromPartial({ networks: [{ dhcp: { enabled: true, serverAddress: '198.51.100.2' } }] }).networks[0]!.dhcp;
      converge(kernel, imported({ dhcp }));
      expect(on(kernel, 'br-ext')).toEqual(['192.0.2.5/24 0', '198.51.100.1/24 104', '198.51.100.2/24 104', '203.0.113.9/24 4']);
      const changed = converge(kernel, imported({ dhcp, gatewayOnBridge: false }));
      expect(changed).toEqual([{
        op: 'deleteAddress', spec: { dev: 'br-ext', cidr: '198.51.100.1/24' },
        resource: { kind: 'network', name: 'ext' }, reason: 'added by hostnet, no longer desired',
      }]);
      expect(on(kernel, 'br-ext')).toEqual(['192.0.2.5/24 0', '198.51.100.2/24 104', '203.0.113.9/24 4']);
    });

    it('a wanted address the admin put there first (unmarked) is used, never marked and never deleted', () => {
      const kernel = new FakeKernel([...hostNics(), bridge()], [addr(70, 'br-ext', '198.51.100.1/24')]);
      expect(planReconcile(imported(), kernel.observe()).actions).toEqual([]);
      expect(converge(kernel, DesiredState.fromPartial({ generation: 2 }))).toEqual([]);
      expect(on(kernel, 'br-ext')).toEqual(['198.51.100.1/24 0']);
    });

    it('a marked address on any device no desired network owns is torn down; a desired bridge it cannot use is left alone', () => {
      const kernel = new FakeKernel([...hostNics(), bridge(), link({ name: 'br-gone', index: 71, kind: 'device' })], [
        addr(2, 'eth0', '10.0.0.5/24'), addr(2, 'eth0', '10.9.0.1/24', HOSTNET_ADDR_PROTO), addr(70, 'br-ext', '198.51.100.7/24', HOSTNET_ADDR_PROTO),
        addr(71, 'br-gone', '10.8.0.1/24', HOSTNET_ADDR_PROTO),
      ]);
      // br-gone: the network's bridge name is taken by a non-bridge (NotABridge); its addresses wait.
      const s = imported();
      s.networks.push(net({ name: 'gone', cidr: '10.8.0.0/24', importedBridge: true, bridgeName: 'br-gone' }));
      const plan = planReconcile(s, kernel.observe());
      expect(plan.problems.map((p) => p.reason)).toEqual(['NotABridge']);
      expect(ops(plan.actions)).toEqual(['deleteAddress 10.9.0.1/24 eth0', 'deleteAddress 198.51.100.7/24 br-ext', 'addAddress 198.51.100.1/24 br-ext']);
      expect(plan.actions[0]!.resource).toBeUndefined();
      kernel.apply(plan.actions);
      expect(on(kernel, 'eth0')).toEqual(['10.0.0.5/24 0']);
      expect(on(kernel, 'br-gone')).toEqual(['10.8.0.1/24 104']);
    });

    it('a managed bridge keeps a wanted address an older hostnet added unmarked (no churn on upgrade)', () => {
      const kernel = new FakeKernel(hostNics());
      converge(kernel, example());
      const gw = kernel.addresses.find((a) => a.cidr === '192.168.10.1/24')!;
      expect(gw.protocol).toBe(HOSTNET_ADDR_PROTO);
      gw.protocol = 0;
      expect(planReconcile(example(), kernel.observe()).actions).toEqual([]);
    });
  });

  it('a missing uplink parent is a problem for that network only; the rest converges', () => {
    const kernel = new FakeKernel(hostNics().filter((l) => l.name !== 'eth1'));
    const s = example();
    s.networks.push(net({ name: 'db', cidr: '10.20.0.0/24', uplink: { kind: { $case: 'untagged', untagged: { name: 'eth0' } } } }));
    s.attachments.push(tap('db1-nic0', 'db', 'tap-db1'));
    const plan = planReconcile(s, kernel.observe());
    expect(plan.problems).toEqual([{ resource: { kind: 'network', name: 'web' }, condition: 'UplinkReady', reason: 'ParentMissing', message: 'VLAN parent "eth1" does not exist' }]);
    expect(ops(plan.actions)).toEqual([
      'ensureBridge hn-web', 'addAddress 192.168.10.1/24 hn-web', 'ensureBridge hn-db', 'setLink eth0',
      'ensureTap tap-vm1', 'ensureVeth hv-poda', 'ensureTap tap-db1', 'setPeerLink net1',
    ]);
    // The untagged NIC is only enslaved (no marker, no group, no mtu) ...
    expect(plan.actions[3]).toMatchObject({ attrs: { name: 'eth0', master: 'hn-db' } });
    expect(Object.keys((plan.actions[3] as { attrs: object }).attrs).sort()).toEqual(['master', 'name']);
    kernel.apply(plan.actions);
    // ... and never deleted when its network goes.
    const removal = planReconcile(example(), kernel.observe()).actions;
    expect(touched(removal).has('eth0')).toBe(false);
    kernel.apply(removal);
    expect(kernel.get('eth0')).toBeDefined();
  });

  it('a device whose marker was removed by hand is foreign from then on: reported, untouched', () => {
    const kernel = new FakeKernel(hostNics());
    converge(kernel, example());
    kernel.get('tap-vm1')!.alias = null;
    kernel.get('tap-vm1')!.mtu = 1400;
    const plan = planReconcile(example(), kernel.observe());
    expect(plan.actions).toEqual([]);
    expect(plan.problems.map((p) => `${p.resource.name} ${p.condition} ${p.reason}`)).toEqual(['vm1-nic0 Configured NameTaken']);
  });

  it('keeps an owned uplink while its network cannot be readied (bridge name taken)', () => {
    const kernel = new FakeKernel(hostNics());
    converge(kernel, example());
    kernel.apply([{ op: 'deleteLink', name: 'hn-web', reason: 'by hand' }]);
    kernel.links.push(link({ name: 'hn-web', index: 500, kind: 'bridge' }));
    const plan = planReconcile(example(), kernel.observe());
    expect(plan.actions).toEqual([]);
    expect(plan.problems.map((p) => `${p.resource.name} ${p.condition} ${p.reason}`)).toEqual([
      'web BridgeReady NameTaken', 'vm1-nic0 Configured NetworkNotReady', 'pod-a-net1 Configured NetworkNotReady',
    ]);
  });

  it('an untagged uplink already enslaved to a foreign bridge is not taken from it', () => {
    const kernel = new FakeKernel([...hostNics(), link({ name: 'br0', index: 40, kind: 'bridge' })]);
    kernel.get('eth0')!.masterIndex = 40;
    const s = DesiredState.fromPartial({ networks: [{ name: 'raw', ipFamily: 4, cidr: '10.0.0.0/24', uplink: { kind: { $case: 'untagged', untagged: { name: 'eth0' } } } }] });
    const plan = planReconcile(s, kernel.observe());
    expect(ops(plan.actions)).toEqual(['ensureBridge hn-raw']);
    expect(plan.problems.map((p) => `${p.resource.name} ${p.condition} ${p.reason}`)).toEqual(['raw UplinkReady InterfaceInUse']);
  });

  it('deletes an owned device before creating another that reuses its name', () => {
    const kernel = new FakeKernel([
      ...hostNics(),
      link({ name: 'tap-vm1', index: 80, kind: 'tun', alias: ownerAlias('tap', 'old-vm'), tun: { type: 'tap', multiQueue: false, vnetHdr: false, persist: true, owner: null, groupOwner: null } }),
    ]);
    const actions = converge(kernel, example());
    expect(ops(actions)[0]).toBe('deleteLink tap-vm1');
    expect(ops(actions).indexOf('ensureTap tap-vm1')).toBeGreaterThan(0);
  });

  it('recreates a device whose fixed properties changed (tap flags, VLAN id, VXLAN vni)', () => {
    const kernel = new FakeKernel(hostNics());
    converge(kernel, example());
    const s = example();
    (s.attachments[0]!.kind as { tap: { multiQueue: boolean } }).tap.multiQueue = true;
    expect(ops(converge(kernel, s))).toEqual(['deleteLink tap-vm1', 'ensureTap tap-vm1']);

    s.networks[0]!.uplink = { kind: { $case: 'vlan', vlan: { parent: 'eth1', id: 601 } } };
    expect(ops(converge(kernel, s))).toEqual(['deleteLink eth1.600', 'ensureVlan eth1.601']);

    // Same name and marker but on another parent (changed by hand): recreated on the right one.
    kernel.get('eth1.601')!.linkIndex = 2;
    expect(ops(converge(kernel, s))).toEqual(['deleteLink eth1.601', 'ensureVlan eth1.601']);
  });

  it('keeps a TAP whose vnet_hdr a VM turned on when it opened it (QEMU does by default)', () => {
    const kernel = new FakeKernel(hostNics());
    converge(kernel, example());
    const tapLink = kernel.get('tap-vm1')!;
    tapLink.tun = { ...tapLink.tun!, vnetHdr: !tapLink.tun!.vnetHdr };
    expect(ops(planReconcile(example(), kernel.observe()).actions)).toEqual([]);
  });

  it('prunes stale addresses from a managed bridge but keeps link-local ones', () => {
    const kernel = new FakeKernel(hostNics());
    converge(kernel, example());
    const br = kernel.get('hn-web')!;
    kernel.addresses.push(
      { index: br.index, dev: 'hn-web', family: 4, cidr: '192.168.10.9/24', scope: 0, flags: 0, protocol: 0 },
      { index: br.index, dev: 'hn-web', family: 6, cidr: 'fe80::1/64', scope: 253, flags: 0, protocol: 0 },
    );
    expect(ops(converge(kernel, example()))).toEqual(['deleteAddress 192.168.10.9/24 hn-web']);
    const noGw = example();
    noGw.networks[0]!.gatewayOnBridge = false;
    noGw.networks[0]!.dhcp!.serverAddress = '192.168.10.2';
    expect(ops(converge(kernel, noGw))).toEqual(['deleteAddress 192.168.10.1/24 hn-web', 'addAddress 192.168.10.2/24 hn-web']);
    expect(kernel.addresses.map((a) => a.cidr).sort()).toEqual(['192.168.10.2/24', 'fe80::1/64']);
  });

  it('IPv6 gateways are added without DAD, and the VXLAN MTU defaults to 1450', () => {
    const kernel = new FakeKernel(hostNics());
    const s = DesiredState.fromPartial({
      networks: [{ name: 'v6', ipFamily: 6, cidr: 'fd00:10::/64', gateway: 'fd00:10:0:0::1', gatewayOnBridge: true, uplink: { kind: { $case: 'vxlan', vxlan: { vni: 9, local: '', device: '', remotes: [], evpn: false, destination: { $case: 'remote', remote: '192.0.2.9' } } } } }],
    });
    const actions = converge(kernel, s);
    expect(actions).toContainEqual(expect.objectContaining({ op: 'addAddress', spec: { dev: 'hn-v6', cidr: 'fd00:10::1/64', nodad: true, protocol: HOSTNET_ADDR_PROTO } }));
    expect(actions[0]).toMatchObject({ op: 'ensureBridge', spec: { mtu: 1450 } });
    expect(actions[1]).toMatchObject({ op: 'ensureVxlan', spec: { name: 'hnvx9', vni: 9, port: 4789, remote: '192.0.2.9', mtu: 1450 } });
  });

  it('describes every kind of action in one line', () => {
    const kernel = new FakeKernel(hostNics());
    const lines = planReconcile(example(), kernel.observe()).actions.map(describeAction);
    expect(lines).toEqual([
      'ensure bridge hn-web (mtu 1500) for network web: missing',
      'ensure vlan eth1.600 (id 600 on eth1, master hn-web) for network web: missing',
      'add address 192.168.10.1/24 on hn-web for network web: missing',
      'ensure tap tap-vm1 (master hn-web) for attachment vm1-nic0: missing',
      'ensure veth hv-poda (peer net1 in /var/run/netns/poda, master hn-web) for attachment pod-a-net1: missing',
      "set link net1 in /var/run/netns/poda up for attachment pod-a-net1: the new pair's peer comes up",
    ]);
  });
  describe('a veth is the one desired only with the desired peer (name and namespace)', () => {
    /** Plans with what each desired veth's peer namespace holds, as the kernel model knows it. */
    const planWithPeers = (kernel: FakeKernel, state: DesiredState) => planReconcile(state, kernel.observe(), {
      vethPeers: kernel.peerFacts(state.attachments.flatMap((a) => a.kind?.$case === 'veth'
        ? [{ name: a.kind.veth.ifName, peerNetns: a.kind.veth.peerNetns, peerName: a.kind.veth.peerIfName }] : [])),
    });
    const withVeth = (change: (v: { peerNetns?: string; peerIfName: string }) => void): DesiredState => {
      const s = example();
      const a = s.attachments.find((x) => x.name === 'pod-a-net1')!;
      if (a.kind?.$case === 'veth') change(a.kind.veth);
      return s;
    };

    it("a network MTU change reaches the peer inside the workload too", () => {
      const kernel = new FakeKernel(hostNics());
      kernel.apply(planWithPeers(kernel, example()).actions);
      const s = example();
      s.networks[0]!.mtu = 1400;
      const lines = planWithPeers(kernel, s).actions.map(describeAction);
      expect(lines).toContain('set link net1 in /var/run/netns/poda for attachment pod-a-net1: peer MTU 1500 -> 1400');
      expect(planWithPeers(kernel, s).actions.find((x) => x.op === 'setPeerLink')).toMatchObject({ attrs: { name: 'net1', mtu: 1400 } });
    });

    it('an unchanged peer is adopted: nothing to do', () => {
      const kernel = new FakeKernel(hostNics());
      kernel.apply(planWithPeers(kernel, example()).actions);
      expect(planWithPeers(kernel, example()).actions).toEqual([]);
    });

    for (const [what, change] of [
      ['peer name', (v: { peerIfName: string }) => { v.peerIfName = 'net2'; }],
      ['peer namespace', (v: { peerNetns?: string }) => { v.peerNetns = '/var/run/netns/podb'; }],
    ] as const) {
      it(`a changed ${what} is recreated (delete + ensureVeth), not adopted`, () => {
        const kernel = new FakeKernel(hostNics());
        kernel.apply(planWithPeers(kernel, example()).actions);
        const next = withVeth(change);
        const plan = planWithPeers(kernel, next);
        expect(ops(plan.actions).slice(0, 2)).toEqual(['deleteLink hv-poda', 'ensureVeth hv-poda']);
        expect(plan.actions[2]).toMatchObject({ op: 'setPeerLink', attrs: { up: true } });
        const ensure = plan.actions[1]!;
        expect(ensure.reason).toMatch(/^recreate: veth "hv-poda" exists, but its peer is not/);
        kernel.apply(plan.actions);
        expect(planWithPeers(kernel, next).actions).toEqual([]);
      });
    }
  });

  describe('crash safety: creation in several steps', () => {
    it('a device hostnet recorded the intent to create, found without its marker, is finished, not refused', () => {
      const kernel = new FakeKernel(hostNics());
      kernel.apply(planReconcile(example(), kernel.observe()).actions);
      // A kill between creating the pair and setting its marker: no alias yet.
      kernel.get('hv-poda')!.alias = null;
      expect(planReconcile(example(), kernel.observe()).problems.map((p) => p.reason)).toEqual(['NameTaken']);
      const plan = planReconcile(example(), kernel.observe(), { halfMade: new Set(['hv-poda']) });
      expect(plan.problems).toEqual([]);
      expect(plan.actions).toMatchObject([{ op: 'setLink', attrs: { name: 'hv-poda', alias: 'hostnet:veth:pod-a-net1' } }]);
      kernel.apply(plan.actions);
      expect(planReconcile(example(), kernel.observe()).actions).toEqual([]);
    });

    it('a half-made device nothing desires any more is removed; a foreign one of the same name is not', () => {
      const kernel = new FakeKernel(hostNics());
      kernel.apply(planReconcile(example(), kernel.observe()).actions);
      kernel.get('tap-vm1')!.alias = null;
      const without = DesiredState.fromPartial({ ...example(), attachments: example().attachments.filter((a) => a.name !== 'vm1-nic0') });
      expect(touched(planReconcile(without, kernel.observe()).actions).has('tap-vm1')).toBe(false);
      expect(ops(planReconcile(without, kernel.observe(), { halfMade: new Set(['tap-vm1']) }).actions)).toEqual(['deleteLink tap-vm1']);
    });

    it('a veth without carrier gets its peer brought up (the step a crash can skip)', () => {
      const kernel = new FakeKernel(hostNics());
      kernel.apply(planReconcile(example(), kernel.observe()).actions);
      kernel.get('hv-poda')!.lowerUp = false;
      const plan = planReconcile(example(), kernel.observe());
      expect(plan.actions).toMatchObject([{ op: 'setPeerLink', netns: '/var/run/netns/poda', attrs: { name: 'net1', up: true } }]);
      kernel.apply(plan.actions);
      expect(planReconcile(example(), kernel.observe()).actions).toEqual([]);
    });
  });

  it('a routed network has no bridge: its TAP stays on its own, with the gateway as a /32 after it exists; converged, nothing to do', () => {
    const kernel = new FakeKernel(hostNics());
    const s = DesiredState.fromPartial({
      networks: [net({ name: 'pub', cidr: '10.95.0.0/24', mode: NetworkMode.ROUTED })],
      attachments: [tap('r2', 'pub', 'tap-r2')],
    });
    const lines = planReconcile(s, kernel.observe()).actions.map(describeAction);
    expect(lines).toEqual([
      'ensure tap tap-r2 for attachment r2: missing',
      'add address 10.95.0.1/32 on tap-r2 for attachment r2: the routed gateway: missing',
    ]);
    converge(kernel, s);
    expect(kernel.get('hn-pub')).toBeUndefined();
    expect(kernel.get('tap-r2')!.masterIndex).toBeNull();
    expect(planReconcile(s, kernel.observe()).actions).toEqual([]);
  });

  it('a VXLAN whose local, remote, port or device changed is recreated; the same one is kept', () => {
    const vx = (p: { local?: string; remote?: string; port?: number; device?: string }): DesiredState => DesiredState.fromPartial({
      networks: [{ name: 'db', ipFamily: 4, cidr: '10.20.0.0/24', mtu: 1450, uplink: { kind: { $case: 'vxlan', vxlan: {
        vni: 42, local: p.local ?? '', device: p.device ?? 'eth0', ...(p.port ? { port: p.port } : {}),
        destination: { $case: 'remote', remote: p.remote ?? '192.0.2.7' },
      } } } }],
    });
    for (const change of [{ local: '10.0.0.1' }, { remote: '192.0.2.8' }, { port: 8472 }, { device: 'eth1' }]) {
      const kernel = new FakeKernel(hostNics());
      converge(kernel, vx({}));
      const plan = planReconcile(vx(change), kernel.observe());
      expect(ops(plan.actions), JSON.stringify(change)).toEqual(['deleteLink hnvx42', 'ensureVxlan hnvx42']);
      kernel.apply(plan.actions);
      expect(planReconcile(vx(change), kernel.observe()).actions).toEqual([]);
    }
  });
});
