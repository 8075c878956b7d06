// What only the netlink backend has: namespace binding, the kernel's own error text, request
// timeouts, concurrent requests on one socket, and the event monitor with its resync signal.
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DataplaneError } from '../../dataplane/errors.js';
import { openNetlinkDataplane } from '../../dataplane/netlink/backend.js';
import { KernelMonitor, type KernelEvent } from '../../dataplane/netlink/monitor.js';
import { NetlinkSocket } from '../../dataplane/netlink/socket.js';
import * as nl from '../../dataplane/nl/index.js';
import { NLM_F_ACK } from '../../dataplane/nl/constants.js';
import { ip, ipLink, ipLinks } from '../../dataplane/testing/ip.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(2);

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`never happened: ${what}`);
}

describe('netlink socket', () => {
  it('works inside its namespace and leaves the calling thread where it was', async () => {
    const home = readlinkSync('/proc/thread-self/ns/net');
    const a = await openNetlinkDataplane(ns[0]!);
    const b = await openNetlinkDataplane(ns[1]!);
    try {
      await a.ensureBridge({ name: 'br-only-a' });
      expect(readlinkSync('/proc/thread-self/ns/net')).toBe(home);
      expect(await ipLink(ns[0]!, 'br-only-a')).toBeDefined();
      expect(await ipLink(ns[1]!, 'br-only-a')).toBeUndefined();
      expect(await b.getLink('br-only-a')).toBeNull();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("looks up a device's index and name in its own namespace without a message (SIOCGIFINDEX/SIOCGIFNAME), null when there is none", async () => {
    await ip(ns[0]!, 'link', 'add', 'ix0', 'type', 'veth', 'peer', 'name', 'ix1');
    const a = NetlinkSocket.open({ netns: ns[0]! });
    const b = NetlinkSocket.open({ netns: ns[1]! });
    try {
      const ctx = { op: 'test', object: 'ix0' };
      const requests = a.requestCount;
      expect(a.indexOf('ix0', ctx)).toBe((await ipLink(ns[0]!, 'ix0'))!.ifindex);
      expect(a.indexOf('ix1', ctx)).toBe((await ipLink(ns[0]!, 'ix1'))!.ifindex);
      expect(a.requestCount).toBe(requests);
      expect(a.indexOf('nope0', ctx)).toBeNull();
      // And back: the name of an index (what the watch needs for a route through a new device).
      expect(a.nameOf((await ipLink(ns[0]!, 'ix1'))!.ifindex, ctx)).toBe('ix1');
      expect(a.nameOf(99999, ctx)).toBeNull();
      expect(b.nameOf((await ipLink(ns[0]!, 'ix1'))!.ifindex, ctx)).toBeNull();
      // The other namespace has no such device (its loopback is down but there).
      expect(b.indexOf('ix0', ctx)).toBeNull();
      expect(b.indexOf('lo', ctx)).toBe(1);
    } finally {
      a.close();
      b.close();
    }
  });

  it("surfaces the kernel's extended-ack message with the errno name", async () => {
    await ip(ns[0]!, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    const sock = NetlinkSocket.open({ netns: ns[0]! });
    try {
      // MTU 10 passes no check of ours here (raw request): the kernel refuses it in words.
      const err = await sock.ack(nl.changeLinkRequest({ name: 'v0' }, { mtu: 10 }), { op: 'set link', object: 'v0' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataplaneError);
      expect((err as DataplaneError).code).toBe('EINVAL');
      expect((err as DataplaneError).message).toMatch(/^set link v0: EINVAL: .*mtu/i);
    } finally {
      sock.close();
    }
  });

  it('times out a request the kernel never answers, and stays usable', async () => {
    await ip(ns[0]!, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    const sock = NetlinkSocket.open({ netns: ns[0]!, timeoutMs: 300 });
    try {
      // A change request without NLM_F_ACK succeeds silently: no answer ever comes.
      const change = nl.changeLinkRequest({ name: 'v0' }, { mtu: 1400 });
      const silent = { ...change, flags: change.flags & ~NLM_F_ACK };
      const err = await sock.get(silent, { op: 'set link', object: 'v0' }, (m) => m).catch((e: unknown) => e);
      expect((err as DataplaneError).code).toBe('ETIMEDOUT');
      expect((err as DataplaneError).message).toContain('no answer from the kernel within 300 ms');
      expect((await ipLink(ns[0]!, 'v0'))?.mtu).toBe(1400);
      await sock.ack(nl.changeLinkRequest({ name: 'v0' }, { mtu: 1300 }), { op: 'set link', object: 'v0' });
      expect((await ipLink(ns[0]!, 'v0'))?.mtu).toBe(1300);
    } finally {
      sock.close();
    }
  });

  it('serves 200 concurrent operations on one socket', async () => {
    const dp = await openNetlinkDataplane(ns[0]!);
    try {
      await dp.ensureBridge({ name: 'br0', up: true });
      await Promise.all(Array.from({ length: 200 }, (_, i) =>
        dp.ensureVeth({ name: `c${i}`, master: 'br0', alias: `hostnet:attachment:c${i}`, group: 9, up: true, peer: { name: `c${i}p`, netns: ns[1]!, up: true } })));
      const host = (await ipLinks(ns[0]!)).filter((l) => l.ifname.startsWith('c'));
      const peers = (await ipLinks(ns[1]!)).filter((l) => l.ifname.startsWith('c'));
      expect(host).toHaveLength(200);
      expect(peers).toHaveLength(200);
      expect(host.every((l) => l.master === 'br0' && l.ifalias === `hostnet:attachment:${l.ifname}` && l.flags.includes('UP'))).toBe(true);
      expect(peers.every((l) => l.flags.includes('UP'))).toBe(true);
      await dp.deleteLinkGroup(9);
      expect((await ipLinks(ns[0]!)).filter((l) => l.ifname.startsWith('c'))).toHaveLength(0);
    } finally {
      await dp.close();
    }
  });
});

describe('kernel monitor', () => {
  it('reports link and address events made by someone else', async () => {
    const events: KernelEvent[] = [];
    const monitor = KernelMonitor.open(ns[0]!, { onEvent: (e) => events.push(e), onResync: () => undefined });
    try {
      await ip(ns[0]!, 'link', 'add', 'br-x', 'type', 'bridge');
      await ip(ns[0]!, 'addr', 'add', '192.0.2.1/24', 'dev', 'br-x');
      await ip(ns[0]!, 'link', 'del', 'br-x');
      await until('events for br-x', () => events.some((e) => e.kind === 'link' && e.action === 'del' && e.link.name === 'br-x'));
      expect(events.some((e) => e.kind === 'link' && e.action === 'new' && e.link.name === 'br-x' && e.link.kind === 'bridge')).toBe(true);
      expect(events.some((e) => e.kind === 'address' && e.action === 'new' && e.address.ip === '192.0.2.1')).toBe(true);
    } finally {
      monitor.close();
    }
  });

  it('asks for a resync when the kernel drops events (ENOBUFS), and keeps delivering events after', async () => {
    let resyncs = 0;
    const names: string[] = [];
    const monitor = KernelMonitor.open(ns[0]!, {
      onEvent: (e) => {
        if (e.kind === 'link') names.push(e.link.name);
      },
      onResync: () => resyncs++,
    }, { receiveBufferBytes: 4096 });
    try {
      // Block our event loop while 300 devices appear: the small buffer must overflow.
      const lines = Array.from({ length: 150 }, (_, i) => `link add o${i} type veth peer name o${i}p`).join('\n');
      execFileSync('ip', ['-n', ns[0]!, '-batch', '-'], { input: `${lines}\n` });
      await until('a resync request', () => resyncs > 0);
      expect(resyncs).toBeGreaterThan(0);
      // The overflow is a socket error, after which libuv stops a poll watcher: events must
      // still arrive (an agent would otherwise miss every later drift).
      await new Promise((r) => setTimeout(r, 200));
      await ip(ns[0]!, 'link', 'add', 'after-overflow', 'type', 'bridge');
      await until('an event after the overflow', () => names.includes('after-overflow'));
    } finally {
      monitor.close();
    }
  });
});
