import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DesiredStateParseError, desiredStateToYaml, parseDesiredState } from '../../../agent/api/desired-state.js';
import { DesiredState, IpFamily } from '../../../agent/api/gen/hostnet/v1/resources.js';

const example = readFileSync(new URL('./fixtures/issue-example.yaml', import.meta.url), 'utf8');

describe('desired state in the proto JSON mapping', () => {
  it('loads the example of issue 3 as written', () => {
    const s = parseDesiredState(example);
    expect(s.generation).toBe(1);
    const web = s.networks[0]!;
    expect(web.name).toBe('web');
    expect(web.mtu).toBe(1500);
    expect(web.uplink?.kind).toEqual({ $case: 'vlan', vlan: { parent: 'eth1', id: 600 } });
    expect(web.ipFamily).toBe(IpFamily.IPV4);
    expect(web.cidr).toBe('192.168.10.0/24');
    expect(web.gateway).toBe('192.168.10.1');
    expect(web.gatewayOnBridge).toBe(true);
    expect(web.dhcp?.enabled).toBe(true);
    expect(web.dhcp?.pools).toEqual([{ start: '192.168.10.50', end: '192.168.10.200' }]);
    expect(web.dhcp?.dnsServers).toEqual(['192.168.10.1']);
    expect(web.dhcp?.routes).toEqual([{ destination: '10.10.0.0/16', via: '192.168.10.1' }]);
    expect(web.dhcp?.leaseSeconds).toBe(3600);
    const [vm, pod] = s.attachments;
    expect(vm?.kind).toEqual({ $case: 'tap', tap: expect.objectContaining({ ifName: 'tap-vm1' }) });
    expect(vm?.mac).toBe('52:54:00:00:00:01');
    expect(vm?.ip?.mode).toEqual({ $case: 'auto', auto: {} });
    expect(pod?.kind).toEqual({ $case: 'veth', veth: { ifName: 'hv-poda', peerNetns: '/var/run/netns/poda', peerIfName: 'net1' } });
    expect(pod?.ip?.mode).toEqual({ $case: 'static', static: '192.168.10.71' });
  });

  it('round-trips through YAML and the binary encoding', () => {
    const s = parseDesiredState(example);
    expect(parseDesiredState(desiredStateToYaml(s))).toEqual(s);
    expect(DesiredState.decode(DesiredState.encode(s).finish())).toEqual(s);
  });

  it('reads JSON, and an empty document is an empty state', () => {
    expect(parseDesiredState('{"generation": 4, "networks": [{"name": "a", "ipFamily": "IPV6"}]}', { format: 'json' }).networks[0]?.ipFamily)
      .toBe(IpFamily.IPV6);
    expect(parseDesiredState('').generation).toBe(0);
  });

  it('refuses unknown keys instead of dropping them', () => {
    const text = 'networks:\n  - name: web\n    gatewayOnbridge: true\n    dhcp: { enabled: true, leaseSecond: 60 }\n';
    expect(() => parseDesiredState(text)).toThrow(DesiredStateParseError);
    try {
      parseDesiredState(text);
    } catch (err) {
      expect((err as DesiredStateParseError).problems).toEqual([
        'networks[0].gatewayOnbridge: unknown field (did you mean gatewayOnBridge?)',
        'networks[0].dhcp.leaseSecond: unknown field (did you mean leaseSeconds?)',
      ]);
    }
  });

  it('reports YAML syntax errors and non-mapping documents', () => {
    expect(() => parseDesiredState('networks: [')).toThrow(/not valid YAML/);
    expect(() => parseDesiredState('- 1\n- 2\n')).toThrow(/the document: expected a mapping \(fields generation, networks, attachments, securityGroups, node, routers\), got a list/);
    expect(() => parseDesiredState('{', { format: 'json', source: 'x.json' })).toThrow(/x\.json: not valid JSON/);
  });
});
