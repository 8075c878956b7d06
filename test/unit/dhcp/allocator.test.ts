// Pools from the CIDR, reservations, exclusions, exhaustion and reuse.
import { describe, expect, it } from 'vitest';
import { planAddresses } from '../../../dhcp/address-plan.js';
import { Allocator, type Occupancy } from '../../../dhcp/allocator.js';
import { intToIp, ipToInt } from '../../../dataplane/ip4.js';
import type { NetworkDhcpConfig } from '../../../dhcp/types.js';

function cfg(over: Partial<NetworkDhcpConfig>): NetworkDhcpConfig {
  return { network: 'n1', cidr: '192.168.10.0/24', serverAddress: '192.168.10.2', gateway: '192.168.10.1', leaseSeconds: 3600, ...over };
}

/** Every address the allocator hands out, in order, when each one taken stays taken. */
function drain(a: Allocator, state = new Map<number, Occupancy>()): string[] {
  const out: string[] = [];
  for (;;) {
    const ip = a.pick((n) => state.get(n) ?? 'fresh');
    if (ip === undefined) return out;
    state.set(ip, 'taken');
    out.push(intToIp(ip));
  }
}

describe('address plan and allocator', () => {
  it('defaults to every host of the CIDR but network, broadcast, gateway and server', () => {
    const a = new Allocator(planAddresses(cfg({})));
    const all = drain(a);
    expect(all.length).toBe(254 - 2);
    expect(all[0]).toBe('192.168.10.3');
    expect(all.at(-1)).toBe('192.168.10.254');
    expect(all).not.toContain('192.168.10.1');
    expect(all).not.toContain('192.168.10.2');
    expect(a.capacity()).toBe(252);
  });

  it('/30: two hosts, minus the gateway and the server leaves none', () => {
    expect(drain(new Allocator(planAddresses(cfg({ cidr: '10.0.0.0/30', serverAddress: '10.0.0.1', gateway: '10.0.0.2' }))))).toEqual([]);
    expect(drain(new Allocator(planAddresses(cfg({ cidr: '10.0.0.0/30', serverAddress: '10.0.0.1', gateway: undefined }))))).toEqual(['10.0.0.2']);
  });

  it('/31: both addresses are hosts (RFC 3021), the server takes one', () => {
    const plan = planAddresses(cfg({ cidr: '10.0.0.0/31', serverAddress: '10.0.0.0', gateway: undefined }));
    expect(drain(new Allocator(plan))).toEqual(['10.0.0.1']);
  });

  it('/32: the only address is the server\'s; a reservation elsewhere is refused as outside', () => {
    const plan = planAddresses(cfg({ cidr: '10.0.0.5/32', serverAddress: '10.0.0.5', gateway: undefined, reservations: [{ mac: 'aa:aa:aa:aa:aa:aa', ip: '10.0.0.6' }] }));
    expect(drain(new Allocator(plan))).toEqual([]);
    expect(plan.ignoredReservations[0]?.why).toMatch(/outside/);
  });

  it('explicit pools are clipped to usable hosts, sorted, and exclusions honoured', () => {
    const plan = planAddresses(cfg({
      pools: [{ start: '192.168.10.250', end: '192.168.10.255' }, { start: '192.168.10.0', end: '192.168.10.4' }],
      excluded: ['192.168.10.3', '192.168.10.251'],
    }));
    expect(drain(new Allocator(plan))).toEqual(['192.168.10.4', '192.168.10.250', '192.168.10.252', '192.168.10.253', '192.168.10.254']);
  });

  it('refuses overlapping pools and addresses outside the CIDR, naming network and field', () => {
    expect(() => planAddresses(cfg({ pools: [{ start: '192.168.10.10', end: '192.168.10.20' }, { start: '192.168.10.20', end: '192.168.10.30' }] })))
      .toThrow(/network n1: pools: .* overlaps/);
    expect(() => planAddresses(cfg({ gateway: '10.0.0.1' }))).toThrow(/network n1: gateway: 10.0.0.1 is outside/);
    expect(() => planAddresses(cfg({ pools: [{ start: '192.168.10.9', end: '192.168.10.8' }] }))).toThrow(/pools\[0\]: end/);
    expect(() => planAddresses(cfg({ cidr: 'nonsense' }))).toThrow(/cidr/);
  });

  it('reservations: never handed to others, permitted to their owner even outside pools', () => {
    const plan = planAddresses(cfg({
      pools: [{ start: '192.168.10.100', end: '192.168.10.102' }],
      reservations: [
        { mac: 'AA:00:00:00:00:01', ip: '192.168.10.101' },
        { mac: 'aa:00:00:00:00:02', ip: '192.168.10.50' },
        { mac: 'aa:00:00:00:00:03', ip: '192.168.10.1' },
      ],
    }));
    const a = new Allocator(plan);
    expect(drain(a)).toEqual(['192.168.10.100', '192.168.10.102']);
    expect(a.permits(ipToInt('192.168.10.101'), 'aa:00:00:00:00:01')).toBe(true);
    expect(a.permits(ipToInt('192.168.10.101'), 'aa:00:00:00:00:09')).toBe(false);
    expect(a.permits(ipToInt('192.168.10.50'), 'aa:00:00:00:00:02')).toBe(true);
    expect(a.permits(ipToInt('192.168.10.51'), 'aa:00:00:00:00:02')).toBe(false);
    expect(plan.ignoredReservations).toEqual([{ mac: 'aa:00:00:00:00:03', ip: '192.168.10.1', why: expect.stringMatching(/gateway/) }]);
  });

  it('exhaustion gives undefined; then reuses released/expired addresses, fresh ones first', () => {
    const a = new Allocator(planAddresses(cfg({ pools: [{ start: '192.168.10.10', end: '192.168.10.13' }] })));
    const state = new Map<number, Occupancy>();
    const pick = (now: number) => {
      const n = a.pick((ip) => state.get(ip) ?? 'fresh', now);
      return n === undefined ? undefined : intToIp(n);
    };
    expect(drain(a, state)).toHaveLength(4);
    expect(pick(10_000)).toBeUndefined();
    state.set(ipToInt('192.168.10.12'), 'reusable');
    state.set(ipToInt('192.168.10.11'), 'reusable');
    expect(pick(10_500)).toBeUndefined(); // exhausted: no rescan within a second (DISCOVER floods stay cheap)
    expect(pick(11_000)).toBe('192.168.10.11');
    state.set(ipToInt('192.168.10.11'), 'taken');
    expect(pick(11_001)).toBe('192.168.10.12');
    state.set(ipToInt('192.168.10.12'), 'taken');
    // A fresh address (a lapsed offer) is found at once after forgetHint(), even below the scan hint.
    state.set(ipToInt('192.168.10.10'), 'fresh');
    a.forgetHint();
    expect(pick(11_002)).toBe('192.168.10.10');
  });

  it('the reuse scan is next-fit: it wraps around instead of rescanning from the start', () => {
    const a = new Allocator(planAddresses(cfg({ pools: [{ start: '192.168.10.10', end: '192.168.10.11' }, { start: '192.168.10.20', end: '192.168.10.21' }] })));
    const state = new Map<number, Occupancy>();
    drain(a, state);
    for (const ip of state.keys()) state.set(ip, 'reusable');
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ip = a.pick((n) => state.get(n) ?? 'fresh', 100_000 + i)!;
      seen.push(intToIp(ip));
    }
    expect(seen).toEqual(['192.168.10.10', '192.168.10.11', '192.168.10.20', '192.168.10.21', '192.168.10.10']);
  });
});
