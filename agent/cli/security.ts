// What hostnetctl shows of security groups and port security, as pure functions of the
// desired state and the status (commands.ts fetches them), so the text is testable without
// an agent.
import { SecurityGroup, type Attachment, type DesiredState } from '../api/gen/hostnet/v1/resources.js';
import type { AttachmentStatus } from '../api/gen/hostnet/v1/status.js';
import type { OutputFormat } from './format.js';
import { serialize, table } from './format.js';

/** Member names a table cell lists before "+N more"; -o wide lists them all. */
export const MEMBERS_SHOWN = 5;

/** Attachments that enforce `group`: port security on and the group named. */
export function membersOf(state: DesiredState | undefined, group: string): string[] {
  return (state?.attachments ?? [])
    .filter((a) => a.portSecurity?.enabled && a.portSecurity.securityGroups.includes(group))
    .map((a) => a.name);
}

function listText(names: readonly string[], max = Infinity): string {
  if (names.length === 0) return '-';
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} (+${names.length - max} more)`;
}

/**
 * `hostnetctl get securitygroups`: NAME, RULES (count), MEMBERS; -o wide adds every member
 * and the description; -o json|yaml is the groups as written in a desired state.
 */
export function securityGroupsText(state: DesiredState | undefined, format: OutputFormat): string {
  const groups = state?.securityGroups ?? [];
  if (format === 'json' || format === 'yaml') {
    return serialize({ securityGroups: groups.map((g) => SecurityGroup.toJSON(g)) }, format);
  }
  const headers = ['NAME', 'RULES', 'MEMBERS'];
  if (format === 'wide') headers.push('DESCRIPTION');
  return table(headers, groups.map((g) => {
    const members = membersOf(state, g.name);
    const row = [g.name, String(g.rules.length), listText(members, format === 'wide' ? Infinity : MEMBERS_SHOWN)];
    if (format === 'wide') row.push(g.description || '-');
    return row;
  }));
}

/**
 * The "Port security" lines of `describe attachment`: what the agent reports in force (groups,
 * allowed addresses and MACs, drop counters); "off" when the spec does not enable it; the
 * spec's groups while the agent has not reported yet.
 */
export function portSecurityLines(a: Attachment, s: AttachmentStatus): string[] {
  const ps = s.portSecurity;
  if (ps) {
    return [
      'Port security:',
      `  Groups:             ${listText(ps.securityGroups)}`,
      `  Allowed addresses:  ${listText(ps.allowedAddresses)}`,
      `  Allowed MACs:       ${listText(ps.allowedMacs)}`,
      `  Dropped packets:    ${ps.spoofDroppedPackets} spoofed, ${ps.ingressDroppedPackets} ingress policy, ${ps.egressDroppedPackets} egress policy`,
    ];
  }
  if (!a.portSecurity?.enabled) return ['Port security: off'];
  return [
    'Port security: on (not reported by the agent yet)',
    `  Groups:             ${listText(a.portSecurity.securityGroups)}`,
  ];
}
