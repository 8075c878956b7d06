// One behaviour for every Dataplane backend. Each test works in fresh hntest- namespaces and
// checks the kernel's state through the witness (raw `ip -j`), not only the backend's getters.
// VLAN cases that need 802.1Q in the kernel live in test/vlan/.
import { execa } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataplaneError } from '../../dataplane/errors.js';
import type { Dataplane } from '../../dataplane/types.js';
import { field, ip, ipAddresses, ipLink, ipLinks, ipNeighbours, ipRoutes, type JsonRecord } from '../../dataplane/testing/ip.js';
import { ipHasAddressProtocols } from '../../dataplane/iproute2/capabilities.js';
import { addressProtocols } from '../lib/addr-protocols.js';
import { assertNoLeftoverTestNetns } from '../lib/leftovers.js';
import { kernelEventsDuring } from '../lib/monitor.js';
import { useNetns } from '../lib/netns.js';
import { callWithoutNetAdmin } from '../lib/unprivileged.js';
import { backends } from './backends.js';

async function expectDataplaneError(p: Promise<unknown>, code: string, message: RegExp): Promise<DataplaneError> {
  const err: unknown = await p.then(() => undefined, (e: unknown) => e);
  expect(err, 'the call should have failed').toBeInstanceOf(DataplaneError);
  const e = err as DataplaneError;
  expect(e.code, e.message).toBe(code);
  expect(e.message).toMatch(message);
  return e;
}

async function linkNames(netns: string): Promise<string[]> {
  return (await ipLinks(netns)).map((l) => l.ifname).sort();
}

function route(routes: JsonRecord[], dst: string, table = '254'): JsonRecord | undefined {
  return routes.find((r) => field(r, 'dst') === dst && field(r, 'table') === table);
}

afterAll(async () => {
  await assertNoLeftoverTestNetns(process.pid);
});

describe.each(backends)('$name backend', (backend) => {
  const ns = useNetns(2);
  let dp: Dataplane;
  const host = (): string => ns[0]!;
  const other = (): string => ns[1]!;

  beforeEach(async () => {
    dp = await backend.open(host());
  });
  afterEach(async () => {
    await dp?.close();
  });

  describe('bridge', () => {
    it('creates a bridge with every attribute, STP off and forward delay 0', async () => {
      const link = await dp.ensureBridge({
        name: 'br0', mtu: 1400, mac: '02:00:00:00:01:01', alias: 'hostnet:bridge:n1', group: 7, up: true,
      });
      const w = await ipLink(host(), 'br0');
      expect(w).toBeDefined();
      expect(w!.kind).toBe('bridge');
      expect(w!.mtu).toBe(1400);
      expect(w!.address).toBe('02:00:00:00:01:01');
      expect(w!.ifalias).toBe('hostnet:bridge:n1');
      expect(w!.group).toBe('7');
      expect(w!.flags).toContain('UP');
      expect(w!.data['stp_state']).toBe(0);
      expect(w!.data['forward_delay']).toBe(0);
      expect(w!.data['vlan_filtering']).toBe(0);
      expect(link).toMatchObject({
        index: w!.ifindex, name: 'br0', kind: 'bridge', mtu: 1400, mac: '02:00:00:00:01:01',
        alias: 'hostnet:bridge:n1', group: 7, up: true, masterIndex: null,
        bridge: { stp: false, forwardDelayCentis: 0, vlanFiltering: false },
      });
    });

    it('re-ensuring the same bridge changes nothing', async () => {
      const spec = { name: 'br0', mtu: 1400, mac: '02:00:00:00:01:01', alias: 'hostnet:bridge:n1', group: 7, up: true };
      const first = await dp.ensureBridge(spec);
      // Bridge timers in info_data tick on their own: compare what an ensure could change.
      const stable = async (): Promise<unknown> => {
        const l = await ipLink(host(), 'br0');
        return [l?.ifindex, l?.mtu, l?.address, l?.ifalias, l?.group, l?.flags, l?.master, l?.data['stp_state'], l?.data['forward_delay']];
      };
      let before: unknown;
      let second = first;
      const events = await kernelEventsDuring(host(), async () => {
        before = await stable(); // read after the monitor let the new bridge settle
        second = await dp.ensureBridge(spec);
      });
      const after = await stable();
      expect(events.filter((e) => e.includes('br0'))).toEqual([]);
      expect(second.index).toBe(first.index);
      expect(after).toEqual(before);
      // Carrier and operstate follow the kernel's linkwatch on their own time; the rest must match.
      const { operState: _a, lowerUp: _b, ...secondFixed } = second;
      const { operState: _c, lowerUp: _d, ...firstFixed } = first;
      expect(secondFixed).toEqual(firstFixed);
    });

    it('updates mtu and alias in place on re-ensure (same ifindex)', async () => {
      const first = await dp.ensureBridge({ name: 'br0', mtu: 1400, alias: 'a' });
      const second = await dp.ensureBridge({ name: 'br0', mtu: 1300, alias: 'b' });
      const w = await ipLink(host(), 'br0');
      expect(second.index).toBe(first.index);
      expect(w!.ifindex).toBe(first.index);
      expect(w!.mtu).toBe(1300);
      expect(w!.ifalias).toBe('b');
      expect(second).toMatchObject({ mtu: 1300, alias: 'b' });
    });

    it('refuses a name that exists as another kind (EEXIST) and leaves it alone', async () => {
      await ip(host(), 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1');
      await expectDataplaneError(dp.ensureBridge({ name: 'x0', mtu: 1300 }), 'EEXIST', /x0.*veth/);
      const w = await ipLink(host(), 'x0');
      expect(w!.kind).toBe('veth');
      expect(w!.mtu).toBe(1500);
      await dp.ensureBridge({ name: 'br0' });
      await expectDataplaneError(dp.ensureVxlan({ name: 'br0', vni: 5 }), 'EEXIST', /br0.*bridge/);
      expect((await ipLink(host(), 'br0'))!.kind).toBe('bridge');
    });
  });

  describe('veth', () => {
    it('creates the peer directly in the other namespace, host end enslaved to a bridge', async () => {
      const br = await dp.ensureBridge({ name: 'br0', up: true });
      const link = await dp.ensureVeth({
        name: 'veth0', mtu: 1400, master: 'br0', up: true, alias: 'hostnet:attachment:a1',
        peer: { name: 'eth1', netns: other(), mtu: 1400, mac: '02:00:00:00:02:02', up: true },
      });
      const w = await ipLink(host(), 'veth0');
      const peer = await ipLink(other(), 'eth1');
      expect(w!.kind).toBe('veth');
      expect(w!.master).toBe('br0');
      expect(w!.flags).toContain('UP');
      expect(w!.mtu).toBe(1400);
      expect(w!.ifalias).toBe('hostnet:attachment:a1');
      expect(peer).toBeDefined();
      expect(peer!.kind).toBe('veth');
      expect(peer!.mtu).toBe(1400);
      expect(peer!.address).toBe('02:00:00:00:02:02');
      expect(peer!.flags).toContain('UP');
      expect(await ipLink(host(), 'eth1')).toBeUndefined();
      expect(link).toMatchObject({ index: w!.ifindex, kind: 'veth', masterIndex: br.index, linkIndex: peer!.ifindex, up: true });

      const again = await dp.ensureVeth({
        name: 'veth0', mtu: 1400, master: 'br0', up: true, alias: 'hostnet:attachment:a1',
        peer: { name: 'eth1', netns: other(), mtu: 1400, mac: '02:00:00:00:02:02', up: true },
      });
      expect(again.index).toBe(link.index);
      expect((await ipLink(other(), 'eth1'))!.ifindex).toBe(peer!.ifindex);
    });

    it('refuses a peer name that already exists in the peer namespace, creating nothing', async () => {
      await ip(other(), 'link', 'add', 'eth1', 'type', 'bridge');
      await expectDataplaneError(dp.ensureVeth({ name: 'veth0', peer: { name: 'eth1', netns: other() } }), 'EEXIST', /eth1/);
      expect(await linkNames(host())).toEqual(['lo']);
      expect((await ipLink(other(), 'eth1'))!.kind).toBe('bridge');
    });

    it('setLinksIn changes links in another namespace together, one result per entry, and keeps nothing open there', async () => {
      for (let i = 0; i < 3; i++) await dp.ensureVeth({ name: `sv${i}`, up: true, peer: { name: `sp${i}`, netns: other() } });
      expect((await ipLink(other(), 'sp0'))!.flags).not.toContain('UP');
      const results = await dp.setLinksIn(other(), [
        { name: 'sp0', up: true }, { name: 'sp1', up: true, mtu: 1400 }, { name: 'nope', up: true }, { name: 'sp2', up: true },
      ]);
      expect(results.map((r) => r === null)).toEqual([true, true, false, true]);
      expect(results[2]!.message).toMatch(/nope/);
      for (const n of ['sp0', 'sp1', 'sp2']) expect((await ipLink(other(), n))!.flags).toContain('UP');
      expect((await ipLink(other(), 'sp1'))!.mtu).toBe(1400);
      // The host ends now have carrier: the pairs are whole.
      expect((await ipLink(host(), 'sv0'))!.flags).toContain('LOWER_UP');
    });

    it('creates many pairs concurrently', async () => {
      const n = 200;
      const links = await Promise.all(Array.from({ length: n }, (_, i) =>
        dp.ensureVeth({ name: `cv${i}`, group: 5, up: true, peer: { name: `cp${i}`, netns: other(), up: true } })));
      expect(new Set(links.map((l) => l.index)).size).toBe(n);
      const hostLinks = (await ipLinks(host())).filter((l) => l.ifname.startsWith('cv'));
      const peerLinks = (await ipLinks(other())).filter((l) => l.ifname.startsWith('cp'));
      expect(hostLinks).toHaveLength(n);
      expect(peerLinks).toHaveLength(n);
      expect(hostLinks.every((l) => l.group === '5' && l.flags.includes('UP'))).toBe(true);
      expect(peerLinks.every((l) => l.flags.includes('UP'))).toBe(true);
    });
  });

  describe('vxlan', () => {
    it('creates a unicast VXLAN with vni, local, remote, port, ttl and learning off', async () => {
      const link = await dp.ensureVxlan({ name: 'vx0', vni: 4242, local: '192.0.2.1', remote: '192.0.2.2', port: 4790, ttl: 16, mtu: 1450 });
      const w = await ipLink(host(), 'vx0');
      expect(w!.kind).toBe('vxlan');
      expect(w!.data).toMatchObject({ id: 4242, local: '192.0.2.1', remote: '192.0.2.2', port: 4790, learning: false, ttl: 16 });
      expect(w!.mtu).toBe(1450);
      expect(link.vxlan).toEqual({ vni: 4242, port: 4790, learning: false, local: '192.0.2.1', remote: '192.0.2.2' });
    });

    it('defaults to port 4789, and takes a multicast group with its device', async () => {
      await dp.ensureVxlan({ name: 'vx1', vni: 7 });
      expect((await ipLink(host(), 'vx1'))!.data).toMatchObject({ id: 7, port: 4789, learning: false });
      await dp.ensureBridge({ name: 'under0' });
      await dp.ensureVxlan({ name: 'vx2', vni: 8, multicastGroup: '239.1.1.1', device: 'under0', learning: true });
      expect((await ipLink(host(), 'vx2'))!.data).toMatchObject({ id: 8, group: '239.1.1.1', link: 'under0', learning: true });
    });

    it('is idempotent, and refuses another VNI under the same name', async () => {
      const a = await dp.ensureVxlan({ name: 'vx0', vni: 10, remote: '192.0.2.2' });
      const b = await dp.ensureVxlan({ name: 'vx0', vni: 10, remote: '192.0.2.2' });
      expect(b.index).toBe(a.index);
      await expectDataplaneError(dp.ensureVxlan({ name: 'vx0', vni: 11 }), 'EEXIST', /vx0.*\b10\b/);
      expect((await ipLink(host(), 'vx0'))!.data['id']).toBe(10);
    });
  });

  describe('fixed at creation: an existing device that differs is refused by both backends with the same error', () => {
    const third = useNetns(1);
    /** Refused with EEXIST and exactly `detail`; the device is still the one that was there. */
    async function refused(call: () => Promise<unknown>, name: string, detail: string): Promise<void> {
      const before = await ipLink(host(), name);
      const e = await expectDataplaneError(call(), 'EEXIST', new RegExp(`^ensure \\w+ ${name}: EEXIST: `));
      expect(e.detail).toBe(detail);
      const after = await ipLink(host(), name);
      expect(after!.ifindex).toBe(before!.ifindex);
      expect(after!.data).toEqual(before!.data);
    }
    const vxFixed = (name: string, what: string): string =>
      `vxlan "${name}" exists with ${what}; these are fixed at creation (delete the vxlan to change them)`;

    it('ensureVxlan with another local, remote, group, port or device', async () => {
      await dp.ensureBridge({ name: 'under0' });
      await dp.ensureBridge({ name: 'under1' });
      const under0 = (await ipLink(host(), 'under0'))!.ifindex;
      await dp.ensureVxlan({ name: 'vx0', vni: 10, local: '192.0.2.1', remote: '192.0.2.2', port: 4790, device: 'under0' });
      const base = { name: 'vx0', vni: 10, local: '192.0.2.1', remote: '192.0.2.2', port: 4790, device: 'under0' };
      await refused(() => dp.ensureVxlan({ ...base, local: '192.0.2.9' }), 'vx0', vxFixed('vx0', 'local 192.0.2.1'));
      await refused(() => dp.ensureVxlan({ ...base, remote: '192.0.2.9' }), 'vx0', vxFixed('vx0', 'remote 192.0.2.2'));
      await refused(() => dp.ensureVxlan({ ...base, port: 4789 }), 'vx0', vxFixed('vx0', 'port 4790'));
      await refused(() => dp.ensureVxlan({ ...base, device: 'under1' }), 'vx0', vxFixed('vx0', `device ifindex ${under0}`));
      const { remote: _r, ...noRemote } = base;
      await refused(() => dp.ensureVxlan({ ...noRemote, multicastGroup: '239.1.1.1' }), 'vx0', vxFixed('vx0', 'remote 192.0.2.2'));
      await refused(() => dp.ensureVxlan({ ...base, vni: 11, local: undefined }), 'vx0', vxFixed('vx0', 'vni 10, local 192.0.2.1'));
      // What may change does, in place: learning.
      const same = await dp.ensureVxlan({ ...base, learning: true, mtu: 1400 });
      const w = await ipLink(host(), 'vx0');
      expect(w!.data).toMatchObject({ learning: true, local: '192.0.2.1', remote: '192.0.2.2', port: 4790, link: 'under0' });
      expect(w!.mtu).toBe(1400);
      expect(same.index).toBe(w!.ifindex);
    });

    it('ensureVeth with another peer name, or the peer in another namespace', async () => {
      const spec = { name: 'veth0', peer: { name: 'eth1', netns: other() } };
      const first = await dp.ensureVeth(spec);
      const msg = (peer: string, where: string): string =>
        `veth "veth0" exists, but its peer is not "${peer}" in ${where} (it is ifindex ${first.linkIndex} in the namespace with id ${first.linkNetnsId}); ` +
        'the peer is fixed at creation (delete the veth to change it)';
      expect(first.linkNetnsId).toBeTypeOf('number');
      await refused(() => dp.ensureVeth({ ...spec, peer: { name: 'eth2', netns: other() } }), 'veth0', msg('eth2', `namespace ${other()}`));
      // A link of the same name in a third namespace is not the peer (matching ifindex or not).
      await ip(third[0]!, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'x1');
      await refused(() => dp.ensureVeth({ ...spec, peer: { name: 'eth1', netns: third[0]! } }), 'veth0', msg('eth1', `namespace ${third[0]!}`));
      await refused(() => dp.ensureVeth({ name: 'veth0', peer: { name: 'eth1' } }), 'veth0', msg('eth1', 'this namespace'));
      // The same peer is adopted, and its own attributes follow the spec.
      const again = await dp.ensureVeth({ ...spec, peer: { ...spec.peer, mtu: 1400, up: true } });
      expect(again.index).toBe(first.index);
      const peer = await ipLink(other(), 'eth1');
      expect(peer!.mtu).toBe(1400);
      expect(peer!.flags).toContain('UP');
    });

    it('ensureTap with another multi_queue or owner; ensureBridge over a tap', async () => {
      await dp.ensureTap({ name: 'tap0', multiQueue: true, owner: 65534 });
      const tapFixed = (what: string): string => `tap "tap0" exists with ${what}; these are fixed at creation (delete the tap to change them)`;
      await refused(() => dp.ensureTap({ name: 'tap0', multiQueue: false }), 'tap0', tapFixed('multi_queue on'));
      await refused(() => dp.ensureTap({ name: 'tap0', owner: 0 }), 'tap0', tapFixed('owner 65534'));
      await refused(() => dp.ensureBridge({ name: 'tap0' }), 'tap0', '"tap0" exists as a tun, not a bridge');
      // A name held by another kind: the TAP is not made (the netlink backend creates first and
      // is told the name is taken), and the error says what holds it.
      await dp.ensureBridge({ name: 'brt' });
      await refused(() => dp.ensureTap({ name: 'brt' }), 'brt', '"brt" exists as a bridge, not a tap');
      await ip(host(), 'tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
      await refused(() => dp.ensureTap({ name: 'tun0' }), 'tun0', '"tun0" exists as a TUN (not TAP) device, not a tap');
    });
  });

  describe('tap', () => {
    it('creates a persistent multi-queue vnet_hdr TAP with owner and group, then enslaves it', async () => {
      const link = await dp.ensureTap({ name: 'tap0', owner: 65534, groupOwner: 65534, multiQueue: true, vnetHdr: true, mtu: 1400 });
      const w = await ipLink(host(), 'tap0');
      expect(w!.kind).toBe('tun');
      expect(w!.data).toMatchObject({ type: 'tap', multi_queue: true, vnet_hdr: true, persist: true });
      // ip prints names when the system knows them.
      expect([65534, 'nobody']).toContain(w!.data['user']);
      expect([65534, 'nogroup']).toContain(w!.data['group']);
      expect(w!.mtu).toBe(1400);
      expect(link.tun).toEqual({ type: 'tap', multiQueue: true, vnetHdr: true, persist: true, owner: 65534, groupOwner: 65534 });

      await dp.ensureBridge({ name: 'br0', up: true });
      await dp.setLink({ name: 'tap0', master: 'br0', up: true });
      const enslaved = await ipLink(host(), 'tap0');
      expect(enslaved!.master).toBe('br0');
      expect(enslaved!.flags).toContain('UP');
      expect(enslaved!.ifindex).toBe(link.index);

      const again = await dp.ensureTap({ name: 'tap0', owner: 65534, groupOwner: 65534, multiQueue: true, vnetHdr: true, mtu: 1400 });
      expect(again.index).toBe(link.index);
      // A new TAP gets every attribute at once: MAC, MTU, alias, master, up; the answer is the link as made.
      const t1 = await dp.ensureTap({ name: 'tap1', mac: '52:54:00:12:34:56', mtu: 1300, alias: 'hostnet:tap:t1', master: 'br0', up: true });
      const w1 = await ipLink(host(), 'tap1');
      expect(w1).toMatchObject({ address: '52:54:00:12:34:56', mtu: 1300, ifalias: 'hostnet:tap:t1', master: 'br0' });
      expect(w1!.flags).toContain('UP');
      expect(t1).toMatchObject({ index: w1!.ifindex, mac: '52:54:00:12:34:56', mtu: 1300, alias: 'hostnet:tap:t1', masterIndex: (await ipLink(host(), 'br0'))!.ifindex, up: true });
      await expectDataplaneError(dp.ensureTap({ name: 'tap0', multiQueue: false }), 'EEXIST', /multi_queue/);
      expect((await ipLink(host(), 'tap0'))!.data['multi_queue']).toBe(true);
    });

    it('putTap makes the same TAP as ensureTap, adopts one that matches and refuses one that does not', async () => {
      await dp.ensureBridge({ name: 'br0', up: true });
      await dp.putTap({ name: 'tap2', mac: '52:54:00:12:34:57', mtu: 1320, alias: 'hostnet:tap:t2', master: 'br0', up: true, multiQueue: true });
      const w = await ipLink(host(), 'tap2');
      expect(w).toMatchObject({ kind: 'tun', address: '52:54:00:12:34:57', mtu: 1320, ifalias: 'hostnet:tap:t2', master: 'br0' });
      expect(w!.data).toMatchObject({ type: 'tap', multi_queue: true, persist: true });
      expect(w!.flags).toContain('UP');
      // Again with another MTU: the same device (ifindex), changed in place.
      await dp.putTap({ name: 'tap2', mac: '52:54:00:12:34:57', mtu: 1330, alias: 'hostnet:tap:t2', master: 'br0', up: true, multiQueue: true });
      expect(await ipLink(host(), 'tap2')).toMatchObject({ ifindex: w!.ifindex, mtu: 1330 });
      await expectDataplaneError(dp.putTap({ name: 'tap2', multiQueue: false }), 'EEXIST', /multi_queue/);
    });
  });

  describe('setLink and delete', () => {
    it('changes only the given attributes: master, nomaster, up, down, mtu, mac, alias, group', async () => {
      await dp.ensureBridge({ name: 'br0' });
      await dp.ensureVeth({ name: 'v0', peer: { name: 'p0' } });
      const w0 = await ipLink(host(), 'v0');

      await dp.setLink({ name: 'v0', master: 'br0' });
      expect((await ipLink(host(), 'v0'))!.master).toBe('br0');
      await dp.setLink({ name: 'v0', up: true });
      let w = await ipLink(host(), 'v0');
      expect(w!.flags).toContain('UP');
      expect(w!.master).toBe('br0');
      await dp.setLink({ name: 'v0', master: null });
      w = await ipLink(host(), 'v0');
      expect(w!.master).toBeUndefined();
      expect(w!.flags).toContain('UP');
      await dp.setLink({ name: 'v0', up: false });
      expect((await ipLink(host(), 'v0'))!.flags).not.toContain('UP');
      await dp.setLink({ name: 'v0', mtu: 1280, mac: '02:00:00:00:03:03', alias: 'hostnet:x', group: 9 });
      w = await ipLink(host(), 'v0');
      expect(w).toMatchObject({ mtu: 1280, address: '02:00:00:00:03:03', ifalias: 'hostnet:x', group: '9', ifindex: w0!.ifindex });
      expect((await dp.getLink('v0'))).toMatchObject({ mtu: 1280, mac: '02:00:00:00:03:03', alias: 'hostnet:x', group: 9, up: false });
      // Any text survives as an alias: blanks, quotes, '#'.
      for (const alias of ['my net "one" #1', "it's", '']) {
        await dp.setLink({ name: 'v0', alias });
        expect((await ipLink(host(), 'v0'))!.ifalias ?? '').toBe(alias);
      }

      await expectDataplaneError(dp.setLink({ name: 'nosuch0', up: true }), 'ENODEV', /nosuch0/);
      await expectDataplaneError(dp.setLink({ name: 'v0', master: 'nosuch1' }), 'ENODEV', /nosuch1/);
      expect((await ipLink(host(), 'v0'))!.master).toBeUndefined();
    });

    it('deletes a link, and deleting it again succeeds', async () => {
      await dp.ensureBridge({ name: 'br0' });
      await dp.deleteLink('br0');
      expect(await ipLink(host(), 'br0')).toBeUndefined();
      await dp.deleteLink('br0');
      expect(await dp.getLink('br0')).toBeNull();
    });

    it('deletes a whole link group in one call and leaves other devices', async () => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => dp.ensureVeth({ name: `g${i}`, group: 42, peer: { name: `gp${i}` } })));
      await dp.ensureBridge({ name: 'keep0' });
      await dp.ensureVeth({ name: 'keep1', group: 43, peer: { name: 'keep1p' } });
      expect((await ipLinks(host())).filter((l) => l.group === '42')).toHaveLength(50);
      await dp.deleteLinkGroup(42);
      expect(await linkNames(host())).toEqual(['keep0', 'keep1', 'keep1p', 'lo']);
      await dp.deleteLinkGroup(42);
    });

    it('lets a read queued after a write see it', async () => {
      await dp.ensureBridge({ name: 'br0' });
      const [, seen] = await Promise.all([dp.deleteLink('br0'), dp.getLink('br0')]);
      expect(seen).toBeNull();
      const [created, read] = await Promise.all([dp.ensureBridge({ name: 'br1' }), dp.listLinks()]);
      expect(created.name).toBe('br1');
      expect(read.map((l) => l.name)).not.toContain('br0');
    });
  });

  describe('addresses, routes, neighbours', () => {
    async function wire(): Promise<void> {
      await dp.ensureVeth({ name: 'v0', up: true, peer: { name: 'p0', netns: other(), up: true } });
    }

    it('adds, re-adds and deletes IPv4 and IPv6 (nodad) addresses', async () => {
      await wire();
      const v4 = { dev: 'v0', cidr: '192.0.2.10/24' };
      const v6 = { dev: 'v0', cidr: '2001:db8::10/64', nodad: true };
      await dp.addAddress(v4);
      await dp.addAddress(v4);
      await dp.addAddress(v6);
      await dp.addAddress(v6);
      let addrs = await ipAddresses(host());
      expect(addrs.filter((a) => a.cidr === '192.0.2.10/24' && a.dev === 'v0')).toHaveLength(1);
      const six = addrs.find((a) => a.cidr === '2001:db8::10/64');
      expect(six).toBeDefined();
      expect(six!.info['nodad']).toBe(true);
      expect(six!.info['tentative']).toBeUndefined();
      const listed = await dp.listAddresses();
      expect(listed).toContainEqual(expect.objectContaining({ dev: 'v0', cidr: '192.0.2.10/24', family: 4 }));
      const listed6 = listed.find((a) => a.cidr === '2001:db8::10/64');
      expect(listed6).toMatchObject({ dev: 'v0', family: 6 });
      expect(listed6!.flags & 0x02).toBe(0x02); // IFA_F_NODAD

      await dp.deleteAddress(v4);
      await dp.deleteAddress(v6);
      addrs = await ipAddresses(host());
      expect(addrs.map((a) => a.cidr)).not.toContain('192.0.2.10/24');
      expect(addrs.map((a) => a.cidr)).not.toContain('2001:db8::10/64');
      await dp.deleteAddress(v4);
      await dp.deleteAddress(v6);
    });

    it('an address added with a protocol carries it (IFA_PROTO); one already there keeps its own', async () => {
      await wire();
      await dp.addAddress({ dev: 'v0', cidr: '192.0.2.5/24' }); // the admin's: no protocol
      await dp.addAddress({ dev: 'v0', cidr: '192.0.2.10/24', protocol: 104 });
      await dp.addAddress({ dev: 'v0', cidr: '2001:db8::10/64', nodad: true, protocol: 104 });
      await dp.addAddress({ dev: 'v0', cidr: '2001:db8::10/64', nodad: true, protocol: 104 });
      await dp.addAddress({ dev: 'v0', cidr: '192.0.2.5/24', protocol: 104 }); // exists: not re-marked
      // iproute2 before 6.3 (Debian 12 has 6.1) can neither send nor print an address protocol.
      const capable = backend.name === 'netlink' || ipHasAddressProtocols();
      const seen = new Map((await addressProtocols(host())).map((a) => [a.cidr, a.protocol]));
      expect(seen.get('192.0.2.10/24')).toBe(capable ? 104 : 0);
      expect(seen.get('2001:db8::10/64')).toBe(capable ? 104 : 0);
      expect(seen.get('192.0.2.5/24')).toBe(0);
      const listed = await dp.listAddresses();
      expect(listed.length).toBeGreaterThanOrEqual(3);
      for (const a of listed) expect(a.protocol, a.cidr).toBe(capable ? seen.get(a.cidr) : 0);
      await expectDataplaneError(dp.addAddress({ dev: 'v0', cidr: '192.0.2.11/24', protocol: 256 }), 'EINVAL', /protocol 256/);
      expect((await ipAddresses(host())).map((a) => a.cidr)).not.toContain('192.0.2.11/24');
    });

    it('adds routes with via, dev, metric, table and protocol; replaces; deletes twice', async () => {
      await wire();
      await dp.addAddress({ dev: 'v0', cidr: '192.0.2.1/24' });
      await dp.addAddress({ dev: 'v0', cidr: '2001:db8::1/64', nodad: true });
      await dp.addRoute({ destination: '198.51.100.0/24', via: '192.0.2.254' });
      await dp.addRoute({ destination: '203.0.113.0/24', dev: 'v0', metric: 50 });
      await dp.addRoute({ destination: '10.10.0.0/16', via: '192.0.2.254', table: 100 });
      await dp.addRoute({ destination: '10.20.0.0/16', dev: 'v0', protocol: 99 });
      await dp.addRoute({ destination: 'default', via: '192.0.2.254' });
      await dp.addRoute({ destination: '2001:db8:1::/64', via: '2001:db8::fe' });

      let routes = await ipRoutes(host());
      expect(route(routes, '198.51.100.0/24')).toMatchObject({ gateway: '192.0.2.254', dev: 'v0', protocol: '4' });
      expect(route(routes, '203.0.113.0/24')).toMatchObject({ dev: 'v0', metric: 50, protocol: '4' });
      expect(route(routes, '10.10.0.0/16', '100')).toMatchObject({ gateway: '192.0.2.254' });
      expect(route(routes, '10.10.0.0/16')).toBeUndefined();
      expect(route(routes, '10.20.0.0/16')).toMatchObject({ protocol: '99' });
      expect(route(routes, 'default')).toMatchObject({ gateway: '192.0.2.254' });
      expect(route(routes, '2001:db8:1::/64')).toMatchObject({ gateway: '2001:db8::fe', protocol: '4' });

      // replace semantics: a second add for the same destination changes it, never duplicates
      await dp.addRoute({ destination: '198.51.100.0/24', via: '192.0.2.253' });
      routes = await ipRoutes(host());
      const same = routes.filter((r) => field(r, 'dst') === '198.51.100.0/24');
      expect(same).toHaveLength(1);
      expect(same[0]).toMatchObject({ gateway: '192.0.2.253' });

      const listed = await dp.listRoutes();
      expect(listed).toContainEqual(expect.objectContaining({
        family: 4, destination: '198.51.100.0/24', via: '192.0.2.253', dev: 'v0', protocol: 4, table: 254,
      }));
      expect(listed).toContainEqual(expect.objectContaining({ family: 4, destination: '10.10.0.0/16', table: 100 }));
      expect(listed).toContainEqual(expect.objectContaining({ family: 6, destination: '2001:db8:1::/64', via: '2001:db8::fe' }));
      expect(listed).toContainEqual(expect.objectContaining({ family: 4, destination: '203.0.113.0/24', metric: 50 }));

      const all = [
        { destination: '198.51.100.0/24', via: '192.0.2.253' },
        { destination: '203.0.113.0/24', dev: 'v0', metric: 50 },
        { destination: '10.10.0.0/16', via: '192.0.2.254', table: 100 },
        { destination: '10.20.0.0/16', dev: 'v0' },
        { destination: 'default', via: '192.0.2.254' },
        { destination: '2001:db8:1::/64', via: '2001:db8::fe' },
      ];
      for (const r of all) await dp.deleteRoute(r);
      routes = await ipRoutes(host());
      for (const dst of ['198.51.100.0/24', '203.0.113.0/24', '10.20.0.0/16', 'default', '2001:db8:1::/64']) {
        expect(route(routes, dst), dst).toBeUndefined();
      }
      expect(route(routes, '10.10.0.0/16', '100')).toBeUndefined();
      for (const r of all) await dp.deleteRoute(r);
    });

    it('sets, replaces and deletes neighbours', async () => {
      await wire();
      await dp.setNeighbour({ dev: 'v0', ip: '192.0.2.20', mac: '02:00:00:00:00:20' });
      await dp.setNeighbour({ dev: 'v0', ip: '2001:db8::20', mac: '02:00:00:00:00:21' });
      let neigh = await ipNeighbours(host());
      const four = neigh.find((n) => field(n, 'dst') === '192.0.2.20');
      expect(four).toMatchObject({ dev: 'v0', lladdr: '02:00:00:00:00:20', state: ['PERMANENT'] });
      expect(neigh.find((n) => field(n, 'dst') === '2001:db8::20')).toMatchObject({ lladdr: '02:00:00:00:00:21', state: ['PERMANENT'] });

      await dp.setNeighbour({ dev: 'v0', ip: '192.0.2.20', mac: '02:00:00:00:00:22', state: 'stale' });
      neigh = await ipNeighbours(host());
      const replaced = neigh.filter((n) => field(n, 'dst') === '192.0.2.20');
      expect(replaced).toHaveLength(1);
      expect(replaced[0]).toMatchObject({ lladdr: '02:00:00:00:00:22', state: ['STALE'] });
      const listed = await dp.listNeighbours();
      expect(listed).toContainEqual(expect.objectContaining({ dev: 'v0', ip: '192.0.2.20', mac: '02:00:00:00:00:22', family: 4, state: 0x04 }));
      expect(listed).toContainEqual(expect.objectContaining({ ip: '2001:db8::20', family: 6, state: 0x80 }));

      await dp.deleteNeighbour({ dev: 'v0', ip: '192.0.2.20' });
      await dp.deleteNeighbour({ dev: 'v0', ip: '2001:db8::20' });
      neigh = await ipNeighbours(host());
      expect(neigh.map((n) => field(n, 'dst'))).not.toContain('192.0.2.20');
      expect(neigh.map((n) => field(n, 'dst'))).not.toContain('2001:db8::20');
      await dp.deleteNeighbour({ dev: 'v0', ip: '192.0.2.20' });
      await dp.deleteNeighbour({ dev: 'v0', ip: '2001:db8::20' });
    });

    it('reports a failure to its own call while the rest of a concurrent burst still runs', async () => {
      await wire();
      await dp.ensureBridge({ name: 'b1' });
      await dp.ensureBridge({ name: 'b2' });
      await execa('ip', ['netns', 'exec', host(), 'sysctl', '-qw', 'net.ipv6.conf.v0.disable_ipv6=1']);
      const results = await Promise.allSettled([
        dp.setLink({ name: 'b1', mtu: 1400 }),
        dp.setNeighbour({ dev: 'v0', ip: '2001:db8::5', mac: '02:00:00:00:00:05' }),
        dp.deleteNeighbour({ dev: 'v0', ip: '192.0.2.99' }),
        dp.setLink({ name: 'b2', mtu: 1400 }),
        dp.addAddress({ dev: 'b2', cidr: '192.0.2.33/24' }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      const failure = (results[1] as PromiseRejectedResult).reason as unknown;
      expect(failure).toBeInstanceOf(DataplaneError);
      expect((failure as DataplaneError).object).toContain('2001:db8::5');
      expect((failure as DataplaneError).code).toBe('EINVAL');
      expect((failure as DataplaneError).message).toMatch(/IPv6 is disabled/);
      expect((await ipLink(host(), 'b1'))!.mtu).toBe(1400);
      expect((await ipLink(host(), 'b2'))!.mtu).toBe(1400);
      expect((await ipAddresses(host())).map((a) => a.cidr)).toContain('192.0.2.33/24');
    });

    it('observe() matches ip -j for links, addresses, routes and neighbours', async () => {
      await wire();
      await dp.ensureBridge({ name: 'br0', up: true, master: undefined });
      await dp.setLink({ name: 'v0', master: 'br0' });
      await dp.addAddress({ dev: 'br0', cidr: '192.0.2.1/24' });
      await dp.addAddress({ dev: 'br0', cidr: '2001:db8::1/64', nodad: true });
      await dp.addRoute({ destination: '198.51.100.0/24', via: '192.0.2.254', table: 7 });
      await dp.setNeighbour({ dev: 'br0', ip: '192.0.2.9', mac: '02:00:00:00:00:09' });

      // The kernel keeps changing things on its own (IGMP/MLD neighbour entries, IPv6
      // link-local addresses): compare observe() with a witness that did not change around it.
      const witness = async (): Promise<string> => {
        const links = await ipLinks(host());
        const norm = (dst: string): string => (dst === 'default' || dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`);
        return JSON.stringify({
          links: links.map((l) => [l.ifindex, l.ifname, l.mtu, l.master === undefined ? null : links.find((m) => m.ifname === l.master)!.ifindex]).sort(),
          addresses: (await ipAddresses(host())).map((a) => `${a.dev} ${a.cidr}`).sort(),
          routes: (await ipRoutes(host())).map((r) =>
            `${String(field(r, 'table'))} ${norm(String(field(r, 'dst')))} ${String(field(r, 'dev'))} ${String(field(r, 'gateway') ?? null)}`).sort(),
          neighbours: (await ipNeighbours(host())).map((n) =>
            `${String(field(n, 'dev'))} ${String(field(n, 'dst'))} ${String(field(n, 'lladdr') ?? null)}`).sort(),
        });
      };
      for (let attempt = 1; ; attempt++) {
        const before = await witness();
        const state = await dp.observe();
        const after = await witness();
        if (before !== after && attempt < 10) continue;
        const seen = JSON.stringify({
          links: state.links.map((l) => [l.index, l.name, l.mtu, l.masterIndex]).sort(),
          addresses: state.addresses.map((a) => `${a.dev} ${a.cidr}`).sort(),
          routes: state.routes.map((r) => `${r.table} ${r.destination} ${r.dev} ${r.via}`).sort(),
          neighbours: state.neighbours.map((n) => `${n.dev} ${n.ip} ${n.mac}`).sort(),
        });
        expect(JSON.parse(seen)).toEqual(JSON.parse(after));
        break;
      }
    });
  });

  describe('bad input is refused with EINVAL/ENODEV/ENOENT and creates nothing', () => {
    afterEach(async () => {
      expect(await linkNames(host())).toEqual(['lo']);
      expect(await linkNames(other())).toEqual(['lo']);
    });

    it('a name of 16 bytes', async () => {
      await expectDataplaneError(dp.ensureBridge({ name: 'abcdefghijklmnop' }), 'EINVAL', /16 bytes/);
      await expectDataplaneError(dp.ensureVeth({ name: 'v0', peer: { name: 'abcdefghijklmnop', netns: other() } }), 'EINVAL', /16 bytes/);
    });

    it('VLAN id 0 and 4095', async () => {
      await dp.ensureBridge({ name: 'br0' });
      await expectDataplaneError(dp.ensureVlan({ name: 'br0.0', parent: 'br0', vlanId: 0 }), 'EINVAL', /VLAN id 0/);
      await expectDataplaneError(dp.ensureVlan({ name: 'br0.4095', parent: 'br0', vlanId: 4095 }), 'EINVAL', /VLAN id 4095/);
      await dp.deleteLink('br0');
    });

    it('a multicast MAC and a malformed MAC', async () => {
      await expectDataplaneError(dp.ensureBridge({ name: 'br0', mac: '01:00:5e:00:00:01' }), 'EINVAL', /multicast/);
      await expectDataplaneError(dp.ensureBridge({ name: 'br0', mac: '02:00:00:00:00' }), 'EINVAL', /not a MAC/);
      await expectDataplaneError(dp.ensureVeth({ name: 'v0', peer: { name: 'p0', mac: 'zz:00:00:00:00:01' } }), 'EINVAL', /not a MAC/);
    });

    it('a missing VLAN parent names the parent', async () => {
      await expectDataplaneError(dp.ensureVlan({ name: 'eth9.100', parent: 'eth9', vlanId: 100 }), 'ENODEV', /eth9/);
    });

    it('a veth whose peer namespace does not exist', async () => {
      await expectDataplaneError(
        dp.ensureVeth({ name: 'v0', peer: { name: 'p0', netns: 'hntest-does-not-exist' } }), 'ENOENT', /hntest-does-not-exist/);
    });

    it('MTU 10', async () => {
      await expectDataplaneError(dp.ensureBridge({ name: 'br0', mtu: 10 }), 'EINVAL', /MTU 10/);
    });

    it('deleteLinkGroup(0)', async () => {
      await ip(host(), 'link', 'add', 'keep0', 'type', 'bridge');
      await expectDataplaneError(dp.deleteLinkGroup(0), 'EINVAL', /group 0/);
      expect(await linkNames(host())).toEqual(['keep0', 'lo']);
      await ip(host(), 'link', 'del', 'keep0');
    });

    it('a master that does not exist: the bridge is not left behind', async () => {
      await expectDataplaneError(dp.ensureBridge({ name: 'br0', master: 'nosuch0' }), 'ENODEV', /nosuch0/);
    });

    it('a step after creation fails (alias too long): what was created is removed', async () => {
      const err: unknown = await dp.ensureBridge({ name: 'br0', alias: 'x'.repeat(300) }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DataplaneError);
    });
  });

  describe('namespaces', () => {
    it('opens a namespace given by path, and peers a veth into one given by path', async () => {
      const byPath = await backend.open(`/var/run/netns/${host()}`);
      try {
        const br = await byPath.ensureBridge({ name: 'brp', up: true });
        const v = await byPath.ensureVeth({ name: 'vp0', master: 'brp', peer: { name: 'vp1', netns: `/var/run/netns/${other()}`, up: true } });
        expect((await ipLink(host(), 'brp'))!.ifindex).toBe(br.index);
        expect((await ipLink(host(), 'vp0'))!.master).toBe('brp');
        expect((await ipLink(other(), 'vp1'))!.ifindex).toBe(v.linkIndex);
        expect((await ipLink(other(), 'vp1'))!.flags).toContain('UP');
      } finally {
        await byPath.close();
      }
    });

    it('refuses to open a namespace that does not exist (ENOENT)', async () => {
      await expectDataplaneError(backend.open('hntest-does-not-exist'), 'ENOENT', /hntest-does-not-exist/);
    });
  });

  it('without CAP_NET_ADMIN: EPERM with a message that says what is missing, nothing created', async () => {
    const result = await callWithoutNetAdmin(backend.name, host(), 'ensureBridge', [{ name: 'brperm' }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.name).toBe('DataplaneError');
    expect(result.code).toBe('EPERM');
    expect(result.message).toMatch(/CAP_NET_ADMIN/);
    expect(await ipLink(host(), 'brperm')).toBeUndefined();
  });
});
