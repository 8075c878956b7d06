// The router advertisement participant (agent/ra) with a recording advertiser: what it starts,
// reconfigures and stops, and that only a removed network (never close()) gets router lifetime 0.
import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import type { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { advertisementOf, type AdvertisementConfig } from '../../../agent/ra/config.js';
import { RouterAdvertisementParticipant, type Advertiser } from '../../../agent/ra/participant.js';
import type { PassContext } from '../../../agent/reconcile/participant.js';
import { ConditionStatus } from '../../../agent/api/gen/hostnet/v1/status.js';
import type { Address, Link, ObservedState } from '../../../dataplane/types.js';

const state = (extra = ''): DesiredState => parseDesiredState(`
networks:
  - name: v6
    ipFamily: IPV6
    cidr: "fd00:77::/64"
    gateway: "fd00:77::1"
    gatewayOnBridge: true
    dhcp: { dnsServers: ["fd00:77::53"], searchDomains: [v6.example], routes: [{ destination: "fd00:99::/48", via: "fd00:77::fe" }] }${extra}
`);

const link = (index: number, name: string, master: number | null = null): Link => ({
  index, name, kind: master ? 'veth' : 'bridge', mtu: 1500, mac: '02:00:00:00:00:01', alias: null, group: 0, up: true,
  lowerUp: true, operState: 'up', masterIndex: master, linkIndex: null,
});
const ll = (index: number, flags = 0): Address => ({ index, dev: 'hn-v6', family: 6, cidr: 'fe80::1/64', scope: 253, flags, protocol: 0 });
const observed = (addresses: Address[], bridgeIndex = 7): ObservedState => ({ links: [link(bridgeIndex, 'hn-v6'), link(8, 'hv-a', bridgeIndex)], addresses, routes: [], neighbours: [] });
const ctx = (desired: DesiredState, obs: ObservedState): PassContext => ({ desired, observed: obs, holdTeardown: false, refresh: false, held: new Map() });

function recorder(state: Advertiser['state'] = 'advertising'): { events: string[]; start: (c: AdvertisementConfig) => Promise<Advertiser> } {
  const events: string[] = [];
  return {
    events,
    start: async (c) => {
      events.push(`start ${c.device} ${c.prefix} A=${c.autonomous} M=${c.managed} O=${c.other}`);
      return {
        state,
        reconfigure: (n) => events.push(`reconfigure mtu=${n.mtu}`),
        stop: async ({ final }) => {
          events.push(`stop final=${final}`);
        },
      };
    },
  };
}

async function pass(p: RouterAdvertisementParticipant, c: PassContext): Promise<string[]> {
  const plan = p.plan(c);
  await p.apply(plan);
  return plan.steps.map((s) => s.op);
}

describe('router advertisement participant', () => {
  it('derives the advertisement from the network (SLAAC, RDNSS, DNSSL, routes)', () => {
    expect(advertisementOf(state().networks[0]!, { links: [], addresses: [] })).toEqual({
      device: 'hn-v6', prefix: 'fd00:77::/64', autonomous: true, managed: false, other: false, routerLifetimeSec: 1800, mtu: 1500,
      dnsServers: ['fd00:77::53'], searchDomains: ['v6.example'], routes: [{ prefix: 'fd00:99::/48', preference: 'medium' }],
    });
  });

  it('waits for the bridge, starts, reconfigures, restarts with a new bridge', async () => {
    const r = recorder();
    const p = new RouterAdvertisementParticipant(r.start);
    const noBridge: ObservedState = { links: [], addresses: [], routes: [], neighbours: [] };
    expect(await pass(p, ctx(state(), noBridge))).toEqual([]);
    expect(p.report(ctx(state(), noBridge))[0]!.conditions[0]).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_FALSE, reason: 'BridgeMissing' });
    expect(await pass(p, ctx(state(), observed([ll(7)])))).toEqual(['startRa']);
    expect(p.report(ctx(state(), observed([ll(7)])))[0]!.conditions[0]).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'Advertising' });
    expect(await pass(p, ctx(state(), observed([ll(7)])))).toEqual([]);
    const mtu = state();
    mtu.networks[0]!.mtu = 1400;
    expect(await pass(p, ctx(mtu, observed([ll(7)])))).toEqual(['reconfigureRa']);
    expect(await pass(p, ctx(mtu, observed([ll(9)], 9)))).toEqual(['restartRa']);
    expect(r.events).toEqual(['start hn-v6 fd00:77::/64 A=true M=false O=false', 'reconfigure mtu=1400', 'stop final=false', 'start hn-v6 fd00:77::/64 A=true M=false O=false']);
  });

  it('says whether anyone could hear it while the advertiser waits for the link-local address', async () => {
    const p = new RouterAdvertisementParticipant(recorder('waiting-for-link-local').start);
    await pass(p, ctx(state(), observed([])));
    expect(p.report(ctx(state(), observed([])))[0]!.conditions[0]).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_FALSE, reason: 'NoLinkLocal' });
    const alone: ObservedState = { links: [link(7, 'hn-v6')], addresses: [], routes: [], neighbours: [] };
    expect(p.report(ctx(state(), alone))[0]!.conditions[0]).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'NoListeners' });
  });

  it('sends router lifetime 0 when the network goes, never on close()', async () => {
    const r = recorder();
    const p = new RouterAdvertisementParticipant(r.start);
    await pass(p, ctx(state(), observed([ll(7)])));
    await p.close();
    expect(r.events.at(-1)).toBe('stop final=false');
    await pass(p, ctx(state(), observed([ll(7)])));
    expect(await pass(p, ctx(parseDesiredState('networks: []'), observed([ll(7)])))).toEqual(['stopRa']);
    expect(r.events.at(-1)).toBe('stop final=true');
  });
});
