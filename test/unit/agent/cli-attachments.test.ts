// hostnetctl's attachment output (issue 11): addresses as CIDRs instead of "auto", the
// container of a hostnet-cni attachment, and describe's addressing block (addresses with source
// and whether assigned, gateway, routes, VLAN, workload interface, container). The pure
// formatting, and the two commands over a stand-in client (GetState/GetStatus from memory).
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { GetStateResponse, GetStatusResponse, NodeAgentClient } from '../../../agent/api/gen/hostnet/v1/agent.js';
import { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { AddressSource, AttachmentStatus, ConditionStatus } from '../../../agent/api/gen/hostnet/v1/status.js';
import { describeAttachment, getAttachments } from '../../../agent/cli/commands.js';
import { addressesCell, addressLines, containerCell, kindCell } from '../../../agent/cli/attachment-view.js';

const stateText = `
networks:
  - name: n
    ipFamily: IPV4
    cidr: 10.70.0.0/24
    gateway: 10.70.0.1
    uplink: { vlan: { parent: eth1, id: 600 } }
attachments:
  - name: a
    network: n
    veth: { ifName: hv-a, peerNetns: /var/run/netns/a, peerIfName: eth0 }
    ip: { static: 10.70.0.10, addresses: [{ auto: {} }] }
  - name: b
    network: n
    tap: { ifName: tap-b }
  - name: s
    network: n
    veth: { ifName: hv-s, peerNetns: /var/run/netns/s, peerIfName: net1 }
    ip: { static: 10.70.0.30 }
`;
// The generated fromJSON, not parseDesiredState: its shape check is not what this file tests.
const state = (): DesiredState => DesiredState.fromJSON(YAML.parse(stateText));

const CONTAINER = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const addr = (ip: string, source: AddressSource, assigned: boolean) => ({ ip, prefixLength: 24, network: 'n', source, assigned });
const ready = [{ type: 'Ready', status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'Ready', message: '', observedGeneration: 3 }];

function attachmentStatus(name: string, extra: Partial<AttachmentStatus> = {}): AttachmentStatus {
  return AttachmentStatus.fromPartial({ name, network: 'n', ifName: `hv-${name}`, ifindex: 7, mac: '02:00:00:00:00:0a', conditions: ready, ...extra });
}

const statusA = attachmentStatus('a', {
  ip: '10.70.0.10',
  addresses: [addr('10.70.0.10', AddressSource.ADDRESS_SOURCE_STATIC, true), addr('10.70.0.100', AddressSource.ADDRESS_SOURCE_AUTO, true)],
  gateway: '10.70.0.1',
  routes: [{ destination: '0.0.0.0/0', via: '10.70.0.1' }, { destination: '10.99.0.0/16', via: '10.70.0.254' }],
  vlanId: 600, workloadIfName: 'eth0', mtu: 1500,
});
const statusB = attachmentStatus('b', { vlanId: 600, mtu: 1500 });
/** A hostnet-cni attachment: in the status, not in GetState's desired state. */
const statusCni = attachmentStatus('cni-0123456789ab', {
  ifName: 'cni0123456789ab', ip: '10.70.0.101',
  addresses: [addr('10.70.0.101', AddressSource.ADDRESS_SOURCE_AUTO, true)],
  gateway: '10.70.0.1', routes: [], vlanId: 600, workloadIfName: 'eth0', containerId: CONTAINER, mtu: 1500,
});
/** skipAssignment: reserved and reported, not on the interface. */
const statusS = attachmentStatus('s', {
  ip: '10.70.0.30', addresses: [addr('10.70.0.30', AddressSource.ADDRESS_SOURCE_STATIC, false)], workloadIfName: 'net1',
});

describe('hostnetctl attachments: formatting', () => {
  it('ADDRESSES: every address as a CIDR, comma-separated; "-" when none; status.ip alone still shows', () => {
    expect(addressesCell(statusA)).toBe('10.70.0.10/24,10.70.0.100/24');
    expect(addressesCell(statusB)).toBe('-');
    expect(addressesCell(attachmentStatus('x', { ip: '10.70.0.9' }))).toBe('10.70.0.9');
  });

  it('KIND comes from the spec, or from the status for an attachment known only by its status', () => {
    expect(kindCell(state().attachments[1], statusB)).toBe('tap');
    expect(kindCell(undefined, statusCni)).toBe('veth');
    expect(kindCell(undefined, statusB)).toBe('-');
  });

  it('CONTAINER: 12 characters in the table, the whole id with -o wide, "-" when none', () => {
    expect(containerCell(statusCni, false)).toBe('0123456789ab');
    expect(containerCell(statusCni, true)).toBe(CONTAINER);
    expect(containerCell(statusA, false)).toBe('-');
  });

  it('describe\'s address lines: source and whether assigned; the spec\'s wish before the agent reports', () => {
    expect(addressLines(state().attachments[0], statusA)).toEqual(['10.70.0.10/24 (static, assigned)', '10.70.0.100/24 (auto, assigned)']);
    expect(addressLines(state().attachments[2], statusS)).toEqual(['10.70.0.30/24 (static, not assigned)']);
    expect(addressLines(state().attachments[2], attachmentStatus('s'))).toEqual(['10.70.0.30 (static, not reported by the agent yet)']);
    expect(addressLines(state().attachments[0], attachmentStatus('a', { addresses: [] }))).toEqual(['10.70.0.10 (static, not reported by the agent yet)']);
    expect(addressLines(state().attachments[1], statusB)).toEqual(['-']);
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

describe('hostnetctl attachments: commands', () => {
  const status: GetStatusResponse = { generation: 3, observedGeneration: 3, networks: [], attachments: [statusA, statusB, statusCni, statusS] };
  const run = async (f: (ctx: Parameters<typeof getAttachments>[0]) => Promise<void>): Promise<string> => {
    const out: string[] = [];
    await f({ client: fakeClient(state(), status), socket: '/nonexistent', out: (t) => out.push(t) });
    return out.join('\n');
  };

  it('get attachments: ADDRESSES instead of "auto", CONTAINER for hostnet-cni attachments', async () => {
    const lines = (await run((ctx) => getAttachments(ctx, 'table'))).split('\n');
    expect(lines[0]).toMatch(/^NAME\s+NETWORK\s+KIND\s+IFNAME\s+ADDRESSES\s+READY\s+AGE\s+CONTAINER$/);
    expect(lines[1]).toMatch(/^a\s+n\s+veth\s+hv-a\s+10\.70\.0\.10\/24,10\.70\.0\.100\/24\s+True\s+\S+\s+-$/);
    expect(lines[2]).toMatch(/^b\s+n\s+tap\s+hv-b\s+-\s+True\s+\S+\s+-$/);
    expect(lines[3]).toMatch(/^cni-0123456789ab\s+n\s+veth\s+cni0123456789ab\s+10\.70\.0\.101\/24\s+True\s+\S+\s+0123456789ab$/);
    expect(lines[4]).toMatch(/^s\s+n\s+veth\s+hv-s\s+10\.70\.0\.30\/24\s+True/);
  });

  it('get attachments -o wide: the whole container id, the wide columns after it', async () => {
    const lines = (await run((ctx) => getAttachments(ctx, 'wide'))).split('\n');
    expect(lines[0]).toMatch(/^NAME\s+NETWORK\s+KIND\s+IFNAME\s+ADDRESSES\s+READY\s+AGE\s+CONTAINER\s+MAC\s+IFINDEX\s+CONFIGURED\s+NEGOTIATED\s+REASON$/);
    expect(lines[3]).toContain(` ${CONTAINER} `);
    expect(lines[3]).toMatch(/02:00:00:00:00:0a\s+7\s+-\s+-\s+-$/);
  });

  it('get attachments -o json: the status fields as the API names them', async () => {
    const json = JSON.parse(await run((ctx) => getAttachments(ctx, 'json'))) as { attachments: Record<string, unknown>[] };
    expect(json.attachments[0]).toMatchObject({
      gateway: '10.70.0.1', vlanId: 600, workloadIfName: 'eth0', mtu: 1500,
      addresses: [{ ip: '10.70.0.10', prefixLength: 24, network: 'n', source: 'ADDRESS_SOURCE_STATIC', assigned: true }, { ip: '10.70.0.100', source: 'ADDRESS_SOURCE_AUTO' }],
      routes: [{ destination: '0.0.0.0/0', via: '10.70.0.1' }, { destination: '10.99.0.0/16', via: '10.70.0.254' }],
    });
    expect(json.attachments[2]).toMatchObject({ containerId: CONTAINER });
  });

  it('describe attachment: the addressing block between MTU and Generation', async () => {
    const text = await run((ctx) => describeAttachment(ctx, 'a'));
    const lines = text.split('\n');
    const at = lines.indexOf('MTU:          1500');
    expect(at, text).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 10)).toEqual([
      'Addresses:    10.70.0.10/24 (static, assigned)',
      '              10.70.0.100/24 (auto, assigned)',
      'Gateway:      10.70.0.1',
      'Routes:       0.0.0.0/0 via 10.70.0.1',
      '              10.99.0.0/16 via 10.70.0.254',
      'VLAN:         600',
      'Workload IF:  eth0',
      'Container:    -',
      'Generation:   3 observed, 3 desired',
    ]);
    expect(text).toContain('Kind:         veth (peer eth0 in /var/run/netns/a)');
  });

  it('describe attachment: a TAP has none of them; a skipAssignment address says not assigned', async () => {
    const b = await run((ctx) => describeAttachment(ctx, 'b'));
    expect(b).toMatch(/\nAddresses:\s+-\nGateway:\s+-\nRoutes:\s+-\nVLAN:\s+600\nWorkload IF:\s+-\nContainer:\s+-\n/);
    expect(await run((ctx) => describeAttachment(ctx, 's'))).toContain('Addresses:    10.70.0.30/24 (static, not assigned)');
  });

  it('describe attachment: a hostnet-cni attachment known only by its status, with its container', async () => {
    const text = await run((ctx) => describeAttachment(ctx, 'cni-0123456789ab'));
    expect(text).toContain('Kind:         veth (peer eth0)');
    expect(text).toContain(`Container:    ${CONTAINER}`);
    expect(text).toContain('Addresses:    10.70.0.101/24 (auto, assigned)');
    expect(text).not.toContain('Port security');
    await expect(run((ctx) => describeAttachment(ctx, 'nope'))).rejects.toThrow('attachment "nope" not found');
  });
});
