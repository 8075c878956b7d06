// One line of `ip -o -N monitor label link address route neigh` (iproute2 6.1 prints text
// only: `-j monitor` is ignored) -> a parsed event. Link lines give only what the text holds
// (index, name, flags, mtu, state, group, mac, master's name); the watch completes new links
// with `ip -j -d link show`. Neighbour lines name the device but carry no ifindex.
import type { Address, Link, Neighbour, Route } from '../types.js';
import { addressFlagBits, addressProtocol, IFA_F_PERMANENT, nudBits, withPrefix } from './parse.js';

export type MonitorLine =
  | { kind: 'link'; action: 'new' | 'del'; link: Link; masterName: string | null }
  | { kind: 'address'; action: 'new' | 'del'; address: Address }
  | { kind: 'route'; action: 'new' | 'del'; route: Route }
  | { kind: 'neighbour'; action: 'new' | 'del'; neighbour: Neighbour };

const LABELS: Record<string, MonitorLine['kind']> = {
  '[LINK]': 'link', '[ADDR]': 'address', '[ROUTE]': 'route', '[NEIGH]': 'neighbour',
};
const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Null for lines hostnet does not model (bridge FDB entries, ARP misses, unknown labels). */
export function parseMonitorLine(line: string): MonitorLine | null {
  const m = /^(\[[A-Z]+\])(Deleted )?(.*)$/.exec(line);
  const kind = m ? LABELS[m[1]!] : undefined;
  if (!m || !kind) return null;
  const action = m[2] ? 'del' : 'new';
  // -o joins a message's lines with '\': the first one holds what is parsed here.
  const [head = '', ...rest] = m[3]!.split('\\');
  switch (kind) {
    case 'link': return parseLink(action, head, rest.join(' '));
    case 'address': return parseAddress(action, head);
    case 'route': return parseRoute(action, head);
    case 'neighbour': return parseNeighbour(action, head);
  }
}

/** Value after each keyword, e.g. "mtu 1500 state UP" -> {mtu: '1500', state: 'UP'}. */
function valueAfter(words: string[], key: string): string | undefined {
  const i = words.indexOf(key);
  return i >= 0 ? words[i + 1] : undefined;
}

function parseLink(action: 'new' | 'del', head: string, tail: string): MonitorLine | null {
  const m = /^(\d+): ([^:\s]+): <([^>]*)>(.*)$/.exec(head);
  if (!m) return null;
  const flags = m[3]!.split(',');
  const words = m[4]!.trim().split(/\s+/);
  // The bridge announces port changes as AF_BRIDGE link messages (a "Deleted" one when a port
  // leaves): partial views of a link that still exists. They lack IFLA_GROUP, so no "group".
  if (!words.includes('group')) return null;
  const mac = /link\/\S+ (\S+)/.exec(tail)?.[1];
  const at = m[2]!.indexOf('@'); // "v1@v2", "eth0@if7", "v2@NONE": the part after @ is the link
  const link: Link = {
    index: Number(m[1]),
    name: at > 0 ? m[2]!.slice(0, at) : m[2]!,
    kind: 'device',
    mtu: Number(valueAfter(words, 'mtu') ?? 0),
    mac: mac !== undefined && macPattern.test(mac) ? mac.toLowerCase() : null,
    alias: null,
    group: Number(valueAfter(words, 'group') ?? 0),
    up: flags.includes('UP'),
    lowerUp: flags.includes('LOWER_UP'),
    operState: valueAfter(words, 'state') ?? 'UNKNOWN',
    masterIndex: null,
    linkIndex: null,
  };
  return { kind: 'link', action, link, masterName: valueAfter(words, 'master') ?? null };
}

function parseAddress(action: 'new' | 'del', head: string): MonitorLine | null {
  const m = /^(\d+): (\S+)\s+(inet6?) (\S+)(.*)$/.exec(head);
  if (!m) return null;
  const words = m[5]!.trim().split(/\s+/);
  let cidr = m[4]!;
  if (!cidr.includes('/')) {
    // Point-to-point: "inet 10.0.0.1 peer 10.0.0.2/32" carries the prefix on the peer.
    const peer = valueAfter(words, 'peer');
    cidr = `${cidr}/${peer?.split('/')[1] ?? (m[3] === 'inet' ? 32 : 128)}`;
  }
  let flags = words.includes('dynamic') ? 0 : IFA_F_PERMANENT;
  for (const w of words) flags |= addressFlagBits[w] ?? 0;
  return {
    kind: 'address', action,
    address: {
      index: Number(m[1]), dev: m[2]!, family: m[3] === 'inet' ? 4 : 6, cidr,
      scope: Number(valueAfter(words, 'scope') ?? 0), flags,
      protocol: addressProtocol(valueAfter(words, 'proto')),
    },
  };
}

function parseRoute(action: 'new' | 'del', head: string): MonitorLine | null {
  const words = head.trim().split(/\s+/);
  // With -N a route type other than unicast comes first, as a number.
  const type = /^\d+$/.test(words[0] ?? '') ? Number(words.shift()) : 1;
  const dst = words.shift();
  if (dst === undefined || dst === '' || dst === 'nexthop') return null;
  let via = valueAfter(words, 'via') ?? null;
  if (via === 'inet' || via === 'inet6') via = words[words.indexOf('via') + 2] ?? null;
  const family: 4 | 6 = dst.includes(':') || (via?.includes(':') ?? false) || words.includes('pref') ? 6 : 4;
  return {
    kind: 'route', action,
    route: {
      family,
      destination: withPrefix(dst, family),
      via,
      dev: valueAfter(words, 'dev') ?? null,
      // ip leaves out the defaults: proto boot (3), table main (254), scope global, metric 0.
      protocol: Number(valueAfter(words, 'proto') ?? 3),
      table: Number(valueAfter(words, 'table') ?? 254),
      metric: Number(valueAfter(words, 'metric') ?? 0),
      scope: Number(valueAfter(words, 'scope') ?? 0),
      type,
    },
  };
}

function parseNeighbour(action: 'new' | 'del', head: string): MonitorLine | null {
  const words = head.trim().split(/\s+/);
  const ip = words[0];
  // "dev br0 lladdr ..." is a bridge FDB entry; "miss ..." an unresolved lookup.
  if (ip === undefined || !/^[0-9a-f.:]+$/i.test(ip) || !/[.:]/.test(ip)) return null;
  const dev = valueAfter(words, 'dev');
  if (dev === undefined) return null;
  const mac = valueAfter(words, 'lladdr');
  const state = words.reduce((bits, w) => bits | (nudBits[w] ?? 0), 0);
  return {
    kind: 'neighbour', action,
    neighbour: {
      index: 0, dev, family: ip.includes(':') ? 6 : 4, ip,
      mac: mac !== undefined ? mac.toLowerCase() : null, state,
    },
  };
}
