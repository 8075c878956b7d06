// The routers section's checks (agent/desired/validate-routers.ts), through the whole-state
// validation: every violation at once, each at its field's path.
import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import { NatMode, type DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { assertValidDesiredState, validateDesiredState, ValidationError } from '../../../agent/desired/validate.js';
import { examplesOf, rulesAt } from '../../lib/desired-example.js';

const exampleText = `
networks:
  - { name: web, ipFamily: IPV4, cidr: 10.96.1.0/24, gateway: 10.96.1.1, gatewayOnBridge: true }
  - { name: db, ipFamily: IPV4, cidr: 10.96.2.0/24, gateway: 10.96.2.1, gatewayOnBridge: true,
      ipv6: { cidr: "fd00:96:2::/64", gateway: "fd00:96:2::1", gatewayOnBridge: true } }
  - { name: plain, ipFamily: IPV4, cidr: 10.96.3.0/24 }
  - { name: vl, ipFamily: IPV4, cidr: 10.96.4.0/24, gateway: 10.96.4.1, gatewayOnBridge: true, uplink: { vlan: { parent: eth1, id: 40 } } }
attachments:
  - { name: a, network: web, veth: { ifName: hv-a, peerNetns: /var/run/netns/a, peerIfName: eth0 }, ip: { static: 10.96.1.10 } }
routers:
  - name: r1
    networks: [web, db]
    external: { interface: eth0 }
  - name: r2
    networks: [vl]
    external: { interface: eth9, nat: SNAT, snatAddress: 198.51.100.7 }
`;

const { example, variant } = examplesOf(exampleText);
const found = (s: DesiredState): string[] => rulesAt(validateDesiredState(s));

describe('routers validation', () => {
  it('accepts the example (MASQUERADE by default, SNAT with its address, a dual-stack network)', () => {
    const s = example();
    expect(s.routers[0]!.external!.nat).toBe(NatMode.NAT_MODE_UNSPECIFIED);
    expect(s.routers[1]!.external!.nat).toBe(NatMode.SNAT);
    expect(found(s)).toEqual([]);
  });

  it('names: required, the resource-name pattern, unique', () => {
    expect(found(variant((s) => { s.routers[1]!.name = 'r1'; }))).toEqual(['routers[1].name name-unique']);
    expect(found(variant((s) => { s.routers[0]!.name = 'R_1'; }))).toEqual(['routers[0].name name-format']);
    expect(found(variant((s) => { s.routers[0]!.name = ''; }))).toEqual(['routers[0].name name-required']);
  });

  it('networks: at least one, defined, not twice, each with its gateways on the bridge', () => {
    expect(found(variant((s) => { s.routers[0]!.networks = []; }))).toEqual(['routers[0].networks router-networks']);
    expect(found(variant((s) => { s.routers[0]!.networks.push('nope'); }))).toEqual(['routers[0].networks[2] reference-resolves']);
    expect(found(variant((s) => { s.routers[0]!.networks.push('web'); }))).toEqual(['routers[0].networks[2] router-network-unique']);
    expect(found(variant((s) => { s.routers[0]!.networks.push('plain'); }))).toEqual(['routers[0].networks[2] router-needs-gateway']);
    // The IPv6 half of a dual-stack network needs its own gateway on the bridge too.
    const v6 = validateDesiredState(variant((s) => { s.networks[1]!.ipv6!.gatewayOnBridge = false; }));
    expect(v6.map((v) => `${v.path} ${v.rule}`)).toEqual(['routers[0].networks[1] router-needs-gateway']);
    expect(v6[0]!.message).toContain('ipv6.gateway');
  });

  it('a routed network joins a router: its gateway, on each of its devices, is the router\'s there', () => {
    const s = variant((x) => {
      x.networks.push(...parseDesiredState('networks:\n  - { name: rt, mode: ROUTED, ipFamily: IPV4, cidr: 10.96.9.0/24 }\n').networks);
      x.routers[0]!.networks.push('rt');
    });
    expect(found(s)).toEqual([]);
  });

  it('external interface: a valid name, never a device hostnet makes', () => {
    expect(found(variant((s) => { s.routers[0]!.external!.interface = ''; }))).toEqual(['routers[0].external.interface ifname-valid']);
    expect(found(variant((s) => { s.routers[0]!.external!.interface = 'a-name-that-is-too-long'; }))).toEqual(['routers[0].external.interface ifname-valid']);
    for (const dev of ['hn-web', 'hv-a', 'eth1.40']) {
      const vs = validateDesiredState(variant((s) => { s.routers[0]!.external!.interface = dev; }));
      expect(vs.map((v) => `${v.path} ${v.rule}`), dev).toEqual(['routers[0].external.interface router-external-own-device']);
    }
    // The VLAN's parent is the host's NIC, not hostnet's: it may be the way out.
    expect(found(variant((s) => { s.routers[0]!.external!.interface = 'eth1'; }))).toEqual([]);
  });

  it('NAT: SNAT needs an IPv4 snatAddress; MASQUERADE and NO_NAT take none', () => {
    expect(found(variant((s) => { s.routers[1]!.external!.snatAddress = ''; }))).toEqual(['routers[1].external.snatAddress snat-address-required']);
    expect(found(variant((s) => { s.routers[1]!.external!.snatAddress = '198.51.100'; }))).toEqual(['routers[1].external.snatAddress ip-format']);
    expect(found(variant((s) => { s.routers[1]!.external!.snatAddress = '2001:db8::7'; }))).toEqual(['routers[1].external.snatAddress snat-address-ipv4']);
    expect(found(variant((s) => { s.routers[0]!.external!.snatAddress = '198.51.100.8'; }))).toEqual(['routers[0].external.snatAddress snat-address-unused']);
    expect(found(variant((s) => { s.routers[1]!.external!.nat = NatMode.NO_NAT; }))).toEqual(['routers[1].external.snatAddress snat-address-unused']);
    expect(found(variant((s) => { s.routers[1]!.external!.nat = NatMode.MASQUERADE; s.routers[1]!.external!.snatAddress = ''; }))).toEqual([]);
    expect(found(variant((s) => { s.routers[1]!.external!.nat = NatMode.UNRECOGNIZED; }))).toEqual(['routers[1].external.nat nat-mode']);
  });

  it('every violation in one INVALID_ARGUMENT-style error', () => {
    const s = variant((x) => {
      x.routers[0]!.networks.push('web', 'nope');
      x.routers[0]!.external!.interface = 'hn-db';
      x.routers[1]!.name = 'r1';
      x.routers[1]!.external!.snatAddress = '';
    });
    let err: unknown;
    try {
      assertValidDesiredState(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => v.path)).toEqual([
      'routers[0].networks[2]', 'routers[0].networks[3]', 'routers[0].external.interface', 'routers[1].name', 'routers[1].external.snatAddress',
    ]);
    expect((err as Error).message).toContain('5 violations');
  });
});
