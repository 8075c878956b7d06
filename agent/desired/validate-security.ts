// Validation of security groups and of each attachment's port security, as part of
// validateDesiredState: every violation at once, each with its path in the JSON mapping
// ("securityGroups[0].rules[2].toPort") and a stable rule id. A state that asks for filtering
// hostnet could not enforce as written is refused, never applied unfiltered (fail closed).
// Violations go out through `add` rather than validate.ts's types, so this file imports
// nothing of validate.ts (which calls it) and no import cycle forms.
import { DataplaneError } from '../../dataplane/errors.js';
import { networkText, parseCidr, parseIp, type Family } from '../../dataplane/ip.js';
import { checkMac } from '../../dataplane/validate.js';
import {
  Direction, type AddressPair, type Attachment, type DesiredState, type SecurityRule,
} from '../api/gen/hostnet/v1/resources.js';
import { RESOURCE_NAME_PATTERN } from '../naming.js';

/** Records one violation: the field's path, a stable rule id, and the message. */
export type AddViolation = (path: string, rule: string, message: string) => void;

/** IP protocol numbers of the names a rule may use; 0 is "any protocol" (IPv6 hop-by-hop never is a rule's protocol). */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { ANY: 0, TCP: 6, UDP: 17, ICMP: 1, ICMPV6: 58 };
export const PROTOCOL_ANY = 0;
export const PROTOCOL_ICMP = 1;
export const PROTOCOL_ICMPV6 = 58;

/** Protocols whose headers carry ports: TCP, UDP, DCCP, SCTP, UDP-Lite. Port ranges only make sense on these. */
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 33, 132, 136]);

/**
 * The firewall marks each port-security attachment with a 12-bit number (0 means "none"), so
 * at most 4095 attachments can have port security on.
 */
export const MAX_PORT_SECURITY_ATTACHMENTS = 4095;

/**
 * The IP protocol number a rule's `protocol` names: ANY or '' -> 0 (any protocol), TCP 6,
 * UDP 17, ICMP 1, ICMPV6 58 (names in any case), or a decimal number 0..255 without leading
 * zeros; null when the text is none of these.
 */
export function parseProtocol(text: string): number | null {
  if (typeof text !== 'string') return null;
  if (text === '') return PROTOCOL_ANY;
  const named = PROTOCOL_NUMBERS[text.toUpperCase()];
  if (named !== undefined) return named;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(text)) return null;
  const n = Number(text);
  return n <= 255 ? n : null;
}

/** The protocol as an admin reads it: its name when it has one, else the number. */
export function protocolText(protocol: number): string {
  for (const [name, n] of Object.entries(PROTOCOL_NUMBERS)) if (n === protocol) return name;
  return String(protocol);
}

/** Checks state.securityGroups and every attachment's portSecurity; reports through `add`. */
export function validateSecurity(state: DesiredState, add: AddViolation): void {
  const groups = new Map<string, number>();
  state.securityGroups.forEach((g, i) => {
    const p = `securityGroups[${i}]`;
    if (!g.name) add(`${p}.name`, 'name-required', 'a security group needs a name');
    else if (!RESOURCE_NAME_PATTERN.test(g.name)) {
      add(`${p}.name`, 'name-format', `security group name "${g.name}" must be lower-case letters, digits and '-', start and end with a letter or digit, at most 63 characters`);
    } else if (groups.has(g.name)) {
      add(`${p}.name`, 'name-unique', `security group "${g.name}" is defined twice (also securityGroups[${groups.get(g.name)}])`);
    } else groups.set(g.name, i);
  });
  // Rules are checked after every name is known: a rule may name a group defined after it.
  state.securityGroups.forEach((g, i) => {
    g.rules.forEach((r, j) => validateRule(r, `securityGroups[${i}].rules[${j}]`, groups, add));
  });

  let enabled = 0;
  state.attachments.forEach((a, i) => {
    if (!a.portSecurity) return;
    const p = `attachments[${i}].portSecurity`;
    validatePortSecurity(a, p, groups, add);
    if (a.portSecurity.enabled && ++enabled === MAX_PORT_SECURITY_ATTACHMENTS + 1) {
      const total = state.attachments.filter((x) => x.portSecurity?.enabled).length;
      add(`${p}.enabled`, 'port-security-limit',
        `${total} attachments have port security enabled; at most ${MAX_PORT_SECURITY_ATTACHMENTS} can (the firewall marks each with a 12-bit number); this is the first one over the limit`);
    }
  });
}

function validateRule(r: SecurityRule, p: string, groups: ReadonlyMap<string, number>, add: AddViolation): void {
  if (r.direction !== Direction.INGRESS && r.direction !== Direction.EGRESS) {
    add(`${p}.direction`, 'rule-direction', 'direction must be INGRESS (towards the workload) or EGRESS (from it)');
  }

  const protocol = parseProtocol(r.protocol);
  if (protocol === null) {
    add(`${p}.protocol`, 'rule-protocol', `protocol "${r.protocol}" is not ANY, TCP, UDP, ICMP, ICMPV6 or an IP protocol number 0..255`);
  }

  const ports: [string, number | undefined][] = [['fromPort', r.fromPort], ['toPort', r.toPort]];
  let portsInRange = true;
  for (const [field, port] of ports) {
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      add(`${p}.${field}`, 'rule-port-range', `${field} ${port} is out of range 1..65535`);
      portsInRange = false;
    }
  }
  if (portsInRange && r.fromPort !== undefined && r.toPort !== undefined && r.fromPort > r.toPort) {
    add(`${p}.toPort`, 'rule-port-order', `port range ${r.fromPort}-${r.toPort}: fromPort is above toPort`);
  }
  if (protocol !== null && !PORT_PROTOCOLS.has(protocol) && (r.fromPort !== undefined || r.toPort !== undefined)) {
    add(`${p}.${r.fromPort !== undefined ? 'fromPort' : 'toPort'}`, 'rule-ports-protocol',
      `protocol ${protocolText(protocol)} has no ports; fromPort and toPort apply to TCP, UDP, SCTP, DCCP and UDP-Lite only`);
  }

  const remote = r.remote;
  if (remote?.$case === 'remoteCidr') {
    const family = checkRemoteCidr(remote.remoteCidr, `${p}.remoteCidr`, add);
    const wants: Family | null = protocol === PROTOCOL_ICMP ? 4 : protocol === PROTOCOL_ICMPV6 ? 6 : null;
    if (family !== null && wants !== null && family !== wants) {
      add(`${p}.remoteCidr`, 'rule-family',
        `protocol ${protocolText(protocol!)} is IPv${wants} only but remoteCidr ${remote.remoteCidr} is IPv${family}; use ${wants === 4 ? 'ICMPV6' : 'ICMP'} or an IPv${wants} CIDR`);
    }
  } else if (remote?.$case === 'remoteGroup') {
    if (!remote.remoteGroup) add(`${p}.remoteGroup`, 'reference-resolves', 'remoteGroup is empty: name a security group, or leave the remote out to match anyone');
    else if (!groups.has(remote.remoteGroup)) {
      add(`${p}.remoteGroup`, 'reference-resolves', `security group "${remote.remoteGroup}" is not defined in this state`);
    }
  }
}

/** The family of a remote CIDR that is well formed, or null after adding its violation. */
function checkRemoteCidr(text: string, path: string, add: AddViolation): Family | null {
  const cidr = parseCidr(text);
  if (!cidr) {
    const hint = parseIp(text) ? `; for this one address write ${text}/${parseIp(text)!.family === 4 ? 32 : 128}` : '';
    add(path, 'cidr-format', `remoteCidr "${text}" is not an address with a prefix length, e.g. 10.0.0.0/8 or ::/0${hint}`);
    return null;
  }
  if (cidr.base !== cidr.first) {
    add(path, 'cidr-network-address', `remoteCidr ${text} has host bits set; the network is ${networkText(cidr)}/${cidr.prefix}`);
    return null;
  }
  return cidr.family;
}

function validatePortSecurity(a: Attachment, p: string, groups: ReadonlyMap<string, number>, add: AddViolation): void {
  const ps = a.portSecurity!;
  if (!ps.enabled) {
    // Fail closed: groups or address pairs on a port that filters nothing would read as
    // protection that is not there.
    if (ps.securityGroups.length > 0) {
      add(`${p}.enabled`, 'port-security-disabled', 'portSecurity.enabled is false: security groups would not be enforced; set enabled: true or remove securityGroups');
    }
    if (ps.allowedAddressPairs.length > 0) {
      add(`${p}.enabled`, 'port-security-disabled', 'portSecurity.enabled is false: allowed address pairs would not be enforced; set enabled: true or remove allowedAddressPairs');
    }
  }
  const seen = new Map<string, number>();
  ps.securityGroups.forEach((name, k) => {
    const gp = `${p}.securityGroups[${k}]`;
    if (!groups.has(name)) add(gp, 'reference-resolves', name ? `security group "${name}" is not defined in this state` : 'a security group name is empty');
    else if (seen.has(name)) add(gp, 'security-group-repeated', `security group "${name}" is already listed (securityGroups[${seen.get(name)}])`);
    else seen.set(name, k);
  });
  ps.allowedAddressPairs.forEach((pair, k) => validateAddressPair(pair, `${p}.allowedAddressPairs[${k}]`, a.name, add));
}

function validateAddressPair(pair: AddressPair, p: string, attachment: string, add: AddViolation): void {
  if (pair.ip.includes('/')) {
    const cidr = parseCidr(pair.ip);
    if (!cidr) add(`${p}.ip`, 'ip-format', `ip "${pair.ip}" is neither an IP address nor a CIDR (e.g. 10.0.0.5 or 10.0.0.0/24)`);
    else if (cidr.base !== cidr.first) {
      add(`${p}.ip`, 'cidr-network-address', `ip ${pair.ip} has host bits set; the network is ${networkText(cidr)}/${cidr.prefix} (or give the one address without a prefix)`);
    }
  } else if (!parseIp(pair.ip)) {
    add(`${p}.ip`, 'ip-format', pair.ip ? `ip "${pair.ip}" is neither an IP address nor a CIDR (e.g. 10.0.0.5 or 10.0.0.0/24)` : 'ip is required: an address or a CIDR');
  }
  if (pair.mac) {
    try {
      checkMac('validate', attachment, pair.mac.toLowerCase(), 'mac');
    } catch (err) {
      if (!(err instanceof DataplaneError)) throw err;
      add(`${p}.mac`, 'mac-valid', err.detail);
    }
  }
}
