// The lab's desired-state builders (agent/testing/lab/networks.ts): one network definition
// rendered for each host with its own VTEP address, flood lists of the other hosts, the EVPN
// node settings (an iBGP full mesh), pool slices, and the workloads' default addresses.
import { describe, expect, it } from 'vitest';
import { bgpMesh, defaultWorkloadIp, labNetwork, labNode, LAB_ASN } from '../../agent/testing/lab/networks.js';
import { checkPrefix, topology } from '../../agent/testing/lab/topology.js';

describe('lab desired-state builders', () => {
  it('renders one definition per host: its own local address, the other hosts as remotes', () => {
    const spec = { name: 'green', mode: 'flood' as const, vni: 200, cidr: '10.78.2.0/24' };
    expect(labNetwork(spec, 2, 3)).toEqual({
      name: 'green', ipFamily: 'IPV4', cidr: '10.78.2.0/24',
      uplink: { vxlan: { vni: 200, local: '10.77.0.2', device: 'eth0', remotes: ['10.77.0.1', '10.77.0.3'] } },
    });
    expect(labNetwork({ ...spec, mode: 'multicast' }, 1, 3)).toMatchObject({ uplink: { vxlan: { local: '10.77.0.1', group: '239.1.1.200', device: 'eth0' } } });
    expect(labNetwork({ ...spec, mode: 'evpn' }, 3, 3)).toMatchObject({ uplink: { vxlan: { local: '10.77.0.3', evpn: true } } });
  });

  it('EVPN: an iBGP full mesh, router id = underlay address; every host a different pool slice', () => {
    expect(bgpMesh(1, 3)).toEqual({
      asn: LAB_ASN, routerId: '10.77.0.1',
      peers: [{ address: '10.77.0.2', asn: LAB_ASN, description: 'lab host h2' }, { address: '10.77.0.3', asn: LAB_ASN, description: 'lab host h3' }],
    });
    expect(labNode(3, 3, false)).toEqual({ poolSlice: { index: 2, count: 3 } });
    expect(labNode(1, 3, true)).toHaveProperty('bgp.routerId', '10.77.0.1');
  });

  it('numbers workloads by host (.16*host+n) and refuses what does not fit', () => {
    expect(defaultWorkloadIp('10.78.1.0/24', 1, 1)).toBe('10.78.1.17');
    expect(defaultWorkloadIp('10.78.1.0/24', 3, 2)).toBe('10.78.1.50');
    expect(() => defaultWorkloadIp('10.78.1.0/24', 1, 16)).toThrow(/15 workloads/);
    expect(() => defaultWorkloadIp('10.78.1.0/28', 1, 1)).toThrow(/too small/);
  });

  it('names namespaces with a prefix the leftovers check knows', () => {
    expect(topology('hntest-lab-', 2)).toEqual({
      prefix: 'hntest-lab-', hosts: 2, underlayNs: 'hntest-lab-underlay', ctlNs: 'hntest-lab-ctl', hostNs: ['hntest-lab-h1', 'hntest-lab-h2'],
    });
    expect(() => checkPrefix('lab-')).toThrow(/hntest-, hnbench- or hndemo-/);
    expect(() => topology('hntest-lab-', 0)).toThrow(/1\.\.250/);
  });
});
