// What hostnet puts on a veth's workload end (agent/workload/peer-plan.ts): its addresses and
// routes, only the changes that are missing, hostnet's own leftovers removed, others' kept.
import { describe, expect, it } from 'vitest';
import { parseDesiredState } from '../../../agent/api/desired-state.js';
import { assignAddresses } from '../../../agent/ipam/assignments.js';
import { HOSTNET_ADDR_PROTO } from '../../../agent/naming.js';
import { peerWanted, planPeer } from '../../../agent/workload/peer-plan.js';
import type { Address, Route } from '../../../dataplane/types.js';

const s = parseDesiredState(`
networks:
  - name: lan
    ipFamily: IPV4
    cidr: 10.0.0.0/24
    gateway: 10.0.0.1
    dhcp: { enabled: true, routes: [{ destination: 10.9.0.0/16, via: 10.0.0.254 }] }
attachments:
  - { name: p, network: lan, veth: { ifName: hv-p, peerNetns: /run/netns/p, peerIfName: net1 }, ip: { static: 10.0.0.5 } }
`);
const wanted = peerWanted(assignAddresses(s, {}, () => []).of('p'), s.networks[0]);
const addr = (cidr: string, protocol = 0): Address => ({ index: 2, dev: 'net1', family: 4, cidr, scope: 0, flags: 0, protocol });
const route = (destination: string, via: string | null, protocol: number, dev = 'net1'): Route =>
  ({ family: 4, destination, via, dev, protocol, table: 254, metric: 0, scope: 0, type: 1 });

describe('peer plan', () => {
  it('wants the address, the default route via the gateway and the static routes', () => {
    expect(wanted).toEqual({
      addresses: ['10.0.0.5/24'],
      routes: [{ destination: 'default', via: '10.0.0.1', family: 4 }, { destination: '10.9.0.0/16', via: '10.0.0.254', family: 4 }],
    });
  });

  it('adds what is missing, with hostnet\'s protocol', () => {
    const changes = planPeer('net1', wanted, [], []);
    expect(changes.map((c) => c.op)).toEqual(['addAddress', 'addRoute', 'addRoute']);
    expect(changes.every((c) => c.spec.protocol === HOSTNET_ADDR_PROTO)).toBe(true);
  });

  it('does nothing when everything is there', () => {
    const there = [addr('10.0.0.5/24', HOSTNET_ADDR_PROTO)];
    const routes = [route('default', '10.0.0.1', HOSTNET_ADDR_PROTO), route('10.9.0.0/16', '10.0.0.254', HOSTNET_ADDR_PROTO)];
    expect(planPeer('net1', wanted, there, routes)).toEqual([]);
  });

  it('removes its own leftovers and leaves what others added', () => {
    const there = [addr('10.0.0.5/24', HOSTNET_ADDR_PROTO), addr('10.0.0.6/24', HOSTNET_ADDR_PROTO), addr('10.0.0.99/24', 0)];
    const routes = [route('default', '10.0.0.1', HOSTNET_ADDR_PROTO), route('10.9.0.0/16', '10.0.0.254', HOSTNET_ADDR_PROTO), route('10.8.0.0/16', '10.0.0.254', HOSTNET_ADDR_PROTO), route('10.7.0.0/16', '10.0.0.254', 4)];
    const changes = planPeer('net1', wanted, there, routes);
    expect(changes).toEqual([
      { op: 'deleteRoute', spec: { destination: '10.8.0.0/16', via: '10.0.0.254', dev: 'net1', family: 4, protocol: HOSTNET_ADDR_PROTO } },
      { op: 'deleteAddress', spec: { dev: 'net1', cidr: '10.0.0.6/24' } },
    ]);
  });

  it('leaves a default route someone else set (e.g. through the pod\'s primary interface)', () => {
    const routes = [route('default', '192.168.0.1', 3, 'eth0')];
    const changes = planPeer('net1', wanted, [addr('10.0.0.5/24', HOSTNET_ADDR_PROTO)], routes);
    expect(changes.map((c) => (c.op === 'addRoute' ? c.spec.destination : c.op))).toEqual(['10.9.0.0/16']);
  });
});
