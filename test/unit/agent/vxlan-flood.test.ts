// VXLAN flood lists (agent/vxlan): the pure planner (which entries a device lacks and which go),
// and the participant against an in-memory FDB: a pass adds exactly the missing entries and
// removes only stale all-zeros ones, a converged pass reads and writes nothing, FDB events
// (a hand-deleted entry) ask for a pass, refresh and lost events read again, failures become a
// False UplinkReady, status remoteVteps, and a network whose device is not there yet is skipped.
import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import type { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { ConditionStatus } from '../../../agent/api/gen/hostnet/v1/status.js';
import { ownerAlias } from '../../../agent/naming.js';
import type { PassContext } from '../../../agent/reconcile/participant.js';
import { compareIps, FLOOD_MAC, floodNetworkOf, planFloodEntries, type FloodNetwork } from '../../../agent/vxlan/flood-plan.js';
import { FloodListParticipant } from '../../../agent/vxlan/flood-participant.js';
import type { DataplaneEvent, DataplaneWatch, FdbEntry, FdbSpec, Link, ObservedState, WatchHandlers } from '../../../dataplane/types.js';

const Z = FLOOD_MAC;
const DEV = { port: 4789, vni: 4242 };
const entry = (dst: string, extra: Partial<FdbEntry> = {}): FdbEntry =>
  ({ index: 9, dev: 'hnvx4242', mac: Z, dst, self: true, master: false, state: 'permanent', ...extra });
const flood = (remotes: string[], port?: number): FloodNetwork => ({ network: 'blue', dev: 'hnvx4242', remotes, ...(port ? { port } : {}) });

describe('planFloodEntries', () => {
  it('an empty device gets one entry per remote, the device port left out', () => {
    const c = planFloodEntries(flood(['10.0.0.2', '10.0.0.3']), DEV, []);
    expect(c.add).toEqual([{ dev: 'hnvx4242', mac: Z, dst: '10.0.0.2' }, { dev: 'hnvx4242', mac: Z, dst: '10.0.0.3' }]);
    expect(c.remove).toEqual([]);
    expect(c.present).toEqual([]);
  });

  it('adds only what is missing, removes only all-zeros entries of remotes not listed', () => {
    const c = planFloodEntries(flood(['10.0.0.2', '10.0.0.4']), DEV, [
      entry('10.0.0.2'), entry('10.0.0.3'),
      entry('10.0.0.9', { mac: '02:00:00:00:00:01' }), // another MAC's entry: never touched
      entry('10.0.0.8', { self: false, master: true }), // the bridge's, not the device's
    ]);
    expect(c.add).toEqual([{ dev: 'hnvx4242', mac: Z, dst: '10.0.0.4' }]);
    expect(c.remove).toEqual([{ dev: 'hnvx4242', mac: Z, dst: '10.0.0.3' }]);
    expect(c.present).toEqual(['10.0.0.2']);
  });

  it('a listed remote with another port or VNI is replaced; the device port reads as none', () => {
    const c = planFloodEntries(flood(['10.0.0.2', '10.0.0.3']), DEV, [entry('10.0.0.2', { port: 4790 }), entry('10.0.0.3', { vni: 7 })]);
    expect(c.remove).toEqual([{ dev: 'hnvx4242', mac: Z, dst: '10.0.0.2', port: 4790 }, { dev: 'hnvx4242', mac: Z, dst: '10.0.0.3', vni: 7 }]);
    expect(c.add.map((a) => a.dst)).toEqual(['10.0.0.2', '10.0.0.3']);
    // An explicit port equal to the device's own is the same entry.
    expect(planFloodEntries(flood(['10.0.0.2']), DEV, [entry('10.0.0.2', { port: 4789, vni: 4242 })]).add).toEqual([]);
  });

  it("the uplink's own port, when it is not the device's, is written and matched", () => {
    const f = flood(['10.0.0.2'], 8472);
    expect(planFloodEntries(f, DEV, []).add).toEqual([{ dev: 'hnvx4242', mac: Z, dst: '10.0.0.2', port: 8472 }]);
    expect(planFloodEntries(f, DEV, [entry('10.0.0.2', { port: 8472 })]).add).toEqual([]);
    expect(planFloodEntries(f, { port: 8472, vni: 4242 }, [entry('10.0.0.2')]).add).toEqual([]);
  });

  it('IPv6 remotes compare in canonical form; present is in numeric order', () => {
    const c = planFloodEntries(flood(['2001:db8::2', '10.0.0.10', '10.0.0.9']), DEV,
      [entry('2001:DB8:0::2'), entry('10.0.0.10'), entry('10.0.0.9')]);
    expect(c.add).toEqual([]);
    expect(c.remove).toEqual([]);
    expect(c.present).toEqual(['10.0.0.9', '10.0.0.10', '2001:db8::2']);
    expect(['10.0.0.10', '10.0.0.9'].sort(compareIps)).toEqual(['10.0.0.9', '10.0.0.10']);
  });

  it('floodNetworkOf: only VXLAN uplinks with remotes', () => {
    const d = state(['10.0.0.2']);
    expect(floodNetworkOf(d.networks[0]!)).toEqual({ network: 'blue', dev: 'hnvx4242', remotes: ['10.0.0.2'] });
    expect(floodNetworkOf(parseDesiredState('networks: [{ name: red, ipFamily: IPV4, cidr: 10.9.0.0/24, uplink: { vxlan: { vni: 9, remote: 10.0.0.2 } } }]').networks[0]!)).toBeNull();
  });
});

function state(remotes: string[], port?: number): DesiredState {
  return parseDesiredState(`
networks:
  - name: blue
    ipFamily: IPV4
    cidr: 10.78.1.0/24
    uplink: { vxlan: { vni: 4242, local: 10.0.0.1${remotes.length ? `, remotes: [${remotes.join(', ')}]` : ''}${port ? `, port: ${port}` : ''} } }
`);
}

const vx = (index = 9, alias = ownerAlias('vxlan', 'blue')): Link => ({
  index, name: 'hnvx4242', kind: 'vxlan', mtu: 1450, mac: '02:00:00:00:00:09', alias, group: 0, up: true, lowerUp: true,
  operState: 'UNKNOWN', masterIndex: null, linkIndex: null, vxlan: { vni: 4242, port: 4789, learning: false, local: '10.0.0.1', remote: null },
});
const observed = (links: Link[]): ObservedState => ({ links, addresses: [], routes: [], neighbours: [] });
const ctx = (desired: DesiredState, links: Link[], refresh = false): PassContext => ({ desired, observed: observed(links), holdTeardown: false, refresh, held: new Map() });

/** An in-memory FDB of one device with a watch, counting reads and writes. */
class FakeFdb {
  entries: FdbEntry[] = [];
  reads = 0;
  writes: string[] = [];
  failAppend: string | null = null;
  handlers: WatchHandlers | null = null;
  watchKinds: readonly string[] = [];

  async listFdb(dev: string): Promise<FdbEntry[]> {
    this.reads++;
    return this.entries.filter((e) => e.dev === dev).map((e) => ({ ...e }));
  }

  async appendFdb(s: FdbSpec): Promise<void> {
    if (this.failAppend) throw new Error(this.failAppend);
    this.writes.push(`append ${s.dst}`);
    if (!this.entries.some((e) => e.dst === s.dst && e.port === s.port)) this.byHand('new', s);
  }

  async deleteFdb(s: FdbSpec): Promise<void> {
    this.writes.push(`del ${s.dst}`);
    this.byHand('del', s);
  }

  async watch(handlers: WatchHandlers, kinds: readonly string[] = []): Promise<DataplaneWatch> {
    this.handlers = handlers;
    this.watchKinds = kinds;
    return { close: () => { this.handlers = null; }, pause: () => undefined, resume: () => undefined, flush: async () => false };
  }

  /** A change as the kernel reports it (netlink: ifindex, no name). */
  byHand(action: 'new' | 'del', s: FdbSpec): void {
    const e: FdbEntry = { index: 9, dev: s.dev, mac: s.mac, self: true, master: false, state: 'permanent', ...(s.dst ? { dst: s.dst } : {}), ...(s.port ? { port: s.port } : {}) };
    if (action === 'new') this.entries.push(e);
    else this.entries = this.entries.filter((x) => !(x.dst === s.dst && x.mac === s.mac && x.port === s.port));
    const event: DataplaneEvent = { kind: 'fdb', action, fdb: { ...e, dev: '' } };
    this.handlers?.onEvent(event);
  }
}

async function pass(p: FloodListParticipant, c: PassContext) {
  const plan = await p.plan(c);
  const outcome = await p.apply(plan, c);
  return { plan, outcome, report: p.report(c, [...plan.problems, ...outcome.failures.flatMap((f) => (f.problem ? [f.problem] : []))]) };
}

describe('FloodListParticipant', () => {
  function setup() {
    const fdb = new FakeFdb();
    const drift: string[] = [];
    const p = new FloodListParticipant({ dp: fdb, onDrift: (why) => drift.push(why) });
    return { fdb, drift, p };
  }

  it('adds the entries, reports remoteVteps, then a converged pass reads and writes nothing', async () => {
    const { fdb, drift, p } = setup();
    fdb.entries.push(entry('10.0.0.9', { mac: '02:00:00:00:00:01' }));
    const first = await pass(p, ctx(state(['10.0.0.3', '10.0.0.2']), [vx()]));
    expect(first.plan.steps.map((s) => s.description)).toEqual([
      'append flood entry dst 10.0.0.3 on hnvx4242 for network blue: missing',
      'append flood entry dst 10.0.0.2 on hnvx4242 for network blue: missing',
    ]);
    expect(first.outcome).toMatchObject({ applied: 2, failures: [], kernelChanged: false });
    expect(fdb.watchKinds).toEqual(['fdb']);
    expect(first.report).toEqual([{ resource: { kind: 'network', name: 'blue' }, conditions: [], network: { remoteVteps: ['10.0.0.2', '10.0.0.3'] } }]);
    expect(drift).toEqual([]); // our own events are no drift
    const reads = fdb.reads;
    const again = await pass(p, ctx(state(['10.0.0.3', '10.0.0.2']), [vx()]));
    expect(again.plan.steps).toEqual([]);
    expect(fdb.reads).toBe(reads);
    expect(fdb.writes).toEqual(['append 10.0.0.3', 'append 10.0.0.2']);
  });

  it('a changed list adds and removes only the entries that differ; other MACs stay', async () => {
    const { fdb, p } = setup();
    fdb.entries.push(entry('10.0.0.9', { mac: '02:00:00:00:00:01' }));
    await pass(p, ctx(state(['10.0.0.2', '10.0.0.3']), [vx()]));
    fdb.writes = [];
    const r = await pass(p, ctx(state(['10.0.0.2', '10.0.0.4']), [vx()]));
    expect(fdb.writes).toEqual(['append 10.0.0.4', 'del 10.0.0.3']);
    expect(r.report[0]!.network).toEqual({ remoteVteps: ['10.0.0.2', '10.0.0.4'] });
    expect(fdb.entries.map((e) => `${e.mac} ${e.dst}`).sort()).toEqual(['00:00:00:00:00:00 10.0.0.2', '00:00:00:00:00:00 10.0.0.4', '02:00:00:00:00:01 10.0.0.9']);
  });

  it('a hand-deleted entry asks for a pass, which puts it back; an unrelated entry does not', async () => {
    const { fdb, drift, p } = setup();
    await pass(p, ctx(state(['10.0.0.2', '10.0.0.3']), [vx()]));
    fdb.byHand('new', { dev: 'hnvx4242', mac: '02:00:00:00:00:07', dst: '10.0.0.7' });
    expect(drift).toEqual([]);
    fdb.byHand('del', { dev: 'hnvx4242', mac: Z, dst: '10.0.0.3' });
    expect(drift).toEqual(['flood entry dst 10.0.0.3 deleted on hnvx4242']);
    const reads = fdb.reads;
    fdb.writes = [];
    const r = await pass(p, ctx(state(['10.0.0.2', '10.0.0.3']), [vx()]));
    expect(fdb.writes).toEqual(['append 10.0.0.3']);
    expect(fdb.reads).toBe(reads); // the event said it all
    expect(r.report[0]!.network).toEqual({ remoteVteps: ['10.0.0.2', '10.0.0.3'] });
    // An all-zeros entry appended by hand to a remote not listed: a pass removes it.
    fdb.byHand('new', { dev: 'hnvx4242', mac: Z, dst: '10.0.0.99' });
    expect(drift.at(-1)).toBe('flood entry dst 10.0.0.99 appeared on hnvx4242');
    fdb.writes = [];
    await pass(p, ctx(state(['10.0.0.2', '10.0.0.3']), [vx()]));
    expect(fdb.writes).toEqual(['del 10.0.0.99']);
  });

  it('refresh passes and lost events read the FDB again', async () => {
    const { fdb, drift, p } = setup();
    await pass(p, ctx(state(['10.0.0.2']), [vx()]));
    // Removed behind the watch's back (no event): only a look finds it.
    fdb.entries = [];
    expect((await p.plan(ctx(state(['10.0.0.2']), [vx()]))).steps).toEqual([]);
    expect((await p.plan(ctx(state(['10.0.0.2']), [vx()], true))).steps.map((s) => s.op)).toEqual(['appendFdb']);
    fdb.handlers!.onResync('events lost (ENOBUFS)');
    expect(drift).toEqual(['fdb events lost (events lost (ENOBUFS))']);
    const reads = fdb.reads;
    expect((await p.plan(ctx(state(['10.0.0.2']), [vx()]))).steps.map((s) => s.op)).toEqual(['appendFdb']);
    expect(fdb.reads).toBe(reads + 1);
  });

  it('a device made anew (another ifindex) is read again', async () => {
    const { fdb, p } = setup();
    await pass(p, ctx(state(['10.0.0.2']), [vx(9)]));
    fdb.entries = [];
    const plan = await p.plan(ctx(state(['10.0.0.2']), [vx(10)]));
    expect(plan.steps.map((s) => s.op)).toEqual(['appendFdb']);
  });

  it('skips a network whose device does not exist yet, or is not hostnet\'s for it', async () => {
    const { fdb, p } = setup();
    for (const links of [[], [vx(9, 'someone else')], [{ ...vx(), kind: 'bridge' }]]) {
      const r = await pass(p, ctx(state(['10.0.0.2']), links));
      expect(r.plan).toEqual({ steps: [], problems: [] });
      expect(r.report).toEqual([{ resource: { kind: 'network', name: 'blue' }, conditions: [], network: { remoteVteps: [] } }]);
    }
    expect(fdb.reads).toBe(0);
    expect(fdb.writes).toEqual([]);
  });

  it('a network without remotes is none of its business (no watch, no report)', async () => {
    const { fdb, p } = setup();
    const r = await pass(p, ctx(state([]), [vx()]));
    expect(r.report).toEqual([]);
    expect(fdb.handlers).toBeNull();
  });

  it('a failed append is a False UplinkReady (FloodListFailed) naming the device and the cause', async () => {
    const { fdb, p } = setup();
    fdb.failAppend = 'append fdb entry 00:00:00:00:00:00 dst 10.0.0.2 on hnvx4242: EPERM: Operation not permitted';
    const r = await pass(p, ctx(state(['10.0.0.2']), [vx()]));
    expect(r.outcome.failures).toHaveLength(1);
    const c = r.report[0]!.conditions[0]!;
    expect(c).toMatchObject({ type: 'UplinkReady', status: ConditionStatus.CONDITION_STATUS_FALSE, reason: 'FloodListFailed' });
    expect(c.message).toBe('cannot set the flood list of hnvx4242: append fdb entry 00:00:00:00:00:00 dst 10.0.0.2 on hnvx4242: EPERM: Operation not permitted');
    expect(r.report[0]!.network).toEqual({ remoteVteps: [] });
    fdb.failAppend = null;
    const ok = await pass(p, ctx(state(['10.0.0.2']), [vx()]));
    expect(ok.report[0]!.conditions).toEqual([]);
  });

  it('a dry run (plan without apply) does not change what events are matched against', async () => {
    const { fdb, drift, p } = setup();
    await pass(p, ctx(state(['10.0.0.2']), [vx()]));
    await p.plan(ctx(state(['10.0.0.2', '10.0.0.3']), [vx()])); // what a dry run does
    fdb.byHand('new', { dev: 'hnvx4242', mac: Z, dst: '10.0.0.2' }); // no change for the applied list
    expect(drift).toEqual([]);
  });

  it('close() stops the watch', async () => {
    const { fdb, p } = setup();
    await pass(p, ctx(state(['10.0.0.2']), [vx()]));
    await p.close();
    expect(fdb.handlers).toBeNull();
  });
});
