// Addresses, routes and neighbours: validated specs -> `ip` argument words.
import { invalid } from '../errors.js';
import { networkText, parseCidr } from '../ip.js';
import type { AddressSpec, NeighbourSpec, RouteSpec } from '../types.js';
import { checkCidr, checkIfName, checkIp, checkMac, checkUint } from '../validate.js';

/** `proto` is written only when given (add only: the kernel deletes by address). */
export function addressLine(verb: 'add' | 'del', op: string, s: AddressSpec): string[] {
  checkIfName(op, s.dev, 'dev');
  const { family, ip, prefix } = checkCidr(op, s.cidr, s.cidr);
  const words = ['addr', verb, `${ip}/${prefix}`, 'dev', s.dev];
  if (verb === 'add' && s.nodad && family === 6) words.push('nodad');
  if (verb === 'add' && s.protocol !== undefined) {
    checkUint(op, s.cidr, s.protocol, 'protocol', 255);
    if (s.protocol !== 0) words.push('proto', String(s.protocol));
  }
  return words;
}

const STATIC_PROTOCOL = 4;

/** Route words after `route add|replace|del`; "default" becomes 0.0.0.0/0 or ::/0 so the family is explicit. */
export function routeLine(verb: 'replace' | 'del', op: string, s: RouteSpec): string[] {
  const object = s.destination;
  let family: 4 | 6 | undefined = s.family;
  const viaFamily = s.via !== undefined ? checkIp(op, object, s.via, 'via') : undefined;
  let destination: string;
  if (s.destination === 'default') {
    family = viaFamily ?? family ?? 4;
    destination = family === 4 ? '0.0.0.0/0' : '::/0';
  } else {
    const c = checkCidr(op, object, s.destination, 'destination');
    family = c.family;
    // The kernel refuses host bits set in a route prefix; say so before asking it.
    const net = networkText(parseCidr(`${c.ip}/${c.prefix}`)!);
    if (net !== c.ip) throw invalid(op, object, `destination "${s.destination}" has host bits set; use ${net}/${c.prefix}`);
    destination = `${c.ip}/${c.prefix}`;
  }
  if (s.family !== undefined && s.family !== family) throw invalid(op, object, `family ${s.family} does not match destination ${s.destination}`);
  if (viaFamily !== undefined && viaFamily !== family) throw invalid(op, object, `via ${s.via} is IPv${viaFamily}, destination is IPv${family}`);
  if (s.via === undefined && s.dev === undefined) throw invalid(op, object, 'a route needs via or dev');
  if (s.dev !== undefined) checkIfName(op, s.dev, 'dev');
  if (s.protocol !== undefined) checkUint(op, object, s.protocol, 'protocol', 255);
  if (s.table !== undefined) checkUint(op, object, s.table, 'table');
  if (s.metric !== undefined) checkUint(op, object, s.metric, 'metric');

  const words = ['route', verb, destination];
  if (s.via !== undefined) words.push('via', s.via);
  if (s.dev !== undefined) words.push('dev', s.dev);
  // Deleting matches only what was given, so a route added with another protocol still goes.
  const protocol = verb === 'replace' ? (s.protocol ?? STATIC_PROTOCOL) : s.protocol;
  if (protocol !== undefined) words.push('proto', String(protocol));
  if (s.table !== undefined) words.push('table', String(s.table));
  if (s.metric !== undefined) words.push('metric', String(s.metric));
  return words;
}

export function neighbourLine(op: string, s: NeighbourSpec): string[] {
  checkIfName(op, s.dev, 'dev');
  checkIp(op, s.ip, s.ip, 'ip');
  checkMac(op, s.ip, s.mac, 'mac', false);
  return ['neigh', 'replace', s.ip, 'lladdr', s.mac, 'dev', s.dev, 'nud', s.state ?? 'permanent'];
}

export function neighbourDeleteLine(op: string, s: Omit<NeighbourSpec, 'mac'>): string[] {
  checkIfName(op, s.dev, 'dev');
  checkIp(op, s.ip, s.ip, 'ip');
  return ['neigh', 'del', s.ip, 'dev', s.dev];
}
