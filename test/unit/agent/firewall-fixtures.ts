// Protected ports and security groups for the firewall's unit tests (no kernel).
import { Direction, SecurityGroup, type SecurityRule } from '../../../agent/api/gen/hostnet/v1/resources.js';
import type { PortWithId } from '../../../agent/firewall/ruleset.js';

export function port(attachment: string, id: number, extra: Partial<PortWithId> = {}): PortWithId {
  return {
    attachment, id, ifName: `hv-${attachment}`, network: 'n', routed: false, bridge: 'hn-n',
    macs: [`02:00:00:00:00:${id.toString(16).padStart(2, '0')}`],
    v4: [`10.70.0.${id * 10}`], v6: [`fe80::${id}`], groups: [], dhcpServer: '10.70.0.1', ...extra,
  };
}

type RuleInput = Omit<Partial<SecurityRule>, 'remote'> & { cidr?: string; group?: string };

export function rule(direction: 'in' | 'out', r: RuleInput = {}): SecurityRule {
  const { cidr, group, ...rest } = r;
  return {
    direction: direction === 'in' ? Direction.INGRESS : Direction.EGRESS, protocol: '', description: '', ...rest,
    ...(cidr ? { remote: { $case: 'remoteCidr' as const, remoteCidr: cidr } } : {}),
    ...(group ? { remote: { $case: 'remoteGroup' as const, remoteGroup: group } } : {}),
  };
}

export function group(name: string, rules: SecurityRule[]): SecurityGroup {
  return SecurityGroup.fromPartial({ name, rules });
}
