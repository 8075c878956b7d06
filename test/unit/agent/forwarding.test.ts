// The forwarding participant (agent/forwarding): the pure plan (a key wanted by two owners stays
// on while either wants it; only recorded keys go off; a device that went is forgotten, not
// written), the record's migration from the two files of older agents, and the participant with
// both owners as the agent runs it: a router's external interface that is also the device
// towards the BGP peer is never written 0 when the router goes, and goes off with the last want.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import type { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { ForwardingParticipant } from '../../../agent/forwarding/participant.js';
import { mergeRecords, planForwarding, wantedKeys, type ForwardingWant } from '../../../agent/forwarding/plan.js';
import { ForwardingRecord } from '../../../agent/forwarding/record.js';
import { PeerForwarding } from '../../../agent/frr/peer-forwarding.js';
import type { PassContext } from '../../../agent/reconcile/participant.js';
import { routerForwarding } from '../../../agent/routers/forwarding.js';
import type { ObservedState } from '../../../dataplane/types.js';
import type { SysctlBatch } from '../../../dataplane/sysctl.js';

const UPLINK = 'net/ipv4/conf/uplink0/forwarding';
const WEB = 'net/ipv4/conf/hn-web/forwarding';
const want = (key: string, owner: ForwardingWant['owner']): ForwardingWant => ({ key, device: key.split('/')[3]!, owner });

const dirs: string[] = [];
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'hostnet-fwd-unit-'));
  dirs.push(d);
  return d;
}
const exists = (f: string): Promise<boolean> => stat(f).then(() => true, () => false);

describe('forwarding plan (pure)', () => {
  const links = new Set(['uplink0', 'hn-web']);

  it('a key two owners want is one key; the router gone while the peer still wants it: no off step', () => {
    const both = wantedKeys([want(UPLINK, 'routers'), want(WEB, 'routers'), want(UPLINK, 'bgp-peers')], links);
    expect([...both.get(UPLINK)!].sort()).toEqual(['bgp-peers', 'routers']);
    const on = planForwarding({ wanted: both, values: new Map([[UPLINK, '0'], [WEB, '0']]), record: new Set(), links, teardown: true });
    expect(on).toEqual({ on: [WEB, UPLINK].sort(), missing: [], off: [], forget: [] });
    // The router removed: only the peer's want is left.
    const peerOnly = wantedKeys([want(UPLINK, 'bgp-peers')], links);
    const after = planForwarding({ wanted: peerOnly, values: new Map([[UPLINK, '1']]), record: new Set([UPLINK, WEB]), links, teardown: true });
    expect(after).toEqual({ on: [], missing: [], off: [WEB], forget: [WEB] });
    // The peer's want gone too: now it goes.
    const none = planForwarding({ wanted: new Map(), values: new Map(), record: new Set([UPLINK]), links, teardown: true });
    expect(none.off).toEqual([UPLINK]);
  });

  it('found on: left alone and not recorded; missing keys said; a gone device forgotten, not written; no teardown: nothing off', () => {
    const wanted = wantedKeys([want(UPLINK, 'routers'), want('net/ipv6/conf/hn-web/force_forwarding', 'routers'), want('net/ipv4/conf/hn-gone/forwarding', 'routers')], links);
    expect([...wanted.keys()]).toEqual([UPLINK, 'net/ipv6/conf/hn-web/force_forwarding']);
    const p = planForwarding({ wanted, values: new Map([[UPLINK, '1'], ['net/ipv6/conf/hn-web/force_forwarding', null]]), record: new Set(['net/ipv4/conf/hn-old/forwarding', WEB]), links, teardown: true });
    expect(p).toEqual({ on: [], missing: ['net/ipv6/conf/hn-web/force_forwarding'], off: [WEB], forget: ['net/ipv4/conf/hn-old/forwarding', WEB] });
    expect(planForwarding({ wanted, values: new Map(), record: new Set([WEB]), links, teardown: false }).forget).toEqual([]);
  });

  it('merging older records: every key any of them turned on, once', () => {
    expect([...mergeRecords([WEB, UPLINK], [UPLINK], [])].sort()).toEqual([WEB, UPLINK].sort());
  });
});

describe('forwarding record', () => {
  it('merges the routers\' and the peers\' records of an older agent into forwarding.json and removes them', async () => {
    const dir = await tempDir();
    const file = (n: string): string => path.join(dir, n);
    await writeFile(file('routers-forwarding.json'), JSON.stringify({ turnedOn: [WEB, UPLINK] }));
    await writeFile(file('bgp-forwarding.json'), JSON.stringify({ turnedOn: [UPLINK, 'net/ipv4/conf/eth0/forwarding'] }));
    const legacy = [file('routers-forwarding.json'), file('bgp-forwarding.json')];
    const r = new ForwardingRecord(file('forwarding.json'), legacy);
    expect([...await r.load()].sort()).toEqual(['net/ipv4/conf/eth0/forwarding', WEB, UPLINK].sort());
    expect(JSON.parse(await readFile(file('forwarding.json'), 'utf8'))).toEqual({ turnedOn: ['net/ipv4/conf/eth0/forwarding', WEB, UPLINK].sort() });
    expect(await exists(legacy[0]!)).toBe(false);
    expect(await exists(legacy[1]!)).toBe(false);
    // A crash after forwarding.json was written but before an old file went: merged again.
    await writeFile(file('bgp-forwarding.json'), JSON.stringify({ turnedOn: ['net/ipv4/conf/eth1/forwarding'] }));
    const again = new ForwardingRecord(file('forwarding.json'), legacy);
    expect((await again.load()).has('net/ipv4/conf/eth1/forwarding')).toBe(true);
    expect((await again.load()).has(WEB)).toBe(true);
    expect(await exists(legacy[1]!)).toBe(false);
  });

  it('a record that is not JSON is an error naming the file', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'forwarding.json'), '{');
    await expect(new ForwardingRecord(path.join(dir, 'forwarding.json')).load()).rejects.toThrow(/read forwarding record .*forwarding\.json: not JSON/);
  });
});

describe('forwarding participant with both owners', () => {
  const NODE = 'node: { bgp: { asn: 65001, routerId: 203.0.113.2, peers: [{ address: 203.0.113.1, asn: 65000 }] } }\n';
  const NETS = 'networks:\n  - { name: rt, mode: ROUTED, ipFamily: IPV4, cidr: 10.95.0.0/24 }\n  - { name: web, ipFamily: IPV4, cidr: 10.96.1.0/24, gateway: 10.96.1.1, gatewayOnBridge: true }\n';
  const ROUTER = 'routers:\n  - { name: r1, networks: [web], external: { interface: uplink0 } }\n';
  const state = (text: string): DesiredState => parseDesiredState(text);
  const observed = { links: ['hn-web', 'uplink0'].map((name, i) => ({ index: i + 10, name, kind: 'veth', alias: null })), addresses: [], routes: [], neighbours: [] } as unknown as ObservedState;
  const ctx = (desired: DesiredState): PassContext => ({ desired, observed, holdTeardown: false, refresh: false, held: new Map() });

  async function setup(initial: Record<string, string>, legacy: Record<string, string[]> = {}) {
    const dir = await tempDir();
    for (const [name, keys] of Object.entries(legacy)) await writeFile(path.join(dir, name), JSON.stringify({ turnedOn: keys }));
    const sysctls = new Map(Object.entries(initial));
    const writes: Array<[string, string]> = [];
    const sysctl: SysctlBatch = {
      async read(keys) { return new Map(keys.map((k) => [k, sysctls.get(k) ?? null])); },
      async write(values) { for (const [k, v] of values) { writes.push([k, v]); sysctls.set(k, v); } },
    };
    const p = new ForwardingParticipant({
      sysctl,
      record: new ForwardingRecord(path.join(dir, 'forwarding.json'), ['routers-forwarding.json', 'bgp-forwarding.json'].map((f) => path.join(dir, f))),
      // The peer is reached through uplink0, the router's external interface.
      providers: [routerForwarding, new PeerForwarding(async () => 'uplink0')],
    });
    const pass = async (desired: DesiredState): Promise<string[]> => {
      const plan = await p.plan(ctx(desired));
      expect((await p.apply(plan)).failures).toEqual([]);
      return plan.steps.map((s) => s.op);
    };
    return { sysctls, writes, pass };
  }

  it('the router goes while the peer still needs its external interface: uplink0 is never written 0', async () => {
    const f = await setup({ [UPLINK]: '0', [WEB]: '0' });
    expect(await f.pass(state(NODE + NETS + ROUTER))).toEqual(['forwardingOn']);
    expect(f.sysctls.get(UPLINK)).toBe('1');
    expect(await f.pass(state(NODE + NETS))).toEqual(['forwardingOff']);
    expect(f.sysctls.get(WEB)).toBe('0');
    expect(f.sysctls.get(UPLINK)).toBe('1');
    expect(await f.pass(state(NODE + NETS))).toEqual([]);
    expect(f.writes.filter(([k, v]) => k === UPLINK && v === '0')).toEqual([]);
    // The last want gone (no routed network: no peer forwarding): now it goes back off.
    expect(await f.pass(state(NODE))).toEqual(['forwardingOff']);
    expect(f.sysctls.get(UPLINK)).toBe('0');
  });

  it('an upgraded agent turns off what the old one recorded in its two files', async () => {
    const f = await setup({ [UPLINK]: '1', [WEB]: '1' }, { 'routers-forwarding.json': [WEB], 'bgp-forwarding.json': [UPLINK] });
    // Both still wanted: nothing to do; then nothing wanted: both off, as recorded by the old agent.
    expect(await f.pass(state(NODE + NETS + ROUTER))).toEqual([]);
    expect(await f.pass(state(NETS))).toEqual(['forwardingOff']);
    expect(f.sysctls.get(WEB)).toBe('0');
    expect(f.sysctls.get(UPLINK)).toBe('0');
  });
});
