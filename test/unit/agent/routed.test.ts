// The routed participant (agent/routed) with fake routes and sysctls: the planner's routes to add
// and remove (only hostnet's protocol, only what no attachment wants, nothing while teardown is
// held), conflicts and missing devices; the participant's switches set only when off and once
// per ifindex, a route deleted under it asking for a pass, and the Routed condition.
import { describe, expect, it } from 'vitest';
import type { DataplaneEvent, Link, Route, RouteSpec, WatchHandlers } from '../../../dataplane/types.js';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import type { PassContext } from '../../../agent/reconcile/participant.js';
import type { SysctlBatch } from '../../../dataplane/sysctl.js';
import { routedHostRoutes } from '../../../agent/routed/host-routes.js';
import { HOSTNET_ROUTE_PROTO, planHostRoutes } from '../../../agent/routed/plan.js';
import { RoutedParticipant } from '../../../agent/routed/participant.js';
import { ConditionStatus } from '../../../agent/api/gen/hostnet/v1/status.js';

const DESIRED = parseDesiredState(`
networks:
  - name: pub
    mode: ROUTED
    ipFamily: IPV4
    cidr: 10.95.0.0/24
    dhcp: { enabled: true, pools: [{ start: 10.95.0.10, end: 10.95.0.99 }], dnsServers: [10.95.0.53] }
attachments:
  - { name: r1, network: pub, veth: { ifName: hv-r1, peerNetns: /var/run/netns/r1, peerIfName: eth0 }, ip: { static: 10.95.0.11 } }
  - { name: r2, network: pub, tap: { ifName: tap-r2 }, mac: "52:54:00:95:00:02" }
`);

const ADDRS = {
  assigned: (a: { name: string }) => (a.name === 'r1' ? ['10.95.0.11'] : []),
  leased: (_n: string, mac: string) => (mac === '52:54:00:95:00:02' ? ['10.95.0.20'] : []),
};

let nextIndex = 10;
const link = (name: string, up = true, index = nextIndex++): Link => ({
  index, name, kind: 'veth', mtu: 1500, mac: null, alias: null, group: 0, up, lowerUp: up, operState: 'UP', masterIndex: null, linkIndex: null,
});
const route = (ip: string, dev: string, protocol = HOSTNET_ROUTE_PROTO): Route =>
  ({ family: 4, destination: `${ip}/32`, via: null, dev, protocol, table: 254, metric: 0, scope: 253, type: 1 });

describe('planHostRoutes', () => {
  const routes = routedHostRoutes(DESIRED, ADDRS);
  const links = [link('hv-r1'), link('tap-r2')];

  it('adds the missing /32s, keeps those in place and removes only unwanted routes of its protocol', () => {
    expect(routes.map((r) => `${r.ip} ${r.dev}`)).toEqual(['10.95.0.11 hv-r1', '10.95.0.20 tap-r2']);
    const p = planHostRoutes(routes, links, [route('10.95.0.11', 'hv-r1'), route('10.95.0.77', 'hv-gone')], true);
    expect(p.add.map((r) => r.ip)).toEqual(['10.95.0.20']);
    expect(p.remove.map((r) => r.destination)).toEqual(['10.95.0.77/32']);
    expect([...p.wanted]).toEqual([['10.95.0.11/32', 'hv-r1'], ['10.95.0.20/32', 'tap-r2']]);
  });

  it('removes nothing while teardown is held; re-adds a route that goes through another device', () => {
    const p = planHostRoutes(routes, links, [route('10.95.0.11', 'tap-r2'), route('10.95.0.77', 'x')], false);
    expect(p.add.map((r) => `${r.ip} ${r.dev}`)).toEqual(['10.95.0.11 hv-r1', '10.95.0.20 tap-r2']);
    expect(p.remove).toEqual([]);
  });

  it('a missing or down device blocks its route; an address two attachments claim goes to the first', () => {
    const p = planHostRoutes(routes, [link('tap-r2', false)], [], true);
    expect(p.add).toEqual([]);
    expect(p.blocked.map((b) => `${b.route.attachment} ${b.reason}`)).toEqual(['r1 DeviceMissing', 'r2 DeviceDown']);
    const dup = planHostRoutes([...routes, { network: 'pub', attachment: 'r3', dev: 'hv-r3', ip: '10.95.0.11', family: 4 }], links, [], true);
    expect(dup.blocked.map((b) => `${b.route.attachment} ${b.reason}`)).toEqual(['r3 AddressConflict']);
    // The conflicting route's destination is still owned: never removed as unwanted.
    expect(planHostRoutes([...routes], links, [route('10.95.0.11', 'hv-r1')], true).remove).toEqual([]);
  });
});

function fakes(sysctlInit: Record<string, string>) {
  const kernel = new Map<string, Route>();
  const sysctls = new Map(Object.entries(sysctlInit));
  const writes: Array<Array<readonly [string, string]>> = [];
  const reads: string[][] = [];
  let handlers: WatchHandlers | null = null;
  const drifts: string[] = [];
  const dp = {
    listRoutes: async () => [...kernel.values(), route('10.0.0.0', 'eth0', 2)],
    addRoute: async (s: RouteSpec) => {
      const r = route(s.destination.replace('/32', ''), s.dev!, s.protocol);
      kernel.set(s.destination, r);
      handlers?.onEvent({ kind: 'route', action: 'new', route: r });
    },
    deleteRoute: async (s: RouteSpec) => {
      const r = kernel.get(s.destination);
      kernel.delete(s.destination);
      if (r) handlers?.onEvent({ kind: 'route', action: 'del', route: r });
    },
    watch: async (h: WatchHandlers) => {
      handlers = h;
      return { close() {}, pause() {}, resume() {}, flush: async () => true };
    },
  };
  const sysctl: SysctlBatch = {
    // The kernel's defaults: forwarding and proxy_arp off, proxy_delay 80 jiffies.
    read: async (keys) => {
      reads.push([...keys]);
      return new Map(keys.map((k) => [k, sysctls.get(k) ?? (k.endsWith('proxy_delay') ? '80' : '0')]));
    },
    write: async (values) => {
      writes.push([...values]);
      for (const [k, v] of values) sysctls.set(k, v);
    },
  };
  const p = new RoutedParticipant({ dp, sysctl, addresses: () => ADDRS, onDrift: (why) => drifts.push(why) });
  const emit = (e: DataplaneEvent): void => handlers!.onEvent(e);
  return { kernel, sysctls, writes, reads, drifts, p, emit };
}

const ctx = (links: Link[], refresh = false): PassContext =>
  ({ desired: DESIRED, observed: { links, addresses: [], routes: [], neighbours: [] }, holdTeardown: false, refresh, held: new Map() });

async function pass(p: RoutedParticipant, c: PassContext) {
  const plan = await p.plan(c);
  const outcome = await p.apply(plan, c);
  return { plan, outcome, report: p.report(c, [...plan.problems, ...outcome.failures.flatMap((f) => (f.problem ? [f.problem] : []))]) };
}

describe('RoutedParticipant', () => {
  it('routes, switches once per ifindex, repairs a deleted route, reports Routed', async () => {
    const f = fakes({ 'net/ipv4/conf/hv-r1/proxy_arp': '1' });
    const links = [link('hv-r1'), link('tap-r2')];
    const first = await pass(f.p, ctx(links));
    expect(first.outcome.failures).toEqual([]);
    expect([...f.kernel.keys()].sort()).toEqual(['10.95.0.11/32', '10.95.0.20/32']);
    expect(f.kernel.get('10.95.0.11/32')!.protocol).toBe(104);
    // Only what was off: hv-r1's proxy_arp was on already.
    // One write for both devices.
    expect(f.writes).toEqual([[
      ['net/ipv4/conf/hv-r1/forwarding', '1'], ['net/ipv4/neigh/hv-r1/proxy_delay', '0'],
      ['net/ipv4/conf/tap-r2/forwarding', '1'], ['net/ipv4/conf/tap-r2/proxy_arp', '1'], ['net/ipv4/neigh/tap-r2/proxy_delay', '0'],
    ]]);
    expect(first.plan.steps[0]!.description).toBe('set conf.forwarding=1, neigh.proxy_delay=0 on hv-r1; conf.forwarding=1, conf.proxy_arp=1, neigh.proxy_delay=0 on tap-r2');
    const r1 = first.report.find((r) => r.resource.name === 'r1')!.conditions[0]!;
    expect(r1).toMatchObject({ type: 'Routed', status: ConditionStatus.CONDITION_STATUS_TRUE, message: '10.95.0.11/32 via hv-r1' });

    // Converged: nothing to do, nothing read.
    expect((await f.p.plan(ctx(links))).steps).toEqual([]);

    // Deleted by hand: the event asks for a pass, which puts it back.
    const gone = f.kernel.get('10.95.0.11/32')!;
    f.kernel.delete('10.95.0.11/32');
    f.emit({ kind: 'route', action: 'del', route: gone });
    expect(f.drifts).toEqual(['host route 10.95.0.11/32 deleted']);
    const again = await pass(f.p, ctx(links));
    expect(again.plan.steps.map((s) => s.op)).toEqual(['addHostRoute']);
    expect(f.kernel.has('10.95.0.11/32')).toBe(true);

    // A recreated device (new ifindex) gets its switches again (the kernel's defaults are off).
    for (const k of [...f.sysctls.keys()]) if (k.includes('/hv-r1/')) f.sysctls.delete(k);
    // The kernel drops the device's routes with it, without a route event.
    f.kernel.delete('10.95.0.11/32');
    f.emit({ kind: 'link', action: 'del', link: links[0]! });
    expect(f.drifts.at(-1)).toBe('routed device hv-r1 deleted');
    const recreated = [link('hv-r1'), links[1]!];
    const third = await pass(f.p, ctx(recreated));
    expect(third.plan.steps.map((s) => s.op)).toEqual(['setRoutedSysctls', 'addHostRoute']);
  });

  it('devices made since the last plan get every switch written without a read; the first plan after a start reads them', async () => {
    const f = fakes({ 'net/ipv4/conf/hv-r1/proxy_arp': '1' });
    await pass(f.p, ctx([]));
    const links = [link('hv-r1'), link('tap-r2')];
    const made = await pass(f.p, ctx(links));
    expect(made.outcome.failures).toEqual([]);
    expect(f.reads.flat()).toEqual([]);
    // Written whole, hv-r1's proxy_arp too (it was on: writing it again changes nothing).
    expect(f.writes).toEqual([[
      ['net/ipv4/conf/hv-r1/forwarding', '1'], ['net/ipv4/conf/hv-r1/proxy_arp', '1'], ['net/ipv4/neigh/hv-r1/proxy_delay', '0'],
      ['net/ipv4/conf/tap-r2/forwarding', '1'], ['net/ipv4/conf/tap-r2/proxy_arp', '1'], ['net/ipv4/neigh/tap-r2/proxy_delay', '0'],
    ]]);
    expect((await f.p.plan(ctx(links))).steps).toEqual([]);
    // A new participant (an agent restart) finds the devices there: it reads, and writes nothing right already.
    const restarted = fakes({ 'net/ipv4/conf/hv-r1/forwarding': '1', 'net/ipv4/conf/hv-r1/proxy_arp': '1', 'net/ipv4/neigh/hv-r1/proxy_delay': '0' });
    const after = await restarted.p.plan(ctx([link('hv-r1')]));
    expect(restarted.reads.flat()).toEqual(['net/ipv4/conf/hv-r1/forwarding', 'net/ipv4/conf/hv-r1/proxy_arp', 'net/ipv4/neigh/hv-r1/proxy_delay']);
    expect(after.steps.filter((s) => s.op === 'setRoutedSysctls')).toEqual([]);
  });

  it('an agent restart adopts the routes: nothing removed, nothing re-added', async () => {
    const f = fakes({});
    f.kernel.set('10.95.0.11/32', route('10.95.0.11', 'hv-r1'));
    f.kernel.set('10.95.0.20/32', route('10.95.0.20', 'tap-r2'));
    const plan = await f.p.plan(ctx([link('hv-r1'), link('tap-r2')]));
    expect(plan.steps.filter((s) => s.op !== 'setRoutedSysctls')).toEqual([]);
  });

  it('an attachment without an address waits for its lease; a missing device is Routed False', async () => {
    const f = fakes({});
    const noLease = new RoutedParticipant({
      dp: { listRoutes: async () => [], addRoute: async () => {}, deleteRoute: async () => {}, watch: async () => ({ close() {}, pause() {}, resume() {}, flush: async () => true }) },
      sysctl: { read: async (keys) => new Map(keys.map((k) => [k, '0'])), write: async () => {} },
      addresses: () => ({ assigned: ADDRS.assigned, leased: () => [] }),
      onDrift: () => {},
    });
    const r = await pass(noLease, ctx([link('tap-r2')]));
    const by = (name: string) => r.report.find((x) => x.resource.name === name)!.conditions[0]!;
    expect(by('r2')).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'AwaitingLease' });
    expect(by('r1')).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_FALSE, reason: 'DeviceMissing' });
    expect(f.drifts).toEqual([]);
  });
});

describe('RoutedParticipant while teardown is held', () => {
  it('keeps a route no attachment wants and does not ask for passes about it', async () => {
    const f = fakes({});
    f.kernel.set('10.95.0.77/32', route('10.95.0.77', 'hv-r1'));
    const held: PassContext = { ...ctx([link('hv-r1'), link('tap-r2')]), holdTeardown: true };
    const r = await pass(f.p, held);
    expect(r.plan.steps.filter((s) => s.op === 'deleteHostRoute')).toEqual([]);
    expect(f.kernel.has('10.95.0.77/32')).toBe(true);
    expect(f.drifts).toEqual([]);
    const after = await pass(f.p, ctx([link('hv-r1'), link('tap-r2')]));
    expect(after.plan.steps.filter((s) => s.op === 'deleteHostRoute').map((s) => s.description)).toEqual(['delete host route 10.95.0.77/32 dev hv-r1: no attachment has that address']);
  });
});

describe('RoutedParticipant failures', () => {
  it('a failed switch write or route is Routed False for its attachments, and tried again', async () => {
    let failSysctl = true;
    let failRoute = true;
    const added: string[] = [];
    const p = new RoutedParticipant({
      dp: {
        listRoutes: async () => added.map((d) => route(d.replace('/32', ''), d === '10.95.0.11/32' ? 'hv-r1' : 'tap-r2')),
        addRoute: async (s) => { if (failRoute && s.dev === 'tap-r2') throw new Error('replace route 10.95.0.20/32: ENETDOWN'); added.push(s.destination); },
        deleteRoute: async () => {},
        watch: async () => ({ close() {}, pause() {}, resume() {}, flush: async () => true }),
      },
      sysctl: {
        read: async (keys) => new Map(keys.map((k) => [k, '0'])),
        write: async () => { if (failSysctl) throw new Error('set sysctl net/ipv4/conf/hv-r1/proxy_arp: EIO'); },
      },
      addresses: () => ADDRS,
      onDrift: () => {},
    });
    const links = [link('hv-r1'), link('tap-r2')];
    const r = await pass(p, ctx(links));
    const by = (name: string) => r.report.find((x) => x.resource.name === name)!.conditions[0]!;
    expect(by('r1')).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_FALSE, reason: 'SysctlFailed' });
    expect(by('r2').status).toBe(ConditionStatus.CONDITION_STATUS_FALSE);
    expect(added).toEqual(['10.95.0.11/32']);
    failSysctl = false;
    failRoute = false;
    const again = await pass(p, ctx(links));
    // The failed route made the record unknown: read again, only the missing one is added.
    expect(again.plan.steps.map((s) => s.op)).toEqual(['setRoutedSysctls', 'addHostRoute']);
    expect(again.report.every((x) => x.conditions[0]!.status === ConditionStatus.CONDITION_STATUS_TRUE)).toBe(true);
  });
});
