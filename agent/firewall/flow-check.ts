// Which tracked flows the security groups no longer allow. The ruleset accepts packets of
// established flows before any rule, so a rule removed (or a member leaving a group, or a
// port becoming protected) would not end a flow already running; like Neutron, the agent
// then deletes exactly those flows. A flow that stays allowed keeps its entry and never
// notices the change.
import type { ConntrackFlow } from '../../dataplane/conntrack.js';
import { contains, parseCidr, parseIp, type Ip } from '../../dataplane/ip.js';
import { Direction, type SecurityGroup, type SecurityRule } from '../api/gen/hostnet/v1/resources.js';
import { parseProtocol, PORT_PROTOCOLS } from '../desired/validate-security.js';
import { mergedSpans } from './address-set.js';
import type { ProtectedPort } from './ports.js';

interface Span {
  first: bigint;
  last: bigint;
}

const inSpans = (spans: readonly Span[], ip: Ip): boolean => spans.some((s) => ip.value >= s.first && ip.value <= s.last);

/** DHCP between client and server, and ND (ICMPv6 133-137 are never tracked as flows anyway). */
function alwaysAllowed(f: ConntrackFlow): boolean {
  return f.protocol === 17 && ((f.sport === 68 && f.dport === 67) || (f.sport === 67 && f.dport === 68));
}

/**
 * `zoneOf`: the conntrack zone of a network (zones.ts): a flow belongs to the ports of the
 * networks in its zone, so an address two tenants both use is judged for the right one.
 */
export function disallowedFlows(flows: readonly ConntrackFlow[], ports: readonly ProtectedPort[], groups: readonly SecurityGroup[],
  zoneOf: (network: string) => number = () => 0): ConntrackFlow[] {
  const byFamily = (p: ProtectedPort, family: 4 | 6): Span[] => mergedSpans(family === 4 ? p.v4 : p.v6);
  const portSpans = ports.map((p) => ({ port: p, zone: zoneOf(p.network), v4: byFamily(p, 4), v6: byFamily(p, 6) }));
  const portOf = (ip: Ip, zone: number): ProtectedPort | undefined =>
    portSpans.find((s) => s.zone === zone && inSpans(ip.family === 4 ? s.v4 : s.v6, ip))?.port;
  const members = new Map<string, { v4: Span[]; v6: Span[] }>();
  for (const g of groups) {
    const mine = ports.filter((p) => p.groups.includes(g.name));
    members.set(g.name, {
      v4: mergedSpans(mine.flatMap((p) => p.v4)),
      v6: mergedSpans(mine.flatMap((p) => p.v6.filter((x) => !x.startsWith('fe80:')))),
    });
  }
  const groupByName = new Map(groups.map((g) => [g.name, g]));

  const ruleAllows = (r: SecurityRule, f: ConntrackFlow, remote: Ip): boolean => {
    const proto = parseProtocol(r.protocol) ?? 0;
    if (proto !== 0 && proto !== f.protocol) return false;
    if (PORT_PROTOCOLS.has(proto) && (r.fromPort !== undefined || r.toPort !== undefined)) {
      const from = r.fromPort ?? r.toPort!;
      const to = r.toPort ?? r.fromPort!;
      if (f.dport === undefined || f.dport < from || f.dport > to) return false;
    }
    if (r.remote?.$case === 'remoteCidr') {
      const c = parseCidr(r.remote.remoteCidr);
      return c !== null && c.family === remote.family && contains(c, remote);
    }
    if (r.remote?.$case === 'remoteGroup') {
      const m = members.get(r.remote.remoteGroup);
      return m !== undefined && inSpans(remote.family === 4 ? m.v4 : m.v6, remote);
    }
    return true;
  };
  const portAllows = (p: ProtectedPort, direction: Direction, f: ConntrackFlow, remote: Ip): boolean =>
    p.groups.some((g) => (groupByName.get(g)?.rules ?? []).some((r) => r.direction === direction && ruleAllows(r, f, remote)));

  return flows.filter((f) => {
    const src = parseIp(f.src);
    const dst = parseIp(f.dst);
    if (!src || !dst || alwaysAllowed(f)) return false;
    const from = portOf(src, f.zone ?? 0);
    const to = portOf(dst, f.zone ?? 0);
    if (!from && !to) return false;
    const allowed = (!from || portAllows(from, Direction.EGRESS, f, dst)) && (!to || portAllows(to, Direction.INGRESS, f, src));
    return !allowed;
  });
}
