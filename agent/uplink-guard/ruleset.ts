// The nftables table that keeps a network's address configuration on its own host: on a
// network whose segment spans hosts (an uplink) and which this host serves (DHCPv4, DHCPv6,
// router advertisements), those messages never cross the uplink, in either direction: a
// workload's DISCOVER, SOLICIT or RS reaches only its own host's servers, and their answers
// only its own host's workloads. Bridge family, three hooks: forward (workload <-> uplink),
// input (uplink -> this host's own servers on the bridge), output (this host's servers -> uplink).
import { counterRef, drop, match, meta, payload, setOf, type NftCommand, type NftExpr } from '../../dataplane/nftables/json.js';

export const GUARD_TABLE = 'hostnet-uplink';
const family = 'bridge' as const;

/** DHCPv4 (67, 68) and DHCPv6 (546, 547) by UDP port; RS (133) and RA (134) by ICMPv6 type. */
const DHCP_PORTS = [67, 68, 546, 547];
const RS_RA = ['nd-router-solicit', 'nd-router-advert'];

function matches(dir: 'iifname' | 'oifname', devices: readonly string[]): NftExpr[][] {
  const dev = match(meta(dir), setOf([...devices]));
  return [
    [dev, match(meta('l4proto'), 'udp'), match(payload('th', 'dport'), setOf(DHCP_PORTS))],
    [dev, match(meta('l4proto'), 'ipv6-icmp'), match(payload('icmpv6', 'type'), setOf(RS_RA))],
  ];
}

/** Named counters: how many messages each direction kept from crossing (a test's witness, an operator's too). */
export const COUNTERS = { in: 'kept-in', out: 'kept-out' } as const;

/**
 * The whole table for these uplink devices, as one transaction that replaces it (`add`, then
 * `delete`, then anew: a packet sees the old table or the new one), or that removes it when
 * no device needs guarding.
 */
export function guardCommands(devices: readonly string[]): NftCommand[] {
  const table = { family, name: GUARD_TABLE };
  const out: NftCommand[] = [{ add: { table } }, { delete: { table } }];
  if (devices.length === 0) return out;
  const ref = { family, table: GUARD_TABLE };
  out.push({ add: { table } });
  for (const name of Object.values(COUNTERS)) out.push({ add: { counter: { ...ref, name } } });
  const hooks = [
    { name: 'forward', hook: 'forward' as const, dirs: ['iifname', 'oifname'] as const },
    { name: 'input', hook: 'input' as const, dirs: ['iifname'] as const },
    { name: 'output', hook: 'output' as const, dirs: ['oifname'] as const },
  ];
  for (const h of hooks) {
    out.push({ add: { chain: { ...ref, name: h.name, type: 'filter', hook: h.hook, prio: -200, policy: 'accept' } } });
    for (const dir of h.dirs) {
      const counter = counterRef(dir === 'iifname' ? COUNTERS.in : COUNTERS.out);
      for (const expr of matches(dir, devices)) out.push({ add: { rule: { ...ref, chain: h.name, expr: [...expr, counter, drop] } } });
    }
  }
  return out;
}

