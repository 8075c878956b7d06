// hostnetctl's security-group and port-security output: the pure formatting, and the two
// commands over a stand-in client (GetState/GetStatus answered from memory, no agent).
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import type { GetStateResponse, GetStatusResponse, NodeAgentClient } from '../../../agent/api/gen/hostnet/v1/agent.js';
import type { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { AttachmentStatus } from '../../../agent/api/gen/hostnet/v1/status.js';
import { describeAttachment, getSecurityGroups } from '../../../agent/cli/commands.js';
import { membersOf, portSecurityLines, securityGroupsText } from '../../../agent/cli/security.js';

const stateText = `
networks:
  - { name: n, ipFamily: IPV4, cidr: 10.70.0.0/24 }
securityGroups:
  - name: web
    description: front ends
    rules:
      - { direction: INGRESS, protocol: TCP, fromPort: 80, toPort: 80, remoteCidr: 0.0.0.0/0 }
      - { direction: INGRESS, protocol: ANY, remoteGroup: web }
      - { direction: INGRESS, protocol: ICMP }
      - { direction: EGRESS, protocol: ANY }
  - name: db
    rules: []
attachments:
  - name: a
    network: n
    veth: { ifName: hv-a, peerNetns: /var/run/netns/a, peerIfName: eth0 }
    ip: { static: 10.70.0.10 }
    portSecurity: { enabled: true, securityGroups: [web], allowedAddressPairs: [{ ip: 10.70.0.200 }] }
  - name: b
    network: n
    tap: { ifName: tap-b }
  - name: c
    network: n
    tap: { ifName: tap-c }
    portSecurity: { enabled: true, securityGroups: [web, db] }
`;
const state = (): DesiredState => parseDesiredState(stateText);

function attachmentStatus(name: string, extra: Partial<AttachmentStatus> = {}): AttachmentStatus {
  return AttachmentStatus.fromPartial({ name, network: 'n', ifName: `hv-${name}`, ifindex: 7, mac: '02:00:00:00:00:0a', ip: '', conditions: [], ...extra });
}

const enforced: AttachmentStatus['portSecurity'] = {
  securityGroups: ['web'],
  allowedAddresses: ['10.70.0.10', '10.70.0.200', 'fe80::ff:fe00:a'],
  allowedMacs: ['02:00:00:00:00:0a'],
  spoofDroppedPackets: 3,
  ingressDroppedPackets: 12,
  egressDroppedPackets: 0,
};

describe('hostnetctl security groups: formatting', () => {
  it('members are the attachments with port security on that name the group', () => {
    expect(membersOf(state(), 'web')).toEqual(['a', 'c']);
    expect(membersOf(state(), 'db')).toEqual(['c']);
    expect(membersOf(undefined, 'web')).toEqual([]);
  });

  it('table: NAME, RULES, MEMBERS; wide adds the description', () => {
    expect(securityGroupsText(state(), 'table').split('\n')).toEqual([
      'NAME   RULES   MEMBERS',
      'web    4       a, c',
      'db     0       c',
    ]);
    expect(securityGroupsText(state(), 'wide').split('\n')).toEqual([
      'NAME   RULES   MEMBERS   DESCRIPTION',
      'web    4       a, c      front ends',
      'db     0       c         -',
    ]);
    expect(securityGroupsText(undefined, 'table')).toBe('NAME   RULES   MEMBERS');
  });

  it('a long member list is cut in the table, whole in wide', () => {
    const s = state();
    for (let i = 0; i < 8; i++) {
      s.attachments.push({ name: `m${i}`, network: 'n', portSecurity: { enabled: true, securityGroups: ['db'], allowedAddressPairs: [] } });
    }
    expect(securityGroupsText(s, 'table')).toContain('db     0       c, m0, m1, m2, m3 (+4 more)');
    expect(securityGroupsText(s, 'wide')).toContain('c, m0, m1, m2, m3, m4, m5, m6, m7');
  });

  it('json and yaml are the groups as a desired state writes them', () => {
    const json = JSON.parse(securityGroupsText(state(), 'json')) as { securityGroups: unknown[] };
    expect(json.securityGroups[0]).toEqual({
      name: 'web', description: 'front ends',
      rules: [
        { direction: 'INGRESS', protocol: 'TCP', fromPort: 80, toPort: 80, remoteCidr: '0.0.0.0/0' },
        { direction: 'INGRESS', protocol: 'ANY', remoteGroup: 'web' },
        { direction: 'INGRESS', protocol: 'ICMP' },
        { direction: 'EGRESS', protocol: 'ANY' },
      ],
    });
    expect(YAML.parse(securityGroupsText(state(), 'yaml'))).toEqual(json);
    // What it prints can be pasted back into a desired state.
    expect(parseDesiredState(securityGroupsText(state(), 'yaml')).securityGroups).toEqual(state().securityGroups);
  });

  it('describe: the block the agent reports', () => {
    expect(portSecurityLines(state().attachments[0]!, attachmentStatus('a', { portSecurity: enforced }))).toEqual([
      'Port security:',
      '  Groups:             web',
      '  Allowed addresses:  10.70.0.10, 10.70.0.200, fe80::ff:fe00:a',
      '  Allowed MACs:       02:00:00:00:00:0a',
      '  Dropped packets:    3 spoofed, 12 ingress policy, 0 egress policy',
    ]);
  });

  it('describe: off when the spec does not enable it, and the spec\'s groups before the agent reports', () => {
    const s = state();
    expect(portSecurityLines(s.attachments[1]!, attachmentStatus('b'))).toEqual(['Port security: off']);
    s.attachments[1]!.portSecurity = { enabled: false, securityGroups: [], allowedAddressPairs: [] };
    expect(portSecurityLines(s.attachments[1]!, attachmentStatus('b'))).toEqual(['Port security: off']);
    expect(portSecurityLines(s.attachments[2]!, attachmentStatus('c'))).toEqual([
      'Port security: on (not reported by the agent yet)',
      '  Groups:             web, db',
    ]);
  });
});

/** A NodeAgentClient that answers GetState and GetStatus from memory. */
function fakeClient(st: DesiredState, status: GetStatusResponse): NodeAgentClient {
  const unary = <T>(res: T) => (_req: unknown, _meta: unknown, _opts: unknown, cb: (err: null, res: T) => void) => {
    setImmediate(() => cb(null, res));
    return {};
  };
  return { getState: unary<GetStateResponse>({ state: st }), getStatus: unary(status) } as unknown as NodeAgentClient;
}

describe('hostnetctl security groups: commands', () => {
  const status: GetStatusResponse = {
    generation: 3, observedGeneration: 3, networks: [],
    attachments: [attachmentStatus('a', { portSecurity: enforced }), attachmentStatus('b')],
  };
  const run = async (f: (ctx: Parameters<typeof getSecurityGroups>[0]) => Promise<void>): Promise<string> => {
    const out: string[] = [];
    await f({ client: fakeClient(state(), status), socket: '/nonexistent', out: (t) => out.push(t) });
    return out.join('\n');
  };

  it('get securitygroups', async () => {
    expect(await run((ctx) => getSecurityGroups(ctx, 'table'))).toMatch(/^NAME\s+RULES\s+MEMBERS\nweb\s+4\s+a, c\ndb\s+0\s+c$/);
  });

  it('describe attachment shows port security between the generation and the conditions', async () => {
    const a = (await run((ctx) => describeAttachment(ctx, 'a'))).split('\n');
    const at = a.indexOf('Port security:');
    expect(a[at - 1]).toMatch(/^Generation: /);
    expect(a[at + 4]).toBe('  Dropped packets:    3 spoofed, 12 ingress policy, 0 egress policy');
    expect(a[at + 5]).toBe('Conditions:');
    expect(await run((ctx) => describeAttachment(ctx, 'b'))).toMatch(/\nPort security: off\nConditions:/);
  });
});
