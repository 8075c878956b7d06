import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import type { Attachment, DesiredState, SecurityRule } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { parseProtocol, PORT_PROTOCOLS, protocolText } from '../../../agent/desired/validate-security.js';
import { validateDesiredState } from '../../../agent/desired/validate.js';
import { examplesOf, rulesAt } from '../../lib/desired-example.js';
import { ISSUE9_PORT_SECURITY, ISSUE9_WEB_GROUP } from '../../lib/issue-security.js';

// The issue's example, with the network it refers to.
const exampleText = `
networks:
  - name: n
    ipFamily: IPV4
    cidr: 10.70.0.0/24
securityGroups:
${ISSUE9_WEB_GROUP}
attachments:
  - name: a
    network: n
    veth: { ifName: hv-a, peerNetns: /var/run/netns/a, peerIfName: eth0 }
    ip: { static: 10.70.0.10 }
${ISSUE9_PORT_SECURITY}
`;

const { example, variant } = examplesOf(exampleText);
const rule = (s: DesiredState, j: number): SecurityRule => s.securityGroups[0]!.rules[j]!;
const ps = (s: DesiredState) => s.attachments[0]!.portSecurity!;

describe('parseProtocol', () => {
  it('names, in any case, and the empty default', () => {
    expect(parseProtocol('')).toBe(0);
    expect(parseProtocol('ANY')).toBe(0);
    expect(parseProtocol('any')).toBe(0);
    expect(parseProtocol('TCP')).toBe(6);
    expect(parseProtocol('tcp')).toBe(6);
    expect(parseProtocol('Udp')).toBe(17);
    expect(parseProtocol('ICMP')).toBe(1);
    expect(parseProtocol('icmpv6')).toBe(58);
  });
  it('decimal numbers 0..255', () => {
    expect(parseProtocol('0')).toBe(0);
    expect(parseProtocol('132')).toBe(132);
    expect(parseProtocol('255')).toBe(255);
  });
  it('refuses anything else', () => {
    for (const bad of ['256', '-1', '1.5', '06', ' tcp', 'tcp ', 'SCTP', 'ip', '0x11', '1e2', '9999']) {
      expect(parseProtocol(bad), bad).toBeNull();
    }
  });
  it('PORT_PROTOCOLS are TCP, UDP, DCCP, SCTP, UDP-Lite', () => {
    expect([...PORT_PROTOCOLS].sort((a, b) => a - b)).toEqual([6, 17, 33, 132, 136]);
    expect(protocolText(58)).toBe('ICMPV6');
    expect(protocolText(132)).toBe('132');
  });
});

describe('validateDesiredState: security groups and port security', () => {
  it('the issue example parses and is valid', () => {
    const s = example();
    expect(s.securityGroups[0]!.rules).toHaveLength(4);
    expect(rule(s, 0)).toMatchObject({ direction: 1, protocol: 'TCP', fromPort: 80, toPort: 80, remote: { $case: 'remoteCidr', remoteCidr: '0.0.0.0/0' } });
    expect(rule(s, 1).remote).toEqual({ $case: 'remoteGroup', remoteGroup: 'web' });
    expect(s.attachments[0]!.portSecurity).toEqual({ enabled: true, securityGroups: ['web'], allowedAddressPairs: [{ ip: '10.70.0.200', mac: '' }] });
    expect(validateDesiredState(s)).toEqual([]);
  });

  it('accepts numbers (also unquoted in YAML), one port alone, IPv6 remotes, ICMPV6 with an IPv6 CIDR, pairs as CIDRs and with a MAC', () => {
    const s = parseDesiredState(exampleText.replace('protocol: ICMP }', 'protocol: 132, fromPort: 5000 }')
      .replace('{ direction: EGRESS, protocol: ANY }', '{ direction: EGRESS, protocol: icmpv6, remoteCidr: "fd00::/8" }')
      .replace('[{ ip: 10.70.0.200 }]', '[{ ip: 10.70.0.200 }, { ip: 10.80.0.0/16, mac: "52:54:00:AA:00:01" }, { ip: "fd00::5" }]'));
    expect(rule(s, 2).protocol).toBe('132');
    expect(validateDesiredState(s)).toEqual([]);
  });

  it('port security off with nothing asked of it, or absent, is valid', () => {
    expect(validateDesiredState(variant((s) => { s.attachments[0]!.portSecurity = { enabled: false, securityGroups: [], allowedAddressPairs: [] }; }))).toEqual([]);
    expect(validateDesiredState(variant((s) => { s.attachments[0]!.portSecurity = undefined; }))).toEqual([]);
  });

  const cases: [string, (s: DesiredState) => void, string][] = [
    ['group name required', (s) => { s.securityGroups[0]!.name = ''; ps(s).securityGroups = []; rule(s, 1).remote = undefined; }, 'securityGroups[0].name name-required'],
    ['group name format', (s) => { s.securityGroups.push({ name: 'Web_1', rules: [], description: '' }); }, 'securityGroups[1].name name-format'],
    ['group defined twice', (s) => { s.securityGroups.push({ name: 'web', rules: [], description: '' }); }, 'securityGroups[1].name name-unique'],
    ['direction unspecified', (s) => { rule(s, 0).direction = 0; }, 'securityGroups[0].rules[0].direction rule-direction'],
    ['protocol unknown', (s) => { rule(s, 3).protocol = 'GRE'; }, 'securityGroups[0].rules[3].protocol rule-protocol'],
    ['protocol number out of range', (s) => { rule(s, 3).protocol = '256'; }, 'securityGroups[0].rules[3].protocol rule-protocol'],
    ['port 0', (s) => { rule(s, 0).fromPort = 0; }, 'securityGroups[0].rules[0].fromPort rule-port-range'],
    ['port above 65535', (s) => { rule(s, 0).toPort = 65536; }, 'securityGroups[0].rules[0].toPort rule-port-range'],
    ['fromPort above toPort', (s) => { rule(s, 0).fromPort = 443; }, 'securityGroups[0].rules[0].toPort rule-port-order'],
    ['a port range on ICMP', (s) => { rule(s, 2).fromPort = 8; }, 'securityGroups[0].rules[2].fromPort rule-ports-protocol'],
    ['a port on ANY', (s) => { rule(s, 3).toPort = 53; }, 'securityGroups[0].rules[3].toPort rule-ports-protocol'],
    ['remoteCidr without a prefix', (s) => { rule(s, 0).remote = { $case: 'remoteCidr', remoteCidr: '10.0.0.1' }; }, 'securityGroups[0].rules[0].remoteCidr cidr-format'],
    ['remoteCidr nonsense', (s) => { rule(s, 0).remote = { $case: 'remoteCidr', remoteCidr: '10.0.0.0/33' }; }, 'securityGroups[0].rules[0].remoteCidr cidr-format'],
    ['remoteCidr host bits', (s) => { rule(s, 0).remote = { $case: 'remoteCidr', remoteCidr: '10.1.2.3/8' }; }, 'securityGroups[0].rules[0].remoteCidr cidr-network-address'],
    ['ICMP with an IPv6 CIDR', (s) => { rule(s, 2).remote = { $case: 'remoteCidr', remoteCidr: '::/0' }; }, 'securityGroups[0].rules[2].remoteCidr rule-family'],
    ['ICMPV6 with an IPv4 CIDR', (s) => { rule(s, 2).protocol = 'ICMPV6'; rule(s, 2).remote = { $case: 'remoteCidr', remoteCidr: '10.0.0.0/8' }; }, 'securityGroups[0].rules[2].remoteCidr rule-family'],
    ['protocol 58 with an IPv4 CIDR', (s) => { rule(s, 2).protocol = '58'; rule(s, 2).remote = { $case: 'remoteCidr', remoteCidr: '10.0.0.0/8' }; }, 'securityGroups[0].rules[2].remoteCidr rule-family'],
    ['remoteGroup unknown', (s) => { rule(s, 1).remote = { $case: 'remoteGroup', remoteGroup: 'db' }; }, 'securityGroups[0].rules[1].remoteGroup reference-resolves'],
    ['remoteGroup empty', (s) => { rule(s, 1).remote = { $case: 'remoteGroup', remoteGroup: '' }; }, 'securityGroups[0].rules[1].remoteGroup reference-resolves'],
    ['attachment names an unknown group', (s) => { ps(s).securityGroups.push('db'); }, 'attachments[0].portSecurity.securityGroups[1] reference-resolves'],
    ['attachment names a group twice', (s) => { ps(s).securityGroups.push('web'); }, 'attachments[0].portSecurity.securityGroups[1] security-group-repeated'],
    ['address pair not an address', (s) => { ps(s).allowedAddressPairs[0]!.ip = 'vip'; }, 'attachments[0].portSecurity.allowedAddressPairs[0].ip ip-format'],
    ['address pair empty', (s) => { ps(s).allowedAddressPairs[0]!.ip = ''; }, 'attachments[0].portSecurity.allowedAddressPairs[0].ip ip-format'],
    ['address pair bad CIDR', (s) => { ps(s).allowedAddressPairs[0]!.ip = '10.70.0.0/40'; }, 'attachments[0].portSecurity.allowedAddressPairs[0].ip ip-format'],
    ['address pair CIDR host bits', (s) => { ps(s).allowedAddressPairs[0]!.ip = '10.70.0.200/24'; }, 'attachments[0].portSecurity.allowedAddressPairs[0].ip cidr-network-address'],
    ['address pair MAC malformed', (s) => { ps(s).allowedAddressPairs[0]!.mac = '52:54:00:00:01'; }, 'attachments[0].portSecurity.allowedAddressPairs[0].mac mac-valid'],
    ['address pair MAC multicast', (s) => { ps(s).allowedAddressPairs[0]!.mac = '01:00:5e:00:00:01'; }, 'attachments[0].portSecurity.allowedAddressPairs[0].mac mac-valid'],
    ['groups while disabled', (s) => { ps(s).enabled = false; ps(s).allowedAddressPairs = []; }, 'attachments[0].portSecurity.enabled port-security-disabled'],
    ['address pairs while disabled', (s) => { ps(s).enabled = false; ps(s).securityGroups = []; }, 'attachments[0].portSecurity.enabled port-security-disabled'],
  ];
  it.each(cases)('%s', (_name, edit, expected) => {
    expect(rulesAt(validateDesiredState(variant(edit)))).toEqual([expected]);
  });

  it('port security while disabled: the message says it would not be enforced', () => {
    const vs = validateDesiredState(variant((s) => { ps(s).enabled = false; }));
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringContaining('portSecurity.enabled is false: security groups would not be enforced'),
      expect.stringContaining('portSecurity.enabled is false: allowed address pairs would not be enforced'),
    ]);
  });

  it('host bits: the message names the network', () => {
    const [v] = validateDesiredState(variant((s) => { rule(s, 0).remote = { $case: 'remoteCidr', remoteCidr: '10.1.2.3/8' }; }));
    expect(v!.message).toBe('remoteCidr 10.1.2.3/8 has host bits set; the network is 10.0.0.0/8');
  });

  it('a rule may name a group defined after its own', () => {
    const s = variant((st) => {
      rule(st, 1).remote = { $case: 'remoteGroup', remoteGroup: 'db' };
      st.securityGroups.push({ name: 'db', rules: [], description: '' });
    });
    expect(validateDesiredState(s)).toEqual([]);
  });

  it('at most 4095 attachments with port security enabled', () => {
    const s = variant((st) => {
      st.networks[0]!.cidr = '10.64.0.0/12';
      st.attachments = [];
      for (let i = 0; i < 4097; i++) {
        const a: Attachment = {
          name: `a${i}`, network: 'n', kind: { $case: 'tap', tap: { ifName: `tap${i}`, multiQueue: false, vnetHdr: false } },
          portSecurity: { enabled: true, securityGroups: ['web'], allowedAddressPairs: [] },
        } as Attachment;
        st.attachments.push(a);
      }
    });
    const vs = validateDesiredState(s);
    expect(rulesAt(vs)).toEqual(['attachments[4095].portSecurity.enabled port-security-limit']);
    expect(vs[0]!.message).toMatch(/^4097 attachments have port security enabled; at most 4095/);
    s.attachments[4095]!.portSecurity!.enabled = false;
    s.attachments[4095]!.portSecurity!.securityGroups = [];
    s.attachments[4096]!.portSecurity = undefined;
    expect(validateDesiredState(s)).toEqual([]);
  });

  it('many bad fields: every violation at once', () => {
    const s = variant((st) => {
      st.securityGroups.push({ name: 'web', rules: [], description: '' });
      rule(st, 0).direction = 0;
      rule(st, 0).fromPort = 90;
      rule(st, 1).remote = { $case: 'remoteGroup', remoteGroup: 'nope' };
      rule(st, 2).toPort = 1;
      rule(st, 3).protocol = 'tcpx';
      rule(st, 3).remote = { $case: 'remoteCidr', remoteCidr: '10.0.0.0' };
      ps(st).securityGroups.push('db');
      ps(st).allowedAddressPairs.push({ ip: 'x', mac: 'ff:ff:ff:ff:ff:ff' });
    });
    expect(rulesAt(validateDesiredState(s))).toEqual([
      'securityGroups[1].name name-unique',
      'securityGroups[0].rules[0].direction rule-direction',
      'securityGroups[0].rules[0].toPort rule-port-order',
      'securityGroups[0].rules[1].remoteGroup reference-resolves',
      'securityGroups[0].rules[2].toPort rule-ports-protocol',
      'securityGroups[0].rules[3].protocol rule-protocol',
      'securityGroups[0].rules[3].remoteCidr cidr-format',
      'attachments[0].portSecurity.securityGroups[1] reference-resolves',
      'attachments[0].portSecurity.allowedAddressPairs[1].ip ip-format',
      'attachments[0].portSecurity.allowedAddressPairs[1].mac mac-valid',
    ]);
  });
});
