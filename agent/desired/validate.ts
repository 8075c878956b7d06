// Validation of a whole desired state before anything changes: every violation at once, each
// with the field's path in the JSON mapping ("networks[0].cidr") and the rule it breaks.
// Interface-level checks reuse the dataplane's (names, MACs, VLAN ids, MTU, VNI).
import { DataplaneError } from '../../dataplane/errors.js';
import { capLines, clip } from '../api/echo.js';
import { netnsPath } from '../../dataplane/netns-path.js';
import { checkIfName, checkMac, checkMtu, checkVlanId, checkVni } from '../../dataplane/validate.js';
import { validateNode } from './validate-node.js';
import { validateRouted } from './validate-routed.js';
import { isRouted, routedGatewayOf } from './routed.js';
import { validateRouters } from './validate-routers.js';
import { validateSecurity } from './validate-security.js';
import { IpFamily, Ipv6Mode, type Attachment, type DesiredState, type Network } from '../api/gen/hostnet/v1/resources.js';
import { subnetOf, subnetsOf } from './subnets.js';
import {
  bridgeNameOf, ifNameOf, macOf, RESOURCE_NAME_PATTERN, uplinkDeviceOf,
} from '../naming.js';
import {
  contains, isMulticast, isReservedInCidr, parseCidr, parseIp, type Cidr, type Family, type Ip,
} from '../../dataplane/ip.js';

export interface Violation {
  /** The field in the JSON mapping, e.g. "networks[0].dhcp.pools[1].start". */
  path: string;
  /** A stable rule id, e.g. "gateway-in-cidr". */
  rule: string;
  message: string;
}

export function formatViolation(v: Violation): string {
  return clip(`${v.path}: ${v.message} (rule ${v.rule})`);
}

/**
 * One message listing the violations (what INVALID_ARGUMENT carries and the log repeats):
 * at most MAX_PROBLEMS, each clipped, so a 1 MB name or 10,000 bad attachments stay readable.
 */
export function formatViolations(violations: readonly Violation[]): string {
  if (violations.length === 1) return `invalid desired state: ${formatViolation(violations[0]!)}`;
  const lines = capLines(violations.map(formatViolation));
  return `invalid desired state, ${violations.length} violations:\n${lines.map((l) => `- ${l}`).join('\n')}`;
}

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(readonly violations: Violation[]) {
    super(formatViolations(violations));
  }
}

/** Throws a ValidationError listing every violation, if any. */
export function assertValidDesiredState(state: DesiredState, previous?: DesiredState): void {
  const violations = validateDesiredState(state, previous);
  if (violations.length > 0) throw new ValidationError(violations);
}

/** IPv6 requires links of at least 1280 bytes (RFC 8200). */
export const IPV6_MIN_MTU = 1280;
export const MIN_LEASE_SECONDS = 60;
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$/i;

function familyOf(f: IpFamily): Family | null {
  return f === IpFamily.IPV4 ? 4 : f === IpFamily.IPV6 ? 6 : null;
}

/** The detail of a dataplane check that refused `value`, or null when it passed. */
function dataplaneCheck(check: () => void): string | null {
  try {
    check();
    return null;
  } catch (err) {
    if (err instanceof DataplaneError) return err.detail;
    throw err;
  }
}

interface IpHolder {
  path: string;
  what: string;
}

class Collector {
  readonly violations: Violation[] = [];
  add(path: string, rule: string, message: string): void {
    this.violations.push({ path, rule, message });
  }
}

/** Returns every violation of `state` (and against `previous`, the stored state); [] when valid. */
export function validateDesiredState(state: DesiredState, previous?: DesiredState): Violation[] {
  const c = new Collector();

  if (!Number.isSafeInteger(state.generation) || state.generation < 0) {
    c.add('generation', 'generation-range', `generation ${state.generation} is not an integer 0..${Number.MAX_SAFE_INTEGER}`);
  }
  if (previous && state.generation < previous.generation) {
    c.add('generation', 'generation-stale',
      `generation ${state.generation} is older than the stored generation ${previous.generation}; refusing a stale state`);
  }

  // Interface names are unique across everything hostnet creates or uses on the node.
  const ifNames = new Map<string, string>();
  const claimName = (name: string, path: string, what: string): void => {
    const detail = dataplaneCheck(() => checkIfName('validate', name, what));
    if (detail) {
      c.add(path, 'ifname-valid', detail);
      return;
    }
    const first = ifNames.get(name);
    if (first !== undefined) {
      c.add(path, 'ifname-unique', `interface name "${name}" (${what}) is already used by ${first}`);
      return;
    }
    ifNames.set(name, `${path} (${what})`);
  };

  const networks = new Map<string, { network: Network; index: number; cidr: Cidr | null; family: Family | null }>();
  state.networks.forEach((n, i) => {
    const p = `networks[${i}]`;
    checkResourceName(c, n.name, `${p}.name`, 'network');
    if (n.name && networks.has(n.name)) {
      c.add(`${p}.name`, 'name-unique', `network "${n.name}" is defined twice (also networks[${networks.get(n.name)!.index}])`);
    }
    const { cidr, family } = validateNetwork(c, n, p, claimName);
    if (n.name && !networks.has(n.name)) networks.set(n.name, { network: n, index: i, cidr, family });
  });

  // IP holders per network: gateway, DHCP server, reservations, static attachments.
  const holders = new Map<string, Map<bigint, IpHolder>>();
  const claimIp = (network: string, ip: Ip, holder: IpHolder, rule: string): void => {
    const key = `${network}|${ip.family}`;
    let m = holders.get(key);
    if (!m) holders.set(key, (m = new Map()));
    const first = m.get(ip.value);
    if (first) {
      c.add(holder.path, rule, `${holder.what} ${ip.text} is already held by ${first.what} (${first.path})`);
      return;
    }
    m.set(ip.value, holder);
  };
  for (const [name, { network: n, index, cidr }] of networks) {
    if (!cidr) continue;
    const p = `networks[${index}]`;
    const gw = n.gateway ? parseIp(n.gateway) : null;
    if (gw && contains(cidr, gw)) claimIp(name, gw, { path: `${p}.gateway`, what: 'gateway' }, 'ip-duplicate');
    const v6 = n.ipv6 ? parseCidr(n.ipv6.cidr) : null;
    const gw6 = n.ipv6?.gateway ? parseIp(n.ipv6.gateway) : null;
    if (v6 && gw6 && contains(v6, gw6)) claimIp(name, gw6, { path: `${p}.ipv6.gateway`, what: 'gateway' }, 'ip-duplicate');
    const server = n.dhcp?.serverAddress ? parseIp(n.dhcp.serverAddress) : null;
    if (server && contains(cidr, server) && server.value !== gw?.value) {
      claimIp(name, server, { path: `${p}.dhcp.serverAddress`, what: 'DHCP server address' }, 'ip-duplicate');
    }
    for (const subnet of subnetsOf(n)) {
      const scidr = parseCidr(subnet.cidr);
      if (!scidr) continue;
      const sgw = subnet.gateway ? parseIp(subnet.gateway) : null;
      const dp = subnet.primary ? `${p}.dhcp` : `${p}.ipv6.dhcp`;
      const macs = new Map<string, string>();
      subnet.dhcp?.reservations.forEach((r, j) => {
        const rp = `${dp}.reservations[${j}]`;
        if (r.duid && subnet.family !== 6) c.add(`${rp}.duid`, 'duid-ipv6-only', 'a DUID identifies DHCPv6 clients: reservations by DUID are for IPv6 subnets');
        else if (r.duid && !/^([0-9a-f]{2}:?){3,130}$/i.test(r.duid)) c.add(`${rp}.duid`, 'duid-format', `DUID "${r.duid}" is not hex bytes (e.g. 00:03:00:01:52:54:00:00:00:01)`);
        if (!r.mac && r.duid && subnet.family === 6) {
          // Matched by DUID alone.
        } else {
          const macProblem = dataplaneCheck(() => checkMac('validate', r.ip, r.mac.toLowerCase(), 'mac'));
          if (macProblem) c.add(`${rp}.mac`, 'mac-valid', macProblem);
          else if (macs.has(r.mac.toLowerCase())) {
            c.add(`${rp}.mac`, 'reservation-mac-unique', `MAC ${r.mac} is already reserved by ${macs.get(r.mac.toLowerCase())}`);
          } else macs.set(r.mac.toLowerCase(), rp);
        }
        const ip = checkAddressIn(c, r.ip, `${rp}.ip`, 'reservation', scidr);
        if (ip) claimIp(name, ip, { path: `${rp}.ip`, what: 'reservation' }, sgw?.value === ip.value ? 'ip-collides-gateway' : 'ip-duplicate');
      });
    }
  }

  const attachmentNames = new Map<string, number>();
  const attachmentMacs = new Map<string, string>();
  state.attachments.forEach((a, i) => {
    const p = `attachments[${i}]`;
    checkResourceName(c, a.name, `${p}.name`, 'attachment');
    if (a.name && attachmentNames.has(a.name)) {
      c.add(`${p}.name`, 'name-unique', `attachment "${a.name}" is defined twice (also attachments[${attachmentNames.get(a.name)}])`);
    } else if (a.name) attachmentNames.set(a.name, i);

    const net = networks.get(a.network);
    if (!a.network) c.add(`${p}.network`, 'reference-resolves', 'network is required');
    else if (!net) c.add(`${p}.network`, 'reference-resolves', `network "${a.network}" is not defined in this state`);

    validateAttachmentKind(c, a, p, claimName);

    if (a.mac !== undefined) {
      const problem = dataplaneCheck(() => checkMac('validate', a.name, a.mac!.toLowerCase(), 'mac'));
      if (problem) c.add(`${p}.mac`, 'mac-valid', problem);
    }
    const mac = macOf(a);
    const macFirst = attachmentMacs.get(mac);
    if (macFirst) c.add(`${p}.mac`, 'mac-unique', `MAC ${mac}${a.mac ? '' : ' (derived from the name)'} is already used by ${macFirst}`);
    else attachmentMacs.set(mac, p);

    if (a.mtu !== undefined) checkMtuField(c, a.mtu, `${p}.mtu`, net?.family ?? null);

    validateIpConfig(c, a, p, net ? { cidr: net.cidr, network: net.network } : null, claimIp);
  });

  // Two veth peers cannot share a name inside one namespace.
  const peers = new Map<string, string>();
  state.attachments.forEach((a, i) => {
    if (a.kind?.$case !== 'veth' || !a.kind.veth.peerNetns || !a.kind.veth.peerIfName) return;
    const key = `${netnsPath(a.kind.veth.peerNetns)}\0${a.kind.veth.peerIfName}`;
    const first = peers.get(key);
    if (first) {
      c.add(`attachments[${i}].veth.peerIfName`, 'veth-peer-unique',
        `peer "${a.kind.veth.peerIfName}" in ${a.kind.veth.peerNetns} is already used by ${first}`);
    } else peers.set(key, `attachments[${i}]`);
  });

  // A NIC hostnet builds on (VLAN parent, VXLAN underlay) must be neither one of hostnet's own
  // devices nor a NIC enslaved as another network's untagged uplink (the bridge would take
  // its frames before the VLAN or VXLAN device sees them).
  state.networks.forEach((n, i) => {
    const k = n.uplink?.kind;
    const lower = k?.$case === 'vlan' ? { name: k.vlan.parent, path: `networks[${i}].uplink.vlan.parent` }
      : k?.$case === 'vxlan' && k.vxlan.device ? { name: k.vxlan.device, path: `networks[${i}].uplink.vxlan.device` } : null;
    if (!lower) return;
    const holder = ifNames.get(lower.name);
    if (holder) c.add(lower.path, 'uplink-lower-conflict', `"${lower.name}" cannot carry this uplink: it is ${holder}`);
  });

  // Security groups and each attachment's port security (validate-security.ts).
  validateSecurity(state, (path, rule, message) => c.add(path, rule, message));
  // The node's settings and what lets networks span hosts (validate-node.ts).
  validateNode(state, (path, rule, message) => c.add(path, rule, message));
  // Routed networks (validate-routed.ts).
  validateRouted(state, (path, rule, message) => c.add(path, rule, message));
  validateRouters(state, (path, rule, message) => c.add(path, rule, message));

  if (previous) {
    const before = new Map(previous.networks.map((n) => [n.name, n]));
    state.networks.forEach((n, i) => {
      const old = before.get(n.name);
      if (!old) return;
      if (old.cidr !== n.cidr) {
        c.add(`networks[${i}].cidr`, 'immutable-cidr', `the CIDR of network "${n.name}" cannot change (${old.cidr} -> ${n.cidr}); create a new network instead`);
      }
      if (old.ipFamily !== n.ipFamily) {
        c.add(`networks[${i}].ipFamily`, 'immutable-ip-family', `the IP family of network "${n.name}" cannot change; create a new network instead`);
      }
    });
  }
  return c.violations;
}

function checkResourceName(c: Collector, name: string, path: string, what: string): void {
  if (!name) c.add(path, 'name-required', `a ${what} needs a name`);
  else if (!RESOURCE_NAME_PATTERN.test(name)) {
    c.add(path, 'name-format', `${what} name "${name}" must be lower-case letters, digits and '-', start and end with a letter or digit, at most 63 characters`);
  }
}

function checkMtuField(c: Collector, mtu: number, path: string, family: Family | null): void {
  const problem = dataplaneCheck(() => checkMtu('validate', path, mtu));
  if (problem) c.add(path, 'mtu-range', problem);
  else if (family === 6 && mtu < IPV6_MIN_MTU) c.add(path, 'mtu-range', `MTU ${mtu} is below IPv6's minimum of ${IPV6_MIN_MTU}`);
}

/** An IP inside the CIDR that is a host address; the parsed IP when it passes. */
function checkAddressIn(c: Collector, text: string, path: string, what: string, cidr: Cidr): Ip | null {
  const ip = parseIp(text);
  if (!ip) {
    c.add(path, 'ip-format', `${what} "${text}" is not an IP address`);
    return null;
  }
  if (!contains(cidr, ip)) {
    c.add(path, 'ip-in-cidr', `${what} ${ip.text} is outside the network's CIDR ${cidr.text}`);
    return null;
  }
  if (isReservedInCidr(cidr, ip)) {
    c.add(path, 'ip-in-cidr', `${what} ${ip.text} is the ${ip.value === cidr.first ? 'network' : 'broadcast'} address of ${cidr.text}`);
    return null;
  }
  return ip;
}

type ClaimName = (name: string, path: string, what: string) => void;

function validateNetwork(c: Collector, n: Network, p: string, claimName: ClaimName): { cidr: Cidr | null; family: Family | null } {
  const family = familyOf(n.ipFamily);
  if (family === null) c.add(`${p}.ipFamily`, 'ip-family-required', 'ipFamily must be IPV4 or IPV6');

  // Devices and their names.
  if (n.importedBridge && !n.bridgeName) {
    c.add(`${p}.bridgeName`, 'imported-bridge-name', 'an imported bridge must be named (bridgeName): hostnet uses an existing bridge');
  } else if (n.name || n.bridgeName) {
    claimName(bridgeNameOf(n), `${p}.bridgeName`, n.bridgeName ? 'bridge' : 'bridge, derived from the network name');
  }
  if (n.mtu !== undefined) checkMtuField(c, n.mtu, `${p}.mtu`, family);

  const k = n.uplink?.kind;
  if (k?.$case === 'vlan') {
    const vp = `${p}.uplink.vlan`;
    const parentProblem = dataplaneCheck(() => checkIfName('validate', k.vlan.parent, 'parent'));
    if (parentProblem) c.add(`${vp}.parent`, 'ifname-valid', parentProblem);
    const idProblem = dataplaneCheck(() => checkVlanId('validate', vp, k.vlan.id));
    if (idProblem) c.add(`${vp}.id`, 'vlan-id-range', idProblem);
    if (!parentProblem && !idProblem) claimName(uplinkDeviceOf(n)!.name, vp, 'VLAN device, derived from parent and id');
  } else if (k?.$case === 'vxlan') {
    const xp = `${p}.uplink.vxlan`;
    const x = k.vxlan;
    const vniProblem = dataplaneCheck(() => checkVni('validate', xp, x.vni));
    if (vniProblem || x.vni === 0) c.add(`${xp}.vni`, 'vxlan-vni-range', vniProblem ?? 'VNI 0 is not usable: 1..16777215');
    else claimName(uplinkDeviceOf(n)!.name, xp, 'VXLAN device, derived from the VNI');
    const local = x.local ? parseIp(x.local) : null;
    if (x.local && !local) c.add(`${xp}.local`, 'ip-format', `local "${x.local}" is not an IP address`);
    const d = x.destination;
    if (d?.$case === 'remote') {
      const r = parseIp(d.remote);
      if (!r) c.add(`${xp}.remote`, 'ip-format', `remote "${d.remote}" is not an IP address`);
      else if (isMulticast(r)) c.add(`${xp}.remote`, 'vxlan-remote-unicast', `remote ${r.text} is a multicast address; use group for multicast`);
      else if (local && local.family !== r.family) c.add(`${xp}.remote`, 'vxlan-family', 'local and remote must be the same IP family');
    } else if (d?.$case === 'group') {
      const g = parseIp(d.group);
      if (!g) c.add(`${xp}.group`, 'ip-format', `group "${d.group}" is not an IP address`);
      else if (!isMulticast(g)) c.add(`${xp}.group`, 'vxlan-group-multicast', `group ${g.text} is not a multicast address`);
      else if (local && local.family !== g.family) c.add(`${xp}.group`, 'vxlan-family', 'local and group must be the same IP family');
      if (!x.device) c.add(`${xp}.device`, 'vxlan-group-device', 'a multicast group needs an underlay device');
    }
    if (x.port !== undefined && (!Number.isInteger(x.port) || x.port < 1 || x.port > 65535)) {
      c.add(`${xp}.port`, 'vxlan-port-range', `port ${x.port} is out of range 1..65535`);
    }
    if (x.device) {
      const problem = dataplaneCheck(() => checkIfName('validate', x.device, 'device'));
      if (problem) c.add(`${xp}.device`, 'ifname-valid', problem);
    }
  } else if (k?.$case === 'untagged') {
    claimName(k.untagged.name, `${p}.uplink.untagged.name`, 'untagged uplink');
  }

  // Addressing.
  let cidr: Cidr | null = null;
  if (!n.cidr) c.add(`${p}.cidr`, 'cidr-format', 'cidr is required, e.g. 192.168.10.0/24');
  else {
    cidr = parseCidr(n.cidr);
    if (!cidr) c.add(`${p}.cidr`, 'cidr-format', `cidr "${n.cidr}" is not an address with a prefix length, e.g. 192.168.10.0/24`);
    else if (family !== null && cidr.family !== family) {
      c.add(`${p}.cidr`, 'cidr-family', `cidr ${n.cidr} is IPv${cidr.family} but ipFamily is IPV${family}`);
      cidr = null;
    } else if (cidr.base !== cidr.first) {
      c.add(`${p}.cidr`, 'cidr-network-address', `cidr ${n.cidr} has host bits set; the network is ${parseIpText(cidr)}/${cidr.prefix}`);
    }
  }
  const gw = n.gateway ? (cidr ? checkAddressIn(c, n.gateway, `${p}.gateway`, 'gateway', cidr) : null) : null;
  if (n.gatewayOnBridge && !n.gateway) c.add(`${p}.gatewayOnBridge`, 'gateway-on-bridge-needs-gateway', 'gatewayOnBridge needs a gateway');

  const dhcp = n.dhcp;
  // A routed network's gateway (default: the CIDR's first host) is its DHCP server's address on every device.
  if (dhcp && cidr) validateDhcp(c, n, `${p}.dhcp`, cidr, isRouted(n) ? parseIp(routedGatewayOf(n)) : gw);
  validateIpv6Mode(c, n, p, cidr, family);
  if (n.ipv6) validateIpv6Subnet(c, n, `${p}.ipv6`, family);
  return { cidr, family };
}

/** The IPv6 half of a dual-stack network: checked as an IPv6 network of its own would be. */
function validateIpv6Subnet(c: Collector, n: Network, p: string, family: Family | null): void {
  const v6 = n.ipv6!;
  if (family !== 4) {
    c.add(p, 'ipv6-subnet-on-ipv4', 'ipv6 adds an IPv6 subnet to an IPv4 network (an IPv6 network has its own cidr)');
    return;
  }
  const cidr = parseCidr(v6.cidr);
  if (!cidr || cidr.family !== 6) {
    c.add(`${p}.cidr`, 'cidr-format', `cidr "${v6.cidr}" is not an IPv6 prefix, e.g. fd00:10::/64`);
    return;
  }
  if (cidr.base !== cidr.first) c.add(`${p}.cidr`, 'cidr-network-address', `cidr ${v6.cidr} has host bits set`);
  const gw = v6.gateway ? checkAddressIn(c, v6.gateway, `${p}.gateway`, 'gateway', cidr) : null;
  if (v6.gatewayOnBridge && !v6.gateway) c.add(`${p}.gatewayOnBridge`, 'gateway-on-bridge-needs-gateway', 'gatewayOnBridge needs a gateway');
  // Judged as the IPv6 network it is.
  const half: Network = { ...n, ipFamily: IpFamily.IPV6, cidr: v6.cidr, gateway: v6.gateway, gatewayOnBridge: v6.gatewayOnBridge, ipv6Mode: v6.ipv6Mode, dhcp: v6.dhcp, ipv6: undefined };
  if (v6.dhcp) validateDhcp(c, half, `${p}.dhcp`, cidr, gw);
  validateIpv6Mode(c, half, p, cidr, 6);
}

/** How an IPv6 network's workloads configure themselves from the agent's router advertisements. */
function validateIpv6Mode(c: Collector, n: Network, p: string, cidr: Cidr | null, family: Family | null): void {
  const mode = n.ipv6Mode;
  if (mode !== Ipv6Mode.IPV6_MODE_UNSPECIFIED && family === 4) {
    c.add(`${p}.ipv6Mode`, 'ipv6-mode-ipv6-only', 'ipv6Mode is for IPv6 networks');
    return;
  }
  const dhcp6 = mode === Ipv6Mode.DHCPV6_STATELESS || mode === Ipv6Mode.DHCPV6_STATEFUL;
  if (family === 6 && dhcp6 && !n.dhcp?.enabled) {
    c.add(`${p}.dhcp.enabled`, 'dhcp6-needs-dhcp', `${Ipv6Mode[mode]} needs the DHCPv6 server: set dhcp.enabled`);
  }
  if (family === 6 && mode === Ipv6Mode.DHCPV6_STATEFUL && n.dhcp?.enabled && n.dhcp.pools.length === 0) {
    c.add(`${p}.dhcp.pools`, 'dhcp6-needs-pools', 'DHCPV6_STATEFUL hands out addresses from dhcp.pools: give at least one');
  }
  if (family === 6 && !dhcp6 && n.dhcp?.enabled) {
    c.add(`${p}.ipv6Mode`, 'dhcp6-needs-mode', 'dhcp.enabled on an IPv6 network serves DHCPv6: set ipv6Mode DHCPV6_STATEFUL or DHCPV6_STATELESS');
  }
  // Router advertisements go out on networks whose gateway is on the bridge; SLAAC forms
  // addresses from a 64-bit prefix only (RFC 4862 5.5.3, RFC 4291 2.5.1).
  if (family === 6 && cidr && n.gatewayOnBridge && cidr.prefix !== 64) {
    c.add(`${p}.cidr`, 'slaac-prefix-64', `SLAAC needs a /64 prefix, but cidr ${n.cidr} is a /${cidr.prefix}`);
  }
}

function parseIpText(cidr: Cidr): string {
  if (cidr.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((cidr.first >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((cidr.first >> s) & 0xffffn).toString(16));
  return parseIp(groups.join(':'))!.text;
}

function validateDhcp(c: Collector, n: Network, p: string, cidr: Cidr, gw: Ip | null): void {
  const d = n.dhcp!;
  // DHCPv6 answers from the bridge's link-local address; DHCPv4 needs one of the network's.
  if (d.enabled && cidr.family === 4 && !d.serverAddress && !(n.gatewayOnBridge && n.gateway) && !isRouted(n)) {
    c.add(`${p}.serverAddress`, 'dhcp-server-address', 'DHCP needs an address on the bridge: set serverAddress, or a gateway with gatewayOnBridge');
  }
  if (d.serverAddress) checkAddressIn(c, d.serverAddress, `${p}.serverAddress`, 'DHCP server address', cidr);

  const ranges: { start: Ip; end: Ip; index: number }[] = [];
  d.pools.forEach((pool, j) => {
    const pp = `${p}.pools[${j}]`;
    const start = checkAddressIn(c, pool.start, `${pp}.start`, 'pool start', cidr);
    const end = checkAddressIn(c, pool.end, `${pp}.end`, 'pool end', cidr);
    if (!start || !end) return;
    if (start.value > end.value) {
      c.add(pp, 'pool-order', `pool start ${start.text} is after its end ${end.text}`);
      return;
    }
    if (gw && gw.value >= start.value && gw.value <= end.value) {
      c.add(pp, 'pool-contains-gateway', `pool ${start.text}-${end.text} contains the gateway ${gw.text}`);
    }
    const server = d.serverAddress ? parseIp(d.serverAddress) : null;
    if (server && server.value >= start.value && server.value <= end.value) {
      c.add(pp, 'pool-contains-server', `pool ${start.text}-${end.text} contains the DHCP server address ${server.text}`);
    }
    for (const other of ranges) {
      if (start.value <= other.end.value && other.start.value <= end.value) {
        c.add(pp, 'pool-overlap', `pool ${start.text}-${end.text} overlaps pools[${other.index}] ${other.start.text}-${other.end.text}`);
      }
    }
    ranges.push({ start, end, index: j });
  });

  d.dnsServers.forEach((s, j) => {
    const ip = parseIp(s);
    if (!ip || ip.family !== cidr.family) c.add(`${p}.dnsServers[${j}]`, 'ip-format', `DNS server "${s}" is not an IPv${cidr.family} address`);
  });
  d.searchDomains.forEach((s, j) => {
    if (!DOMAIN_PATTERN.test(s)) c.add(`${p}.searchDomains[${j}]`, 'domain-format', `"${s}" is not a domain name`);
  });
  if (d.domainName && !DOMAIN_PATTERN.test(d.domainName)) c.add(`${p}.domainName`, 'domain-format', `"${d.domainName}" is not a domain name`);
  d.routes.forEach((r, j) => {
    const rp = `${p}.routes[${j}]`;
    const dst = parseCidr(r.destination);
    if (!dst || dst.family !== cidr.family) c.add(`${rp}.destination`, 'route-format', `destination "${r.destination}" is not an IPv${cidr.family} CIDR`);
    else if (dst.base !== dst.first) c.add(`${rp}.destination`, 'cidr-network-address', `destination ${r.destination} has host bits set`);
    checkAddressIn(c, r.via, `${rp}.via`, 'next hop (via)', cidr);
  });
  if (d.leaseSeconds !== undefined && (!Number.isInteger(d.leaseSeconds) || d.leaseSeconds < MIN_LEASE_SECONDS)) {
    c.add(`${p}.leaseSeconds`, 'lease-seconds-range', `leaseSeconds ${d.leaseSeconds} is below the minimum of ${MIN_LEASE_SECONDS}`);
  }
  d.reservations.forEach((r, j) => {
    if (r.hostname && !DOMAIN_PATTERN.test(r.hostname)) {
      c.add(`${p}.reservations[${j}].hostname`, 'domain-format', `hostname "${r.hostname}" is not a host name`);
    }
  });
}

/**
 * An attachment's addresses: every static one inside the CIDR and held by nobody else; auto
 * ones need pools somewhere (a TAP's guest gets its address by DHCP only); `none` stands alone.
 */
function validateIpConfig(
  c: Collector, a: Attachment, p: string, net: { cidr: Cidr | null; network: Network } | null,
  claimIp: (network: string, ip: Ip, holder: { path: string; what: string }, rule: string) => void,
): void {
  const mode = a.ip?.mode;
  const extra = a.ip?.addresses ?? [];
  if (mode?.$case === 'none' && extra.length > 0) {
    c.add(`${p}.ip.addresses`, 'ip-none-alone', 'ip none (the workload configures itself) cannot be combined with addresses');
  }
  if (a.ip?.skipAssignment && mode?.$case !== 'static' && mode?.$case !== 'auto' && extra.length === 0) {
    c.add(`${p}.ip.skipAssignment`, 'ip-skip-needs-address', 'skipAssignment needs an address to reserve (static, auto or addresses)');
  }
  const staticAt = (text: string, path: string): void => {
    if (!net?.cidr) return;
    const parsed = parseIp(text);
    const subnet = parsed ? subnetOf(net.network, parsed.family) : undefined;
    const cidr = subnet ? parseCidr(subnet.cidr) : net.cidr;
    if (!cidr) return;
    const ip = checkAddressIn(c, text, path, 'static IP', cidr);
    const gw = subnet?.gateway ? parseIp(subnet.gateway) : null;
    if (ip) claimIp(a.network, ip, { path, what: `attachment ${a.name}` }, gw?.value === ip.value ? 'ip-collides-gateway' : 'ip-duplicate');
  };
  const autoAt = (path: string, family: IpFamily = IpFamily.IP_FAMILY_UNSPECIFIED): void => {
    if (!net) return;
    const f = family === IpFamily.IPV4 ? 4 : family === IpFamily.IPV6 ? 6 : null;
    if (f !== null && !subnetOf(net.network, f)) {
      c.add(path, 'address-family-subnet', `network "${a.network}" has no IPv${f} subnet to take an auto address from`);
      return;
    }
    if (a.kind?.$case === 'tap' && (f === null || f === 4) && !net.network.dhcp?.enabled) {
      c.add(path, 'ip-auto-needs-dhcp', `a TAP's guest gets its auto address by DHCP, but network "${a.network}"'s DHCP is not enabled`);
    }
  };
  if (mode?.$case === 'static') staticAt(mode.static, `${p}.ip.static`);
  else if (mode?.$case === 'auto') autoAt(`${p}.ip.auto`);
  extra.forEach((r, j) => {
    const rp = `${p}.ip.addresses[${j}]`;
    if (r.mode?.$case === 'static') staticAt(r.mode.static, `${rp}.static`);
    else if (r.mode?.$case === 'auto') autoAt(`${rp}.auto`, r.family);
    else c.add(rp, 'address-mode-required', 'an address is { static: IP } or { auto: {} }');
  });
}

function validateAttachmentKind(c: Collector, a: Attachment, p: string, claimName: ClaimName): void {
  const k = a.kind;
  if (!k) {
    c.add(p, 'attachment-kind-required', 'an attachment needs a kind: tap or veth');
    return;
  }
  if (k.$case === 'tap') {
    claimName(ifNameOf(a), `${p}.tap.ifName`, 'tap');
    // (uid_t)-1 is the kernel's "no id": TUNSETOWNER/TUNSETGROUP refuse it with EINVAL.
    for (const id of ['owner', 'group'] as const) {
      const v = k.tap[id];
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v >= 0xffff_ffff)) {
        c.add(`${p}.tap.${id}`, 'tap-id-range', `${id} ${v} is not a usable ${id === 'owner' ? 'uid' : 'gid'}: 0..4294967294`);
      }
    }
    return;
  }
  claimName(ifNameOf(a), `${p}.veth.ifName`, 'veth host end');
  if (!k.veth.peerNetns) c.add(`${p}.veth.peerNetns`, 'veth-peer-netns', 'peerNetns is required: the workload\'s network namespace (path or name)');
  const problem = dataplaneCheck(() => checkIfName('validate', k.veth.peerIfName, 'peerIfName'));
  if (problem) c.add(`${p}.veth.peerIfName`, 'ifname-valid', problem);
}
