// Auto addresses (agent/ipam): chosen once and kept, never a leased or static address, stable
// whatever order attachments arrive in; the DHCP reservation that follows from them.
import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import type { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { dhcpConfigOf } from '../../../agent/dhcp/config.js';
import { assignAddresses, type HeldLease } from '../../../agent/ipam/assignments.js';
import { chooseAutoAddresses } from '../../../agent/ipam/allocator.js';
import { deriveAttachmentMac } from '../../../agent/naming.js';

const NET = `
networks:
  - name: lan
    ipFamily: IPV4
    cidr: 10.0.0.0/24
    gateway: 10.0.0.1
    gatewayOnBridge: true
    dhcp: { enabled: true, pools: [{ start: 10.0.0.10, end: 10.0.0.13 }] }
`;

function state(attachments: string): DesiredState {
  return parseDesiredState(`${NET}attachments:\n${attachments}`);
}
const veth = (name: string, ip: string): string =>
  `  - { name: ${name}, network: lan, veth: { ifName: hv-${name}, peerNetns: /run/netns/${name}, peerIfName: net1 }, ip: ${ip} }\n`;
const none = (): readonly HeldLease[] => [];

describe('chooseAutoAddresses', () => {
  const space = { family: 4 as const, ranges: [{ start: 10n, end: 13n }], taken: new Set<bigint>([11n]) };

  it('keeps earlier choices and never hands out a taken or leased address', () => {
    const got = chooseAutoAddresses(space, [
      { attachment: 'a', mac: 'm-a', slots: 1, previous: [12n] },
      { attachment: 'b', mac: 'm-b', slots: 2, previous: [] },
    ], new Map([[10n, 'someone']]), new Map());
    expect(got.find((c) => c.attachment === 'a')!.addresses).toEqual([12n]);
    const b = got.find((c) => c.attachment === 'b')!;
    // 10 is leased, 11 taken, 12 is a's: only 13 is left, so one slot stays open.
    expect(b.addresses).toEqual([13n]);
    expect(b.missing).toBe(1);
  });

  it('gives an attachment the address its MAC already leases', () => {
    const got = chooseAutoAddresses(space, [{ attachment: 'a', mac: 'm-a', slots: 1, previous: [] }], new Map([[13n, 'm-a']]), new Map([['m-a', 13n]]));
    expect(got[0]!.addresses).toEqual([13n]);
  });
});

describe('assignAddresses', () => {
  it('puts static and auto addresses in the order asked, with the prefix length', () => {
    const s = state(veth('p', '{ auto: {}, addresses: [{ static: 10.0.0.50 }, { auto: {} }] }'));
    const a = assignAddresses(s, {}, none).of('p')!;
    expect(a.addresses.map((x) => [x.source, x.prefixLength])).toEqual([['auto', 24], ['static', 24], ['auto', 24]]);
    expect(a.addresses[1]!.ip).toBe('10.0.0.50');
    expect(new Set(a.addresses.map((x) => x.ip)).size).toBe(3);
    expect(a.assign).toBe(true);
  });

  it('keeps a choice when an attachment whose name sorts first arrives later', () => {
    const first = assignAddresses(state(veth('zz', '{ auto: {} }')), {}, none);
    const chosen = first.of('zz')!.addresses[0]!.ip;
    // Every other address of the pool is asked for by attachments sorting before "zz".
    const crowd = ['a', 'b', 'c'].map((n) => veth(n, '{ auto: {} }')).join('');
    const later = assignAddresses(state(crowd + veth('zz', '{ auto: {} }')), first.choices, none);
    expect(later.of('zz')!.addresses[0]!.ip).toBe(chosen);
    expect([...later.all()].every((x) => x.missing === 0)).toBe(true);
  });

  it('avoids addresses DHCP leased to other clients, and reports a full pool', () => {
    const leases = (): HeldLease[] => ['10.0.0.10', '10.0.0.11', '10.0.0.12'].map((ip, i) => ({ ip, mac: `52:54:00:00:00:0${i}` }));
    const s = state(veth('a', '{ auto: {} }') + veth('b', '{ auto: {} }'));
    const got = assignAddresses(s, {}, leases);
    const all = [...got.all()];
    expect(all.flatMap((x) => x.addresses.map((y) => y.ip))).toEqual(['10.0.0.13']);
    expect(all.reduce((n, x) => n + x.missing, 0)).toBe(1);
  });

  it('does not assign for TAPs or with skipAssignment, and DHCP reserves their first address', () => {
    const s = parseDesiredState(`${NET}attachments:
  - { name: vm, network: lan, tap: { ifName: tap-vm }, ip: { static: 10.0.0.70 } }
${veth('s', '{ auto: {}, skipAssignment: true, addresses: [{ static: 10.0.0.71 }] }')}`);
    const got = assignAddresses(s, {}, none);
    expect(got.of('vm')!.assign).toBe(false);
    expect(got.of('s')!.assign).toBe(false);
    const cfg = dhcpConfigOf(s.networks[0]!, { assignments: got, node: s.node, mtu: 1500 })!;
    expect(cfg.reservations).toContainEqual({ mac: deriveAttachmentMac('vm'), ip: '10.0.0.70', hostname: 'vm' });
    expect(cfg.reservations).toContainEqual({ mac: deriveAttachmentMac('s'), ip: got.of('s')!.addresses[0]!.ip, hostname: 's' });
    // The second address is nobody's to lease.
    expect(cfg.excluded).toEqual(['10.0.0.71']);
  });
});

describe('assignAddresses on a dual-stack network', () => {
  it('takes IPv6 autos from the ipv6 subnet, keeps the order asked, and stores them apart', () => {
    const s = parseDesiredState(`
networks:
  - { name: pub, ipFamily: IPV4, cidr: 10.0.0.0/24, gateway: 10.0.0.1, ipv6: { cidr: "fd00:10::/64", gateway: "fd00:10::1", dhcp: { pools: [{ start: "fd00:10::100", end: "fd00:10::1ff" }] } } }
attachments:
  - { name: p, network: pub, veth: { ifName: hv-p, peerNetns: /run/netns/p, peerIfName: net1 }, ip: { auto: {}, addresses: [{ auto: {}, family: IPV6 }, { static: "fd00:10::7" }] } }
`);
    const got = assignAddresses(s, {}, none);
    const a = got.of('p')!;
    expect(a.addresses.map((x) => [x.family, x.source, x.prefixLength])).toEqual([[4, 'auto', 24], [6, 'auto', 64], [6, 'static', 64]]);
    expect(a.addresses[1]!.ip).toMatch(/^fd00:10::1[0-9a-f]{2}$/);
    expect(Object.keys(got.choices).sort()).toEqual(['pub', 'pub/ipv6']);
    // Kept on the next computation from what was stored.
    expect(assignAddresses(s, got.choices, none).of('p')!.addresses.map((x) => x.ip)).toEqual(a.addresses.map((x) => x.ip));
  });
});
