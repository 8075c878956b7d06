// The desired states of bench/security: N protected ports (N - 2 TAPs, the cheapest device, plus
// the two veth probe workloads X and Y), two unprotected veth workloads U and V, 50 security
// groups of 10 rules each (TCP ports and ranges, UDP, ICMP/ICMPv6, remote CIDRs and remote
// groups), each TAP in 1 to 3 groups. Variants: the same devices without port security, one
// rule more in Y's group, X a member of one more group.
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';

export const NETWORK = 'sec';
export const GROUPS = 50;
export const PREFIX_LEN = 16;

/** The veth workloads: X and Y protected (probe and iperf traffic), U and V not (the reference). */
export const workloads = {
  x: { attachment: 'px', hostIf: 'hsx', ip: '10.60.250.10' },
  y: { attachment: 'py', hostIf: 'hsy', ip: '10.60.250.20' },
  u: { attachment: 'pu', hostIf: 'hsu', ip: '10.60.250.30' },
  v: { attachment: 'pv', hostIf: 'hsv', ip: '10.60.250.40' },
} as const;
export type WorkloadKey = keyof typeof workloads;
export const PEER_IF = 'eth0';

/** Y's only group, the one the rule change edits. */
export const Y_GROUP = 'g01';
/** X's group from the start (its EGRESS rules let X reach Y). */
export const X_GROUP = 'g00';
/** The group X joins in the membership change: Y's group allows UDP 5000-5100 from its members. */
export const JOIN_GROUP = 'g08';
/** UDP port the rule change opens on Y (from X's address only). */
export const RULE_PORT = 7000;
/** UDP port Y's group opens to JOIN_GROUP's members (rule 4 of g01). */
export const MEMBER_PORT = 5050;
/** TCP port of the iperf3 server on Y and V: inside every group's INGRESS TCP 80-90 rule. */
export const IPERF_PORT = 85;

const group = (k: number): string => `g${String(((k % GROUPS) + GROUPS) % GROUPS).padStart(2, '0')}`;

/** Ten rules, three of them by remote group (rule 2 and 8 refer to other groups, 4 as well). */
function groupRules(k: number): Record<string, unknown>[] {
  return [
    { direction: 'INGRESS', protocol: 'TCP', fromPort: 22, toPort: 22, remoteCidr: '10.0.0.0/8' },
    { direction: 'INGRESS', protocol: 'TCP', fromPort: 80, toPort: 90, remoteCidr: '0.0.0.0/0' },
    { direction: 'INGRESS', protocol: 'TCP', fromPort: 443, toPort: 443, remoteGroup: group(k + 1) },
    { direction: 'INGRESS', protocol: 'UDP', fromPort: 53, toPort: 53, remoteCidr: '10.60.0.0/16' },
    { direction: 'INGRESS', protocol: 'UDP', fromPort: 5000, toPort: 5100, remoteGroup: group(k + 7) },
    k % 2 === 0
      ? { direction: 'INGRESS', protocol: 'ICMP', remoteCidr: '10.0.0.0/8' }
      : { direction: 'INGRESS', protocol: 'ICMPV6', remoteCidr: 'fd00::/8' },
    { direction: 'INGRESS', protocol: 'TCP', fromPort: 8000, toPort: 8100, remoteCidr: `192.168.${k}.0/24` },
    { direction: 'EGRESS', protocol: 'ANY', remoteCidr: '10.0.0.0/8' },
    { direction: 'EGRESS', protocol: 'UDP', fromPort: 53, toPort: 53, remoteGroup: group(k + 3) },
    { direction: 'EGRESS', protocol: 'TCP', fromPort: 443, toPort: 443, remoteCidr: '0.0.0.0/0' },
  ];
}

/** One to three groups per TAP, spread over all 50. */
function tapGroups(i: number): string[] {
  const gs = [group(i)];
  if (i % 3 !== 0) gs.push(group(7 * i + 3));
  if (i % 3 === 2) gs.push(group(13 * i + 11));
  return [...new Set(gs)];
}

export interface Variant {
  /** Port security on the N ports (false: the same devices, nothing filtered). */
  secure: boolean;
  /** Y's group has the extra rule opening RULE_PORT to X. */
  extraRule?: boolean;
  /** X is also in JOIN_GROUP. */
  xJoined?: boolean;
}

export interface StateShape {
  ports: number;
  /** Workload namespace of each veth workload. */
  netns: Record<WorkloadKey, string>;
}

const tapIp = (i: number): string => `10.60.${1 + Math.floor(i / 250)}.${(i % 250) + 2}`;

export function desiredState(shape: StateShape, v: Variant, generation: number): DesiredState {
  const taps = shape.ports - 2;
  if (taps < 1 || taps > 240 * 250) throw new Error(`bench/security: ${shape.ports} ports do not fit the address plan`);
  const security = (groups: string[]): Record<string, unknown> => (v.secure ? { portSecurity: { enabled: true, securityGroups: groups } } : {});
  const groups = Array.from({ length: GROUPS }, (_, k) => {
    const rules = groupRules(k);
    if (v.extraRule && group(k) === Y_GROUP) {
      rules.push({ direction: 'INGRESS', protocol: 'UDP', fromPort: RULE_PORT, toPort: RULE_PORT, remoteCidr: `${workloads.x.ip}/32` });
    }
    return { name: group(k), rules };
  });
  const veth = (key: WorkloadKey, extra: Record<string, unknown>): Record<string, unknown> => {
    const w = workloads[key];
    return { name: w.attachment, network: NETWORK, veth: { ifName: w.hostIf, peerNetns: shape.netns[key], peerIfName: PEER_IF }, ip: { static: w.ip }, ...extra };
  };
  return DesiredState.fromJSON({
    generation,
    networks: [{ name: NETWORK, mtu: 1500, ipFamily: 'IPV4', cidr: `10.60.0.0/${PREFIX_LEN}`, gateway: '10.60.0.1', gatewayOnBridge: true }],
    securityGroups: v.secure ? groups : [],
    attachments: [
      ...Array.from({ length: taps }, (_, i) => ({ name: `t${i}`, network: NETWORK, tap: { ifName: `st${i}` }, ip: { static: tapIp(i) }, ...security(tapGroups(i)) })),
      veth('x', security(v.xJoined ? [X_GROUP, JOIN_GROUP] : [X_GROUP])),
      veth('y', security([Y_GROUP])),
      veth('u', {}),
      veth('v', {}),
    ],
  });
}

/** Nothing at all (every device and both tables go). */
export function emptyState(generation: number): DesiredState {
  return DesiredState.fromJSON({ generation, networks: [], attachments: [], securityGroups: [] });
}
