// Dataplane.watch() on every backend: what the kernel did (done and witnessed with raw `ip`)
// arrives as events with the right name and ifindex, and close() stops them.
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Dataplane, DataplaneEvent, DataplaneWatch } from '../../dataplane/types.js';
import { ip, ipLink } from '../../dataplane/testing/ip.js';
import { assertNoLeftoverTestNetns } from '../lib/leftovers.js';
import { useNetns } from '../lib/netns.js';
import { backends } from './backends.js';
import { ipMonitorPids } from '../lib/ip-monitor-pids.js';
import { waitFor as waitForValue } from '../lib/wait-for.js';

afterAll(async () => {
  await assertNoLeftoverTestNetns(process.pid);
});

/** test/lib/wait-for.ts, polling every 10 ms, 5 s unless told. */
const waitFor = <T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> => waitForValue(what, probe, timeoutMs, 10);

describe.each(backends)('$name backend: watch', (backend) => {
  const ns = useNetns(1);
  let dp: Dataplane;
  let watch: DataplaneWatch | null = null;
  const events: DataplaneEvent[] = [];
  const resyncs: string[] = [];
  const handlers = { onEvent: (e: DataplaneEvent) => events.push(e), onResync: (why: string) => resyncs.push(why) };

  beforeEach(async () => {
    events.length = 0;
    resyncs.length = 0;
    dp = await backend.open(ns[0]!);
  });
  afterEach(async () => {
    watch?.close();
    watch = null;
    await dp?.close();
  });

  it('reports a created link, an address on it and its deletion with the right name and ifindex', async () => {
    watch = await dp.watch(handlers);
    // Made with raw ip, not the backend: the events must come from the kernel.
    await ip(ns[0]!, 'link', 'add', 'wbr0', 'type', 'bridge');
    const witness = await ipLink(ns[0]!, 'wbr0');
    const index = witness!.ifindex;

    const created = await waitFor('the new link', () =>
      events.find((e) => e.kind === 'link' && e.action === 'new' && e.link.name === 'wbr0'));
    // A full Link (kind and bridge data too), not only what an event line says.
    expect(created.kind === 'link' && created.link).toMatchObject({ index, name: 'wbr0', kind: 'bridge', bridge: { stp: false } });

    await ip(ns[0]!, 'address', 'add', '10.77.0.1/24', 'dev', 'wbr0');
    const added = await waitFor('the address', () =>
      events.find((e) => e.kind === 'address' && e.action === 'new' && e.address.cidr === '10.77.0.1/24'));
    expect(added.kind === 'address' && added.address).toMatchObject({ index, dev: 'wbr0', family: 4 });

    await ip(ns[0]!, 'link', 'del', 'wbr0');
    const deleted = await waitFor('the deletion', () => events.find((e) => e.kind === 'link' && e.action === 'del'));
    expect(deleted.kind === 'link' && deleted.link).toMatchObject({ index, name: 'wbr0' });
    expect(events.filter((e) => e.kind === 'address' && e.action === 'del' && e.address.cidr === '10.77.0.1/24')).toHaveLength(1);
    expect(resyncs).toEqual([]);
  });

  it('names the device of a route through a device made before the watch started (no link event for it)', async () => {
    await ip(ns[0]!, 'link', 'add', 'wr0', 'type', 'veth', 'peer', 'name', 'wr1');
    await ip(ns[0]!, 'link', 'set', 'wr0', 'up');
    const index = (await ipLink(ns[0]!, 'wr0'))!.ifindex;
    watch = await dp.watch(handlers, ['link', 'route']);
    await ip(ns[0]!, 'route', 'add', '10.78.0.9/32', 'dev', 'wr0', 'proto', '104');
    await ip(ns[0]!, 'route', 'add', '10.78.0.10/32', 'dev', 'wr0', 'proto', '104');
    const routes = await waitFor('both routes', () => {
      const r = events.flatMap((e) => (e.kind === 'route' && e.action === 'new' && e.route.protocol === 104 ? [e.route] : []));
      return r.length === 2 ? r : undefined;
    });
    // In the order the kernel made them, each with its device's name.
    expect(routes.map((r) => [r.destination, r.dev])).toEqual([['10.78.0.9/32', 'wr0'], ['10.78.0.10/32', 'wr0']]);
    expect(index).toBeGreaterThan(1);
  });

  it('a port leaving its bridge is not reported as a deleted link', async () => {
    await ip(ns[0]!, 'link', 'add', 'wbr1', 'type', 'bridge');
    await ip(ns[0]!, 'link', 'add', 'wp0', 'type', 'veth', 'peer', 'name', 'wp1');
    await ip(ns[0]!, 'link', 'set', 'wp0', 'master', 'wbr1');
    watch = await dp.watch(handlers, ['link']);
    await ip(ns[0]!, 'link', 'set', 'wp0', 'nomaster');
    await ip(ns[0]!, 'link', 'set', 'lo', 'mtu', '65000'); // a marker after it
    await waitFor('the marker', () => events.find((e) => e.kind === 'link' && e.link.name === 'lo' && e.link.mtu === 65000));
    expect(events.filter((e) => e.action === 'del')).toEqual([]);
    const detached = events.flatMap((e) => (e.kind === 'link' && e.link.name === 'wp0' ? [e.link] : []));
    expect(detached.length).toBeGreaterThan(0);
    expect(detached.at(-1)!.masterIndex).toBeNull();
  });

  it('only the asked kinds are reported', async () => {
    watch = await dp.watch(handlers, ['address']);
    await ip(ns[0]!, 'link', 'add', 'wbr2', 'type', 'bridge');
    await ip(ns[0]!, 'address', 'add', '10.78.0.1/24', 'dev', 'wbr2');
    await waitFor('the address', () => events.find((e) => e.kind === 'address' && e.address.cidr === '10.78.0.1/24'));
    expect(events.filter((e) => e.kind !== 'address')).toEqual([]);
  });

  it('pause() discards events unread until resume(), then they flow again', async () => {
    watch = await dp.watch(handlers, ['link']);
    await ip(ns[0]!, 'link', 'add', 'wbr5', 'type', 'bridge');
    await waitFor('the first link', () => events.find((e) => e.kind === 'link' && e.link.name === 'wbr5'));
    watch.pause();
    await ip(ns[0]!, 'link', 'add', 'wbr6', 'type', 'bridge');
    await new Promise((r) => setTimeout(r, 300));
    expect(events.filter((e) => e.kind === 'link' && e.link.name === 'wbr6')).toEqual([]);
    watch.resume();
    await ip(ns[0]!, 'link', 'set', 'wbr6', 'mtu', '1400');
    const after = await waitFor('an event after resume', () =>
      events.find((e) => e.kind === 'link' && e.link.name === 'wbr6' && e.link.mtu === 1400));
    expect(after.kind === 'link' && after.link.kind).toBe('bridge');
    expect(resyncs).toEqual([]);
  });

  it('resume() also discards what was queued while paused and not read yet (netlink)', async () => {
    watch = await dp.watch(handlers, ['link']);
    watch.pause();
    // Made while this thread is blocked: the kernel queues the events, nothing reads them.
    execFileSync('ip', ['-n', ns[0]!, 'link', 'add', 'wbr7', 'type', 'bridge']);
    watch.resume();
    await ip(ns[0]!, 'link', 'set', 'lo', 'mtu', '65001'); // a marker after it
    await waitFor('the marker', () => events.find((e) => e.kind === 'link' && e.link.name === 'lo' && e.link.mtu === 65001));
    // ip monitor's output waits in a pipe the backend reads later: it arrives after resume.
    if (backend.name === 'netlink') expect(events.filter((e) => e.kind === 'link' && e.link.name === 'wbr7')).toEqual([]);
    expect(resyncs).toEqual([]);
  });

  it('close() stops the events', async () => {
    watch = await dp.watch(handlers);
    await ip(ns[0]!, 'link', 'add', 'wbr3', 'type', 'bridge');
    await waitFor('the first link', () => events.find((e) => e.kind === 'link' && e.link.name === 'wbr3'));
    watch.close();
    watch.close(); // idempotent
    const seen = events.length;
    await ip(ns[0]!, 'link', 'add', 'wbr4', 'type', 'bridge');
    await ip(ns[0]!, 'address', 'add', '10.79.0.1/24', 'dev', 'wbr4');
    await new Promise((r) => setTimeout(r, 300));
    expect(events.length).toBe(seen);
    if (backend.name === 'iproute2') {
      const deadline = Date.now() + 2000;
      while ((await ipMonitorPids(ns[0]!)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await ipMonitorPids(ns[0]!)).toEqual([]);
    }
  });

  if (backend.name === 'iproute2') {
    it('a monitor that dies is restarted, onResync is called, and events flow again', async () => {
      watch = await dp.watch(handlers);
      const [pid] = await ipMonitorPids(ns[0]!);
      expect(pid).toBeDefined();
      process.kill(pid!, 'SIGKILL');
      const why = await waitFor('onResync', () => resyncs[0]);
      expect(why).toMatch(/ip monitor ended \(signal SIGKILL\)/);
      const [again] = await ipMonitorPids(ns[0]!);
      expect(again).toBeDefined();
      expect(again).not.toBe(pid);
      await ip(ns[0]!, 'link', 'add', 'wbr5', 'type', 'bridge');
      await waitFor('a link after the restart', () => events.find((e) => e.kind === 'link' && e.link.name === 'wbr5'));
    });
  }
});
