// `ip -j -N` dumps -> the dataplane's types. -N makes ip print tables, protocols, scopes,
// route types and groups as numbers.
import type { Address, Link, Neighbour, Route } from '../types.js';
import { bool, num, obj, objects, str, strings, type Json } from './json.js';
import { ownerId } from './owners.js';

const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function parseLinks(raw: unknown[]): Link[] {
  const entries = objects(raw);
  const indexByName = new Map<string, number>();
  for (const e of entries) {
    const name = str(e, 'ifname');
    const index = num(e, 'ifindex');
    if (name !== undefined && index !== undefined) indexByName.set(name, index);
  }
  const resolve = (name: string | undefined): number | null => {
    if (name === undefined) return null;
    const known = indexByName.get(name);
    if (known !== undefined) return known;
    const m = /^if(\d+)$/.exec(name); // ip prints "ifN" for an index it cannot name
    return m ? Number(m[1]) : null;
  };
  return entries.flatMap((e) => {
    const index = num(e, 'ifindex');
    const name = str(e, 'ifname');
    if (index === undefined || name === undefined) return [];
    return [parseLink(e, index, name, resolve)];
  });
}

function parseLink(e: Json, index: number, name: string, resolve: (n: string | undefined) => number | null): Link {
  const flags = strings(e, 'flags');
  const info = obj(e['linkinfo']);
  const data = obj(info?.['info_data']);
  const kind = str(info, 'info_kind') ?? 'device';
  const address = str(e, 'address');
  const link: Link = {
    index,
    name,
    kind,
    mtu: num(e, 'mtu') ?? 0,
    mac: address !== undefined && macPattern.test(address) ? address.toLowerCase() : null,
    alias: str(e, 'ifalias') ?? null,
    group: num(e, 'group') ?? 0,
    up: flags.includes('UP'),
    lowerUp: flags.includes('LOWER_UP'),
    operState: str(e, 'operstate') ?? 'UNKNOWN',
    masterIndex: resolve(str(e, 'master')),
    // "link_index" when the peer/parent is in another namespace, "link" (a name) otherwise.
    linkIndex: num(e, 'link_index') ?? resolve(str(e, 'link')),
  };
  const linkNetnsId = num(e, 'link_netnsid');
  if (linkNetnsId !== undefined && linkNetnsId >= 0) link.linkNetnsId = linkNetnsId;
  if (kind === 'vlan' && data) {
    link.vlan = { id: num(data, 'id') ?? 0, protocol: str(data, 'protocol') === '802.1ad' ? '802.1ad' : '802.1Q' };
  }
  if (kind === 'vxlan' && data) {
    link.vxlan = {
      vni: num(data, 'id') ?? 0,
      port: num(data, 'port') ?? 0,
      learning: bool(data, 'learning') ?? false,
      local: str(data, 'local') ?? str(data, 'local6') ?? null,
      remote: str(data, 'remote') ?? str(data, 'remote6') ?? str(data, 'group') ?? str(data, 'group6') ?? null,
    };
    const device = resolve(str(data, 'link'));
    if (device !== null) link.vxlan.device = device;
  }
  if (kind === 'bridge' && data) {
    link.bridge = {
      stp: (num(data, 'stp_state') ?? 0) !== 0,
      forwardDelayCentis: num(data, 'forward_delay') ?? 0,
      vlanFiltering: bool(data, 'vlan_filtering') ?? false,
    };
  }
  if (kind === 'tun' && data) {
    link.tun = {
      type: str(data, 'type') === 'tun' ? 'tun' : 'tap',
      multiQueue: bool(data, 'multi_queue') ?? false,
      vnetHdr: bool(data, 'vnet_hdr') ?? false,
      persist: bool(data, 'persist') ?? false,
      owner: ownerId('user', data['user']),
      groupOwner: ownerId('group', data['group']),
    };
  }
  return link;
}

// IFA_F_* bits by the names ip prints; "dynamic" is printed when IFA_F_PERMANENT is absent.
export const addressFlagBits: Record<string, number> = {
  secondary: 0x01, temporary: 0x01, nodad: 0x02, optimistic: 0x04, dadfailed: 0x08, home: 0x10,
  deprecated: 0x20, tentative: 0x40, mngtmpaddr: 0x100, noprefixroute: 0x200, autojoin: 0x400,
  'stable-privacy': 0x800,
};
export const IFA_F_PERMANENT = 0x80;

/** iproute2 (>= 6.3) names of IFA_PROTO values (rt_addrprotos); others print as numbers. */
const addressProtocols: Record<string, number> = { unspec: 0, kernel_lo: 1, kernel_ra: 2, kernel_ll: 3 };

/** `"protocol"` of `ip -j addr` (a name or a number; absent before iproute2 6.3) -> IFA_PROTO. */
export function addressProtocol(text: string | undefined): number {
  if (text === undefined) return 0;
  if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) return Number(text) & 0xff;
  return addressProtocols[text] ?? 0;
}

export function parseAddresses(raw: unknown[]): Address[] {
  return objects(raw).flatMap((e) => {
    const index = num(e, 'ifindex');
    const dev = str(e, 'ifname');
    if (index === undefined || dev === undefined) return [];
    return objects(e['addr_info']).flatMap((a): Address[] => {
      const family = str(a, 'family');
      const local = str(a, 'local');
      const prefix = num(a, 'prefixlen');
      if ((family !== 'inet' && family !== 'inet6') || local === undefined || prefix === undefined) return [];
      let flags = bool(a, 'dynamic') ? 0 : IFA_F_PERMANENT;
      for (const [flag, bit] of Object.entries(addressFlagBits)) if (bool(a, flag)) flags |= bit;
      return [{ index, dev, family: family === 'inet' ? 4 : 6, cidr: `${local}/${prefix}`, scope: num(a, 'scope') ?? 0, flags,
        protocol: addressProtocol(str(a, 'protocol')),
      }];
    });
  });
}

export function withPrefix(dst: string, family: 4 | 6): string {
  if (dst === 'default') return 'default';
  return dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

export function parseRoutes(raw: unknown[]): Route[] {
  return objects(raw).flatMap((e): Route[] => {
    const dst = str(e, 'dst');
    if (dst === undefined) return [];
    const gateway = str(e, 'gateway') ?? str(obj(e['via']), 'host') ?? null;
    // The dump has no family field: IPv6 routes always carry "pref" (RTA_PREF).
    const family: 4 | 6 = dst.includes(':') || (gateway?.includes(':') ?? false) || 'pref' in e ? 6 : 4;
    return [{
      family,
      destination: withPrefix(dst, family),
      via: gateway,
      dev: str(e, 'dev') ?? null,
      protocol: num(e, 'protocol') ?? 0,
      table: num(e, 'table') ?? 254,
      metric: num(e, 'metric') ?? 0,
      scope: num(e, 'scope') ?? 0,
      type: num(e, 'type') ?? 1,
    }];
  });
}

export const nudBits: Record<string, number> = {
  INCOMPLETE: 0x01, REACHABLE: 0x02, STALE: 0x04, DELAY: 0x08, PROBE: 0x10, FAILED: 0x20,
  NOARP: 0x40, PERMANENT: 0x80, NONE: 0x00,
};

export function parseNeighbours(raw: unknown[], links: Link[]): Neighbour[] {
  const indexByName = new Map(links.map((l) => [l.name, l.index]));
  return objects(raw).flatMap((e): Neighbour[] => {
    const ip = str(e, 'dst');
    const dev = str(e, 'dev');
    if (ip === undefined || dev === undefined) return [];
    const state = strings(e, 'state').reduce((bits, s) => bits | (nudBits[s] ?? 0), 0);
    const mac = str(e, 'lladdr');
    return [{
      index: indexByName.get(dev) ?? 0,
      dev,
      family: ip.includes(':') ? 6 : 4,
      ip,
      mac: mac !== undefined ? mac.toLowerCase() : null,
      state,
    }];
  });
}
