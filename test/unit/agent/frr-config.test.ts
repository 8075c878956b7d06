// FRR's configuration as rendered from the desired state, and FRR's JSON as read back (shapes
// recorded from FRR 8.4.4's vtysh).
import { describe, expect, it } from 'vitest';
import { descriptionOf, renderFrrConfig } from '../../../agent/frr/config.js';
import { isDaemonOf } from '../../../agent/frr/daemons.js';
import { frrInstance } from '../../../agent/frr/instance.js';
import { reloadErrors } from '../../../agent/frr/reload.js';
import { parseBgpSummary, parseEvpnVnis } from '../../../agent/frr/state.js';

const bgp = {
  asn: 65001,
  routerId: '10.0.0.1',
  peers: [
    { address: '10.0.0.2', asn: 65002, description: 'rack 2' },
    { address: '10.0.0.254', asn: 65001, description: '' },
  ],
};

describe('renderFrrConfig', () => {
  it('renders the datacenter profile, the speaker, its peers and L2VPN EVPN with advertise-all-vni', () => {
    expect(renderFrrConfig({ hostname: 'node-a', bgp })).toBe([
      '! Written by hostnet-agent from the desired state: edits are overwritten.',
      'frr defaults datacenter',
      'hostname node-a',
      '!',
      'router bgp 65001',
      ' bgp router-id 10.0.0.1',
      ' no bgp default ipv4-unicast',
      ' neighbor 10.0.0.2 remote-as 65002',
      ' neighbor 10.0.0.2 description rack 2',
      ' neighbor 10.0.0.254 remote-as 65001',
      ' !',
      ' address-family l2vpn evpn',
      '  neighbor 10.0.0.2 activate',
      '  neighbor 10.0.0.254 activate',
      '  advertise-all-vni',
      ' exit-address-family',
      'exit',
      '!',
      '',
    ].join('\n'));
  });

  it('renders no router bgp without BGP (a reload then removes it)', () => {
    const text = renderFrrConfig({ hostname: 'node-a', bgp: null });
    expect(text).not.toMatch(/router bgp/);
    expect(text).toMatch(/^frr defaults datacenter$/m);
  });

  it('renders IPv6 peers like IPv4 ones, and a speaker without peers', () => {
    const v6 = renderFrrConfig({ hostname: 'h', bgp: { asn: 4200000001, routerId: '10.0.0.1', peers: [{ address: 'fd00::2', asn: 4200000002, description: '' }] } });
    expect(v6).toContain(' neighbor fd00::2 remote-as 4200000002\n');
    expect(v6).toContain('  neighbor fd00::2 activate\n');
    const lonely = renderFrrConfig({ hostname: 'h', bgp: { asn: 65001, routerId: '10.0.0.1', peers: [] } });
    expect(lonely).toContain('  advertise-all-vni\n');
    expect(lonely).not.toContain('neighbor');
  });

  it('is deterministic: the same input gives the same text (a pass compares texts)', () => {
    expect(renderFrrConfig({ hostname: 'a', bgp })).toBe(renderFrrConfig({ hostname: 'a', bgp: structuredClone(bgp) }));
  });

  it('cannot be made to carry other commands through a description or the hostname', () => {
    const evil = renderFrrConfig({ hostname: 'a b\nrouter ospf', bgp: { ...bgp, peers: [{ address: '10.0.0.2', asn: 65002, description: 'x\n no router bgp 65001\r\n' }] } });
    expect(evil.split('\n').filter((l) => /router ospf|^\s*no router bgp/.test(l))).toEqual([]);
    expect(evil).toContain(' neighbor 10.0.0.2 description x no router bgp 65001\n');
    expect(evil).toMatch(/^hostname a-b-router-ospf$/m);
    expect(descriptionOf('y'.repeat(100))).toHaveLength(80);
    expect(descriptionOf('  \t ')).toBe('');
  });
});

describe('FRR state from vtysh JSON', () => {
  it('reads peers from every address family of show bgp summary json, EVPN prefix counts', () => {
    const peers = parseBgpSummary({
      l2VpnEvpn: {
        routerId: '10.99.0.1', as: 65001,
        peers: {
          '10.99.0.2': { remoteAs: 65002, state: 'Established', pfxRcd: 2, peerUptimeMsec: 6000, connectionsEstablished: 1 },
          'fd00:0:0::3': { remoteAs: 65003, state: 'Active', pfxRcd: 0, peerUptimeMsec: 1000, connectionsEstablished: 0 },
        },
      },
      ipv4Unicast: { peers: { '10.99.0.2': { remoteAs: 65002, state: 'Established', pfxRcd: 7, peerUptimeMsec: 6000 } } },
    }, 100_000);
    expect(peers.get('10.99.0.2')).toEqual({ address: '10.99.0.2', asn: 65002, state: 'Established', prefixesReceived: 2, establishedAt: 94_000, connectionsEstablished: 1 });
    // Addresses are canonical: the desired state's spelling may differ.
    expect(peers.get('fd00::3')).toMatchObject({ state: 'Active', establishedAt: null, prefixesReceived: 0 });
    expect(parseBgpSummary({}, 0).size).toBe(0);
  });

  it('reads VNIs and their remote VTEPs from show evpn vni json', () => {
    const vnis = parseEvpnVnis({
      '4242': { vni: 4242, type: 'L2', vxlanIf: 'hnvx4242', numRemoteVteps: 2, remoteVteps: ['10.99.0.3', '10.99.0.2'] },
      '7': { vni: 7, type: 'L2', vxlanIf: 'hnvx7', numRemoteVteps: 0 },
    });
    expect(vnis.get(4242)).toEqual({ vni: 4242, vxlanInterface: 'hnvx4242', remoteVteps: ['10.99.0.2', '10.99.0.3'] });
    expect(vnis.get(7)?.remoteVteps).toEqual([]);
  });

  it('knows its own daemons by command line (pids get reused)', () => {
    const i = frrInstance('hostnet');
    expect(isDaemonOf(i, 'zebra', ['/usr/lib/frr/zebra', '-N', 'hostnet', '-d', '-F', 'datacenter'])).toBe(true);
    expect(isDaemonOf(i, 'bgpd', ['/usr/lib/frr/zebra', '-N', 'hostnet'])).toBe(false);
    expect(isDaemonOf(i, 'zebra', ['/usr/lib/frr/zebra', '-N', 'other'])).toBe(false);
    expect(isDaemonOf(i, 'zebra', ['/usr/lib/frr/zebra', '-d'])).toBe(false);
    expect(isDaemonOf(frrInstance(''), 'zebra', ['/usr/lib/frr/zebra', '-d'])).toBe(true);
    expect(isDaemonOf(i, 'zebra', ['/bin/sleep', '100'])).toBe(false);
  });

  it('refuses a pathspace that is not one path component', () => {
    expect(() => frrInstance('../etc')).toThrow(/pathspace/);
    expect(() => frrInstance('a b')).toThrow(/pathspace/);
  });

  it("keeps frr-reload.py's words that say what failed", () => {
    const out = [
      '2026-11-30 18:32:56,981  INFO: Called via "Namespace(...)"',
      "% Can't open configuration file /etc/frr/x/vtysh.conf due to 'No such file or directory'.",
      '2026-11-30 18:32:57,010  ERROR: vtysh failed to process new configuration: bgpd is not running',
    ].join('\n');
    expect(reloadErrors(out)).toBe(': ERROR: vtysh failed to process new configuration: bgpd is not running');
  });
});
