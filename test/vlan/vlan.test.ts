// 802.1Q cases for every backend. They need a kernel with 8021q (and bridge VLAN filtering),
// which the CI host lacks: run them with `bash test/vlan/run.sh` (natively or in the VM).
// On a kernel without VLANs this file fails on purpose instead of passing by skipping.
import { execa } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataplaneError } from '../../dataplane/errors.js';
import type { Dataplane } from '../../dataplane/types.js';
import { backends } from '../integration/backends.js';
import { bridgeJson, field, ip, ipLink, ipLinks } from '../../dataplane/testing/ip.js';
import { assertNoLeftoverTestNetns } from '../lib/leftovers.js';
import { kernelEventsDuring } from '../lib/monitor.js';
import { useNetns } from '../lib/netns.js';
import { kernelHasVlan } from '../lib/vlan-support.js';

// Every test fails (not skips) without VLAN support; the probe runs once.
beforeEach(async () => {
  if (!(await kernelHasVlan())) {
    throw new Error('this kernel has no 802.1Q VLAN support (CONFIG_VLAN_8021Q): '
      + 'run via test/vm/run.sh, e.g. `bash test/vlan/run.sh`');
  }
});

afterAll(async () => {
  await assertNoLeftoverTestNetns(process.pid);
});

async function expectDataplaneError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err: unknown = await p.then(() => undefined, (e: unknown) => e);
  expect(err, 'the call should have failed').toBeInstanceOf(DataplaneError);
  expect((err as DataplaneError).code, (err as DataplaneError).message).toBe(code);
  expect((err as DataplaneError).message).toMatch(message);
}

async function ping(netns: string, address: string): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', address], { reject: false });
  return r.exitCode === 0;
}

describe.each(backends)('$name backend: VLAN', (backend) => {
  const ns = useNetns(2);
  let dp: Dataplane;
  let far: Dataplane;
  const host = (): string => ns[0]!;
  const other = (): string => ns[1]!;

  beforeEach(async () => {
    dp = await backend.open(host());
    far = await backend.open(other());
  });
  afterEach(async () => {
    await dp?.close();
    await far?.close();
  });

  it('carries two VLANs over one veth trunk: VLAN 100 passes traffic, VLAN 200 is isolated', async () => {
    await dp.ensureVeth({ name: 'trunk0', up: true, peer: { name: 'trunk1', netns: other(), up: true } });
    const v100 = await dp.ensureVlan({ name: 'trunk0.100', parent: 'trunk0', vlanId: 100, up: true });
    const v200 = await dp.ensureVlan({ name: 'trunk0.200', parent: 'trunk0', vlanId: 200, up: true });
    await dp.addAddress({ dev: 'trunk0.100', cidr: '10.100.0.1/24' });
    await dp.addAddress({ dev: 'trunk0.200', cidr: '10.200.0.1/24' });
    // The far end has VLAN 100, and 10.200.0.2 only on VLAN 300: VLAN 200 frames must not reach it.
    await far.ensureVlan({ name: 'trunk1.100', parent: 'trunk1', vlanId: 100, up: true });
    await far.ensureVlan({ name: 'trunk1.300', parent: 'trunk1', vlanId: 300, up: true });
    await far.addAddress({ dev: 'trunk1.100', cidr: '10.100.0.2/24' });
    await far.addAddress({ dev: 'trunk1.300', cidr: '10.200.0.2/24' });

    const trunk = await ipLink(host(), 'trunk0');
    for (const [name, id, link] of [['trunk0.100', 100, v100], ['trunk0.200', 200, v200]] as const) {
      const w = await ipLink(host(), name);
      expect(w!.kind).toBe('vlan');
      expect(w!.data).toMatchObject({ id, protocol: '802.1Q' });
      expect(w!.link).toBe('trunk0');
      expect(link).toMatchObject({ index: w!.ifindex, kind: 'vlan', linkIndex: trunk!.ifindex, vlan: { id, protocol: '802.1Q' } });
    }
    expect(await ping(host(), '10.100.0.2')).toBe(true);
    expect(await ping(host(), '10.200.0.2')).toBe(false);
  });

  it('enslaves a VLAN sub-interface to a bridge (a network\'s VLAN bridge)', async () => {
    await dp.ensureVeth({ name: 'eth0', up: true, peer: { name: 'eth0p', netns: other(), up: true } });
    const br = await dp.ensureBridge({ name: 'br100', up: true, alias: 'hostnet:bridge:net100' });
    const vlan = await dp.ensureVlan({ name: 'eth0.100', parent: 'eth0', vlanId: 100, master: 'br100', up: true, mtu: 1400 });
    const w = await ipLink(host(), 'eth0.100');
    expect(w!.kind).toBe('vlan');
    expect(w!.master).toBe('br100');
    expect(w!.flags).toContain('UP');
    expect(w!.mtu).toBe(1400);
    expect(w!.data['id']).toBe(100);
    expect(vlan.masterIndex).toBe(br.index);
  });

  it('creates a VLAN-filtering bridge whose port takes a VID (bridge vlan show)', async () => {
    const br = await dp.ensureBridge({ name: 'brf', vlanFiltering: true, up: true });
    expect(br.bridge).toMatchObject({ vlanFiltering: true, stp: false });
    expect((await ipLink(host(), 'brf'))!.data['vlan_filtering']).toBe(1);
    await dp.ensureVeth({ name: 'port0', master: 'brf', up: true, peer: { name: 'port0p', netns: other(), up: true } });
    await execa('bridge', ['-n', host(), 'vlan', 'add', 'vid', '10', 'dev', 'port0']);
    const ports = await bridgeJson(host(), 'vlan', 'show');
    const port = ports.find((p) => field(p, 'ifname') === 'port0');
    const vids = Array.isArray(port?.['vlans']) ? port['vlans'].map((v: unknown) => (v as Record<string, unknown>)['vlan']) : [];
    expect(vids).toContain(10);
  });

  it('refuses VLAN id 0 and 4095, creating nothing', async () => {
    await dp.ensureVeth({ name: 'eth0', peer: { name: 'eth0p' } });
    await expectDataplaneError(dp.ensureVlan({ name: 'eth0.0', parent: 'eth0', vlanId: 0 }), 'EINVAL', /VLAN id 0/);
    await expectDataplaneError(dp.ensureVlan({ name: 'eth0.4095', parent: 'eth0', vlanId: 4095 }), 'EINVAL', /VLAN id 4095/);
    expect((await ipLinks(host())).map((l) => l.ifname).sort()).toEqual(['eth0', 'eth0p', 'lo']);
  });

  it('refuses a name held by another kind, another VLAN id or another parent (EEXIST)', async () => {
    await dp.ensureVeth({ name: 'eth0', peer: { name: 'eth1' } });
    await ip(host(), 'link', 'add', 'eth0.7', 'type', 'bridge');
    await expectDataplaneError(dp.ensureVlan({ name: 'eth0.7', parent: 'eth0', vlanId: 7 }), 'EEXIST', /bridge/);
    await dp.ensureVlan({ name: 'eth0.100', parent: 'eth0', vlanId: 100 });
    await expectDataplaneError(dp.ensureVlan({ name: 'eth0.100', parent: 'eth0', vlanId: 101 }), 'EEXIST', /exists with id 100; these are fixed at creation/);
    await expectDataplaneError(dp.ensureVlan({ name: 'eth0.100', parent: 'eth1', vlanId: 100 }), 'EEXIST', /eth0/);
    const w = await ipLink(host(), 'eth0.100');
    expect(w!.data['id']).toBe(100);
    expect(w!.link).toBe('eth0');
  });

  it('re-ensuring the same VLAN changes nothing (same ifindex, no kernel events)', async () => {
    // No IPv6 autoconfiguration: its own events would arrive while we listen.
    await execa('ip', ['netns', 'exec', host(), 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await dp.ensureVeth({ name: 'eth0', up: true, peer: { name: 'eth0p', up: true } });
    const spec = { name: 'eth0.100', parent: 'eth0', vlanId: 100, up: true, mtu: 1400, alias: 'hostnet:vlan:100' };
    const first = await dp.ensureVlan(spec);
    // The kernel's linkwatch reports carrier (operstate UP) a moment after creation; in the
    // emulated VM that moment can be long. Wait for it so only our second call is watched.
    for (let i = 0; i < 200 && (await ipLink(host(), 'eth0.100'))?.operstate !== 'UP'; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await ipLink(host(), 'eth0.100'))?.operstate).toBe('UP');
    let second = first;
    const events = await kernelEventsDuring(host(), async () => {
      second = await dp.ensureVlan(spec);
    });
    expect(events.filter((e) => e.includes('eth0.100'))).toEqual([]);
    expect(second.index).toBe(first.index);
    expect((await ipLink(host(), 'eth0.100'))!.ifindex).toBe(first.index);
  });
});
