// The routers participant (agent/routers) with the forwarding participant after it, as the agent
// runs them, against a fake nft and fake sysctls: which switches are turned on for the routers
// (only connected bridges and external interfaces, IPv6 on dual-stack bridges) and back off
// (only those hostnet turned on, also after a restart through the record; before the table
// goes), the table's sets and NAT rules, one transaction per change, a hand-changed table
// rewritten on refresh, the Routed condition (also ForwardingFailed).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ObservedState } from '../../../dataplane/types.js';
import type { NftCommand } from '../../../dataplane/nftables/json.js';
import type { NftRunner } from '../../../dataplane/nftables/run.js';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import type { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import type { Participant, PassContext, PlannedStep } from '../../../agent/reconcile/participant.js';
import type { SysctlBatch } from '../../../dataplane/sysctl.js';
import { ForwardingParticipant } from '../../../agent/forwarding/participant.js';
import { ForwardingRecord } from '../../../agent/forwarding/record.js';
import { routerForwarding } from '../../../agent/routers/forwarding.js';
import { routersModel } from '../../../agent/routers/model.js';
import { RoutersParticipant } from '../../../agent/routers/participant.js';
import { isolationOf, routerCommands } from '../../../agent/routers/ruleset.js';
import { ipUsageOf } from '../../../agent/server/ip-usage.js';
import { IpHolderKind } from '../../../agent/api/gen/hostnet/v1/status.js';

const NETS = `
networks:
  - { name: web, ipFamily: IPV4, cidr: 10.96.1.0/24, gateway: 10.96.1.1, gatewayOnBridge: true }
  - { name: db, ipFamily: IPV4, cidr: 10.96.2.0/24, gateway: 10.96.2.1, gatewayOnBridge: true,
      ipv6: { cidr: "fd00:96:2::/64", gateway: "fd00:96:2::1", gatewayOnBridge: true } }
  - { name: lone, ipFamily: IPV4, cidr: 10.96.3.0/24, gateway: 10.96.3.1, gatewayOnBridge: true }
`;
const withRouter = (router: string): DesiredState => parseDesiredState(`${NETS}routers:\n  - ${router}\n`);
const R1 = withRouter('{ name: r1, networks: [web, db], external: { interface: uplink0 } }');
const NONE = parseDesiredState(NETS);

const dirs: string[] = [];
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

function fakes(initial: Record<string, string>) {
  const sysctls = new Map(Object.entries(initial));
  const transactions: NftCommand[][] = [];
  /** The switches as they stood when each transaction came: what the isolation order is about. */
  const sysctlsAtTransaction: Array<Map<string, string>> = [];
  const failWrites = { on: false };
  let table: Array<Record<string, unknown>> | null = null;
  const nft: NftRunner = {
    async apply(commands) {
      transactions.push([...commands]);
      sysctlsAtTransaction.push(new Map(sysctls));
      // The listing a fake kernel would give: the commands after the delete (empty: no table).
      const after = commands.slice(2);
      table = after.length ? after.map((c) => ({ ...('add' in c ? c.add : {}), handle: transactions.length })) : null;
    },
    async list() { return table ? table.map((x) => ({ ...x })) : null; },
  };
  const sysctl: SysctlBatch = {
    async read(keys) { return new Map(keys.map((k) => [k, sysctls.get(k) ?? null])); },
    async write(values) {
      if (failWrites.on) throw new Error(`set sysctl ${values.map(([k]) => k).join(', ')}: EACCES`);
      for (const [k, v] of values) sysctls.set(k, v);
    },
  };
  return { nft, sysctl, sysctls, transactions, sysctlsAtTransaction, failWrites, editTable: (f: (t: Array<Record<string, unknown>>) => void) => f(table!) };
}

const observed = (...devs: string[]): ObservedState =>
  ({ links: devs.map((name, i) => ({ index: i + 10, name, kind: 'bridge', alias: null })), addresses: [], routes: [], neighbours: [] }) as unknown as ObservedState;
const ctx = (desired: DesiredState, obs: ObservedState, refresh = false): PassContext => ({ desired, observed: obs, holdTeardown: false, refresh, held: new Map() });
const ALL = observed('hn-web', 'hn-db', 'hn-lone', 'uplink0');

/** The two participants the agent runs in this order (agent/main.ts), sharing one record file. */
function agentParts(f: ReturnType<typeof fakes>, record: string): { routers: RoutersParticipant; forwarding: ForwardingParticipant } {
  const forwarding = new ForwardingParticipant({ sysctl: f.sysctl, record: new ForwardingRecord(record), providers: [routerForwarding] });
  return { routers: new RoutersParticipant({ nft: f.nft, forwarding }), forwarding };
}

/** One pass of both: the ops each planned, in order. */
async function pass(p: { routers: RoutersParticipant; forwarding: ForwardingParticipant }, c: PassContext, allowFailures = false): Promise<string[]> {
  const run = async <S extends PlannedStep>(part: Participant<S>): Promise<string[]> => {
    const plan = await part.plan(c);
    const out = await part.apply(plan, c);
    if (!allowFailures) expect(out.failures).toEqual([]);
    return plan.steps.map((s) => s.op);
  };
  return [...await run(p.routers), ...await run(p.forwarding)];
}

describe('routers model and ruleset', () => {
  it('forwarding only on the connected bridges (IPv6 too on the dual-stack one) and the external interface', () => {
    const m = routersModel(R1);
    expect(Object.fromEntries(m.forwarding)).toEqual({
      'hn-web': ['net/ipv4/conf/hn-web/forwarding'],
      'hn-db': ['net/ipv4/conf/hn-db/forwarding', 'net/ipv6/conf/hn-db/forwarding', 'net/ipv6/conf/hn-db/force_forwarding'],
      uplink0: ['net/ipv4/conf/uplink0/forwarding'],
    });
    expect(m.zones.map((z) => z.devices)).toEqual([['hn-web'], ['hn-db'], ['hn-lone']]);
  });

  it('zones: a router joins its networks and its way out, replies back through NAT; NO_NAT lets the outside in; SNAT rule; no routers, no table', () => {
    const zone = (iso: ReturnType<typeof isolationOf>, chain: string) => iso.zones.find((z) => z.chain === chain);
    const iso = isolationOf(routersModel(R1));
    expect(iso.members).toEqual(['hn-db', 'hn-lone', 'hn-web']);
    expect(iso.guarded).toEqual(['hn-db', 'hn-lone', 'hn-web', 'uplink0']);
    expect(zone(iso, 'from_net_web')).toEqual({ chain: 'from_net_web', devices: ['hn-web'], reach: ['hn-db', 'hn-web', 'uplink0'], replies: [], closed: false });
    expect(zone(iso, 'from_net_lone')).toEqual({ chain: 'from_net_lone', devices: ['hn-lone'], reach: ['hn-lone'], replies: [], closed: false });
    expect(zone(iso, 'from_ext_uplink0')).toEqual({ chain: 'from_ext_uplink0', devices: ['uplink0'], reach: [], replies: ['hn-db', 'hn-web'], closed: false });
    const text = JSON.stringify(routerCommands(routersModel(R1)));
    expect(text).toContain('["hn-lone",{"jump":{"target":"from_net_lone"}}]');
    expect(text).toContain('{"masquerade":null}');
    const noNat = isolationOf(routersModel(withRouter('{ name: r1, networks: [web], external: { interface: uplink0, nat: NO_NAT } }')));
    expect(zone(noNat, 'from_ext_uplink0')).toMatchObject({ reach: ['hn-web'], replies: [] });
    expect(JSON.stringify(routerCommands(routersModel(withRouter('{ name: r1, networks: [web], external: { interface: uplink0, nat: NO_NAT } }'))))).not.toContain('masquerade');
    const snat = JSON.stringify(routerCommands(routersModel(withRouter('{ name: r1, networks: [web], external: { interface: uplink0, nat: SNAT, snatAddress: 198.51.100.7 } }'))));
    expect(snat).toContain('{"snat":{"family":"ip","addr":"198.51.100.7"}}');
    expect(routerCommands(routersModel(NONE))).toHaveLength(2);
  });

  it('routed networks: fenced from bridged ones without a router, routed to each other, joined to a bridged one and NATed by a router', () => {
    const state = (routers: string): DesiredState => parseDesiredState(`${NETS}
  - { name: rt, mode: ROUTED, ipFamily: IPV4, cidr: 10.96.4.0/24 }
  - { name: rt2, mode: ROUTED, ipFamily: IPV4, cidr: 10.96.5.0/24 }
attachments:
  - { name: a1, network: rt, tap: { ifName: tap-a1 } }
  - { name: a2, network: rt, tap: { ifName: tap-a2 } }
  - { name: b1, network: rt2, tap: { ifName: tap-b1 } }
  - { name: w1, network: web, tap: { ifName: tap-w1 } }
${routers}`);
    const alone = isolationOf(routersModel(state('')));
    // The table exists without any router: the routed devices forward on their own.
    expect(routerCommands(routersModel(state(''))).length).toBeGreaterThan(2);
    expect(alone.members).toEqual(['hn-db', 'hn-lone', 'hn-web', 'tap-a1', 'tap-a2', 'tap-b1']);
    const rt = alone.zones.find((z) => z.chain === 'from_net_rt')!;
    // Not announced: no way out but its reach (its devices forward because hostnet said so).
    expect(rt).toEqual({ chain: 'from_net_rt', devices: ['tap-a1', 'tap-a2'], reach: ['tap-a1', 'tap-a2', 'tap-b1'], replies: [], closed: true });
    const rules = routerCommands(routersModel(state(''))).flatMap((c) => ('add' in c && c.add && 'rule' in c.add ? [c.add.rule] : []));
    const last = (chain: string): string => JSON.stringify(rules.filter((r) => r.chain === chain).at(-1)!.expr);
    // The routed network's chain ends with a drop of everything else; a bridged one's drops only what goes to hostnet's devices.
    expect(last('from_net_rt')).toBe(JSON.stringify([{ counter: 'isolated' }, { drop: null }]));
    expect(last('from_net_web')).toContain('"@guarded"');
    expect(alone.zones.find((z) => z.chain === 'from_net_web')!.reach).toEqual(['hn-web']);

    const m = routersModel(state('routers:\n  - { name: r1, networks: [rt, web], external: { interface: uplink0 } }\n'));
    // The routed devices' switches belong to the routed participant: only the bridge and the way out here.
    expect([...m.forwarding.keys()].sort()).toEqual(['hn-web', 'uplink0']);
    const joined = isolationOf(m);
    expect(joined.zones.find((z) => z.chain === 'from_net_rt')!.reach).toEqual(['hn-web', 'tap-a1', 'tap-a2', 'tap-b1', 'uplink0']);
    expect(joined.zones.find((z) => z.chain === 'from_net_rt2')!.reach).toEqual(['tap-a1', 'tap-a2', 'tap-b1']);
    expect(joined.zones.find((z) => z.chain === 'from_net_web')!.reach).toEqual(['hn-web', 'tap-a1', 'tap-a2', 'uplink0']);
    expect(joined.zones.find((z) => z.chain === 'from_ext_uplink0')!.replies).toEqual(['hn-web', 'tap-a1', 'tap-a2']);
    expect(JSON.stringify(routerCommands(m))).toContain('{"prefix":{"addr":"10.96.4.0","len":24}}');
  });

  it('a routed network announced over BGP keeps its way to and from the external interfaces, without NAT; a NO_ANNOUNCE one does not', () => {
    const m = routersModel(parseDesiredState(`
node: { bgp: { asn: 65001, routerId: 10.77.0.1, peers: [{ address: 10.77.0.200, asn: 65000 }] } }
${NETS.trim()}
  - { name: pub, mode: ROUTED, ipFamily: IPV4, cidr: 10.96.4.0/24 }
  - { name: quiet, mode: ROUTED, ipFamily: IPV4, cidr: 10.96.5.0/24, announce: NO_ANNOUNCE }
attachments:
  - { name: a1, network: pub, tap: { ifName: tap-a1 } }
  - { name: b1, network: quiet, tap: { ifName: tap-b1 } }
routers:
  - { name: r1, networks: [web], external: { interface: eth0 } }
`));
    const iso = isolationOf(m);
    expect(iso.zones.find((z) => z.chain === 'from_net_pub')!.reach).toEqual(['eth0', 'tap-a1', 'tap-b1']);
    expect(iso.zones.find((z) => z.chain === 'from_net_quiet')!.reach).toEqual(['tap-a1', 'tap-b1']);
    // The announced one may leave by the fabric (any device but hostnet's): not closed; the quiet one is.
    expect(iso.zones.find((z) => z.chain === 'from_net_pub')!.closed).toBe(false);
    expect(iso.zones.find((z) => z.chain === 'from_net_quiet')!.closed).toBe(true);
    expect(iso.zones.find((z) => z.chain === 'from_ext_eth0')).toMatchObject({ reach: ['tap-a1'], replies: ['hn-web'] });
    // Not the router's network: no NAT of its addresses.
    expect(JSON.stringify(routerCommands(m))).not.toContain('10.96.4.0');
  });

  it('one bridge shared by two networks enters with the reach of both', () => {
    const m = routersModel(parseDesiredState(`
networks:
  - { name: x, ipFamily: IPV4, cidr: 10.96.6.0/24, gateway: 10.96.6.1, gatewayOnBridge: true, bridgeName: hn-shared }
  - { name: y, ipFamily: IPV4, cidr: 10.96.7.0/24, gateway: 10.96.7.1, gatewayOnBridge: true, bridgeName: hn-shared }
  - { name: z, ipFamily: IPV4, cidr: 10.96.8.0/24, gateway: 10.96.8.1, gatewayOnBridge: true }
routers:
  - { name: r1, networks: [x, z] }
`));
    const iso = isolationOf(m);
    expect(iso.zones.map((z) => z.chain)).toEqual(['from_net_x+y', 'from_net_z']);
    expect(iso.zones[0]!.reach).toEqual(['hn-shared', 'hn-z']);
  });
});

describe('routers participant', () => {
  it('turns on what is off, leaves what was on, then puts back only its own when the router goes (also after a restart)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-rtr-unit-'));
    dirs.push(dir);
    const record = path.join(dir, 'forwarding.json');
    const f = fakes({
      'net/ipv4/conf/hn-web/forwarding': '0', 'net/ipv4/conf/hn-db/forwarding': '0', 'net/ipv6/conf/hn-db/forwarding': '0',
      'net/ipv4/conf/uplink0/forwarding': '1', 'net/ipv4/conf/hn-lone/forwarding': '0',
    });
    let p = agentParts(f, record);
    expect(await pass(p, ctx(R1, ALL))).toEqual(['writeRouterTable', 'forwardingOn']);
    expect(f.transactions).toHaveLength(1);
    // Isolation first: the table came while the bridges' switches were still off.
    expect(f.sysctlsAtTransaction[0]!.get('net/ipv4/conf/hn-web/forwarding')).toBe('0');
    expect(f.sysctls.get('net/ipv4/conf/hn-web/forwarding')).toBe('1');
    expect(f.sysctls.get('net/ipv6/conf/hn-db/forwarding')).toBe('1');
    expect(f.sysctls.get('net/ipv4/conf/hn-lone/forwarding')).toBe('0');
    // A key this kernel lacks (force_forwarding) is skipped and said in the condition.
    const routed = p.routers.report(ctx(R1, ALL)).find((r) => r.resource.name === 'db')!.conditions[0]!;
    expect(routed).toMatchObject({ type: 'Routed', reason: 'Connected' });
    expect(routed.message).toContain('connected by router r1 to web; out through uplink0 (masquerade)');
    expect(routed.message).toContain('IPv6 is not forwarded');
    expect(p.routers.report(ctx(R1, ALL)).map((r) => r.resource.name)).toEqual(['web', 'db']);
    // Nothing more to do: no transaction, no write.
    expect(await pass(p, ctx(R1, ALL))).toEqual([]);
    expect(await pass(p, ctx(R1, ALL))).toEqual([]);
    expect(f.transactions).toHaveLength(1);

    // A restarted agent: one rewrite (its table is not known to match), the record from disk.
    p = agentParts(f, record);
    expect(await pass(p, ctx(R1, ALL))).toEqual(['writeRouterTable']);
    // The routers turn forwarding off (through the forwarding participant) before the table goes.
    expect(await pass(p, ctx(NONE, ALL))).toEqual(['removeRouterTable']);
    expect(f.transactions.at(-1)).toHaveLength(2);
    expect(f.sysctlsAtTransaction.at(-1)!.get('net/ipv4/conf/hn-web/forwarding')).toBe('0');
    expect(f.sysctlsAtTransaction.at(-1)!.get('net/ipv6/conf/hn-db/forwarding')).toBe('0');
    expect(f.sysctls.get('net/ipv4/conf/hn-web/forwarding')).toBe('0');
    expect(f.sysctls.get('net/ipv6/conf/hn-db/forwarding')).toBe('0');
    expect(f.sysctls.get('net/ipv4/conf/uplink0/forwarding')).toBe('1');
    expect(await pass(p, ctx(NONE, ALL))).toEqual([]);
    expect(p.routers.report(ctx(NONE, ALL))).toEqual([]);
  });

  it('a table changed by hand is rewritten on a refresh pass; a recreated bridge gets its switch again', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-rtr-unit-'));
    dirs.push(dir);
    const f = fakes({ 'net/ipv4/conf/hn-web/forwarding': '0', 'net/ipv4/conf/hn-db/forwarding': '0', 'net/ipv6/conf/hn-db/forwarding': '0', 'net/ipv4/conf/uplink0/forwarding': '0' });
    const p = agentParts(f, path.join(dir, 'r.json'));
    await pass(p, ctx(R1, ALL));
    f.editTable((t) => t.pop());
    expect(await pass(p, ctx(R1, ALL))).toEqual([]);
    expect(await pass(p, ctx(R1, ALL, true))).toEqual(['writeRouterTable']);
    // hn-web deleted and made again: a new ifindex, its switch back at the default.
    f.sysctls.set('net/ipv4/conf/hn-web/forwarding', '0');
    const again = observed('hn-db', 'hn-lone', 'uplink0', 'hn-web');
    expect(await pass(p, ctx(R1, again))).toEqual(['forwardingOn']);
    expect(f.sysctls.get('net/ipv4/conf/hn-web/forwarding')).toBe('1');
  });

  it('Routed is False while the external interface is missing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-rtr-unit-'));
    dirs.push(dir);
    const f = fakes({ 'net/ipv4/conf/hn-web/forwarding': '0', 'net/ipv4/conf/hn-db/forwarding': '0' });
    const p = agentParts(f, path.join(dir, 'r.json'));
    const obs = observed('hn-web', 'hn-db');
    await pass(p, ctx(R1, obs));
    expect(p.routers.report(ctx(R1, obs))[0]!.conditions[0]).toMatchObject({ type: 'Routed', status: 2, reason: 'ExternalInterfaceMissing' });
  });

  it('Routed is False (ForwardingFailed) while a switch cannot be set, and True again once it is', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-rtr-unit-'));
    dirs.push(dir);
    const f = fakes({ 'net/ipv4/conf/hn-web/forwarding': '0', 'net/ipv4/conf/hn-db/forwarding': '0', 'net/ipv4/conf/uplink0/forwarding': '1' });
    const p = agentParts(f, path.join(dir, 'r.json'));
    f.failWrites.on = true;
    expect(await pass(p, ctx(R1, ALL), true)).toEqual(['writeRouterTable', 'forwardingOn']);
    const c = p.routers.report(ctx(R1, ALL))[0]!.conditions[0]!;
    expect(c).toMatchObject({ type: 'Routed', status: 2, reason: 'ForwardingFailed' });
    expect(c.message).toContain('forwarding could not be turned on: set sysctl net/ipv4/conf/hn-db/forwarding, net/ipv4/conf/hn-web/forwarding: EACCES');
    f.failWrites.on = false;
    expect(await pass(p, ctx(R1, ALL))).toEqual(['forwardingOn']);
    expect(f.sysctls.get('net/ipv4/conf/hn-web/forwarding')).toBe('1');
    expect(p.routers.report(ctx(R1, ALL))[0]!.conditions[0]).toMatchObject({ type: 'Routed', reason: 'Connected' });
  });
});

describe('IP usage', () => {
  it('the gateway of a network a router connects is held by the router (both subnets); other gateways stay GATEWAY', () => {
    const usage = ipUsageOf(R1, observed());
    const holder = (net: string, ip: string) => usage.flatMap((u) => (u.network === net ? u.ips : [])).find((x) => x.ip === ip);
    expect(holder('web', '10.96.1.1')).toMatchObject({ holderKind: IpHolderKind.IP_HOLDER_KIND_ROUTER, holderName: 'r1', managed: true });
    expect(holder('db', 'fd00:96:2::1')).toMatchObject({ holderKind: IpHolderKind.IP_HOLDER_KIND_ROUTER, holderName: 'r1' });
    expect(holder('lone', '10.96.3.1')).toMatchObject({ holderKind: IpHolderKind.IP_HOLDER_KIND_GATEWAY, holderName: 'lone' });
  });
});
