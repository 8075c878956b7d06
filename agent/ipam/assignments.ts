// Every attachment's addresses as one desired state asks for them: static ones as given, auto
// ones chosen by allocator.ts (earlier choices kept). One computation serves every reader of a
// pass: the firewall (what a port may send from), DHCP (a TAP's first address is its
// reservation), the workload participant (what goes on a veth's peer) and the status.
import { contains, parseCidr, parseIp, type Cidr, type Family } from '../../dataplane/ip.js';
import { IpFamily, type Attachment, type DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { primaryFamily, subnetsOf, type Subnet } from '../desired/subnets.js';
import { macOf } from '../naming.js';
import { addressText, chooseAutoAddresses, type AddressRange, type AutoRequest } from './allocator.js';
import { poolSliceOf, servedRanges } from './pools.js';

export interface AssignedAddress {
  /** Canonical address text. */
  ip: string;
  family: Family;
  /** The network's prefix length. */
  prefixLength: number;
  network: string;
  source: 'static' | 'auto';
}

export interface AttachmentAddressing {
  attachment: string;
  network: string;
  mac: string;
  /** In the order asked for: `static`/`auto`, then `addresses`. */
  addresses: AssignedAddress[];
  /** Auto addresses that could not be chosen (the pools are full). */
  missing: number;
  /** Put on the workload's interface: a veth without skipAssignment. */
  assign: boolean;
}

/** Auto choices by network, then attachment: what ipam.json keeps. */
export type AutoChoices = Record<string, Record<string, string[]>>;

/** A DHCP lease that holds its address (bound or offered), as IPAM sees it. */
export interface HeldLease {
  ip: string;
  mac: string;
}

export class AddressAssignments {
  constructor(
    private readonly byName: ReadonlyMap<string, AttachmentAddressing>,
    /** The auto choices these assignments rest on (to be stored). */
    readonly choices: AutoChoices,
  ) {}

  of(attachment: string): AttachmentAddressing | undefined {
    return this.byName.get(attachment);
  }

  /** The attachment's addresses, as text. */
  addressesOf(attachment: string): string[] {
    return this.byName.get(attachment)?.addresses.map((x) => x.ip) ?? [];
  }

  /** Attachments of one network that have addresses, in desired order. */
  onNetwork(network: string): AttachmentAddressing[] {
    return [...this.byName.values()].filter((a) => a.network === network);
  }

  all(): IterableIterator<AttachmentAddressing> {
    return this.byName.values();
  }
}

export interface AddressAsk {
  source: 'static' | 'auto';
  text?: string;
  /** An auto address's subnet family; undefined: the network's own. */
  family?: Family;
}

const familyOfAsk = (f: IpFamily): Family | undefined => (f === IpFamily.IPV4 ? 4 : f === IpFamily.IPV6 ? 6 : undefined);

/** The addresses an attachment asks for, in order; empty for `none` or no `ip`. */
export function addressAsks(a: Attachment): AddressAsk[] {
  const out: AddressAsk[] = [];
  const mode = a.ip?.mode;
  if (mode?.$case === 'static') out.push({ source: 'static', text: mode.static });
  else if (mode?.$case === 'auto') out.push({ source: 'auto' });
  for (const r of a.ip?.addresses ?? []) {
    const family = familyOfAsk(r.family);
    if (r.mode?.$case === 'static') out.push({ source: 'static', text: r.mode.static });
    else if (r.mode?.$case === 'auto') out.push({ source: 'auto', ...(family ? { family } : {}) });
  }
  return out;
}

/** Which family an ask is for: a static address's own, an auto one's subnet (the network's by default). */
export function askFamily(ask: AddressAsk, primary: Family): Family {
  if (ask.source === 'static') return parseIp(ask.text ?? '')?.family ?? primary;
  return ask.family ?? primary;
}

/** Where a subnet's auto choices are kept in ipam.json: the network's name, "<network>/ipv6" for a dual-stack network's IPv6 half. */
export function choiceKey(subnet: Subnet): string {
  return subnet.primary ? subnet.network : `${subnet.network}/ipv6`;
}

/**
 * The addresses of every attachment of `desired` that asks for some. `previous`: the auto
 * choices stored so far; `leases(network)`: what DHCP holds there.
 */
export function assignAddresses(desired: DesiredState, previous: AutoChoices, leases: (network: string) => readonly HeldLease[]): AddressAssignments {
  const byName = new Map<string, AttachmentAddressing>();
  const choices: AutoChoices = {};
  for (const n of desired.networks) {
    const members = desired.attachments.filter((a) => a.network === n.name && addressAsks(a).length > 0);
    if (members.length === 0) continue;
    const primary = primaryFamily(n);
    /** Per attachment and family: the addresses chosen, in ask order, and how many autos are missing. */
    const perFamily = new Map<string, { addresses: AssignedAddress[]; missing: number }>();
    for (const subnet of subnetsOf(n)) {
      const cidr = parseCidr(subnet.cidr);
      if (!cidr) continue;
      const asksOf = (a: Attachment): AddressAsk[] => addressAsks(a).filter((x) => askFamily(x, primary) === subnet.family);
      const users = members.filter((a) => asksOf(a).length > 0);
      if (users.length === 0) continue;
      const ranges = servedRanges(subnet, cidr, poolSliceOf(n, desired.node));
      const got = assignSubnet(subnet, cidr, ranges, users, asksOf, previous[choiceKey(subnet)] ?? {}, subnet.primary ? leases(n.name) : []);
      if (Object.keys(got.choices).length > 0) choices[choiceKey(subnet)] = got.choices;
      for (const [name, r] of got.byAttachment) perFamily.set(`${name}|${subnet.family}`, r);
    }
    for (const a of members) {
      const queues = new Map<Family, AssignedAddress[]>();
      let missing = 0;
      for (const family of [4, 6] as const) {
        const r = perFamily.get(`${a.name}|${family}`);
        if (r) {
          queues.set(family, [...r.addresses]);
          missing += r.missing;
        }
      }
      // Back in the order asked for, whatever the family.
      const addresses: AssignedAddress[] = [];
      for (const ask of addressAsks(a)) {
        const next = queues.get(askFamily(ask, primary))?.shift();
        if (next) addresses.push(next);
      }
      byName.set(a.name, {
        attachment: a.name, network: n.name, mac: macOf(a), addresses, missing,
        assign: a.kind?.$case === 'veth' && !a.ip?.skipAssignment,
      });
    }
  }
  return new AddressAssignments(byName, choices);
}

/** One subnet's addresses for the attachments asking for some of its family. */
function assignSubnet(
  subnet: Subnet, cidr: Cidr, ranges: AddressRange[], users: readonly Attachment[], asksOf: (a: Attachment) => AddressAsk[],
  stored: Record<string, string[]>, held: readonly HeldLease[],
): { byAttachment: Map<string, { addresses: AssignedAddress[]; missing: number }>; choices: Record<string, string[]> } {
  const address = (text: string): bigint | null => {
    const ip = parseIp(text);
    return ip && ip.family === cidr.family && contains(cidr, ip) ? ip.value : null;
  };
  const taken = new Set<bigint>();
  const keep = (text: string | undefined): void => {
    const v = text ? address(text) : null;
    if (v !== null) taken.add(v);
  };
  keep(subnet.gateway);
  const reservedFor = new Map<string, bigint>();
  if (subnet.primary) {
    keep(subnet.dhcp?.serverAddress || (subnet.gatewayOnBridge ? subnet.gateway : ''));
    for (const r of subnet.dhcp?.reservations ?? []) {
      keep(r.ip);
      const v = address(r.ip);
      if (v !== null) reservedFor.set(r.mac.toLowerCase(), v);
    }
  }
  for (const a of users) for (const ask of asksOf(a)) if (ask.source === 'static') keep(ask.text);
  const leased = new Map<bigint, string>();
  const heldBy = new Map<string, bigint>();
  for (const l of held) {
    const v = address(l.ip);
    if (v === null) continue;
    leased.set(v, l.mac.toLowerCase());
    heldBy.set(l.mac.toLowerCase(), v);
  }
  const requests: AutoRequest[] = [];
  for (const a of users) {
    const mac = macOf(a);
    let slots = asksOf(a).filter((x) => x.source === 'auto').length;
    // An explicit reservation of the attachment's MAC is its first auto address.
    if (reservedFor.has(mac) && slots > 0) slots--;
    if (slots === 0) continue;
    const prev = (stored[a.name] ?? []).flatMap((t) => (address(t) === null ? [] : [address(t)!]));
    requests.push({ attachment: a.name, mac, slots, previous: prev });
  }
  const chosen = new Map(chooseAutoAddresses({ family: cidr.family, ranges, taken }, requests, leased, heldBy).map((c) => [c.attachment, c]));
  const choices: Record<string, string[]> = {};
  const byAttachment = new Map<string, { addresses: AssignedAddress[]; missing: number }>();
  for (const a of users) {
    const c = chosen.get(a.name);
    const autos = (c?.addresses ?? []).map((v) => addressText(cidr.family, v));
    if (autos.length > 0) choices[a.name] = autos;
    const reserved = reservedFor.get(macOf(a));
    const autoQueue = [...(reserved !== undefined ? [addressText(cidr.family, reserved)] : []), ...autos];
    const addresses: AssignedAddress[] = [];
    for (const ask of asksOf(a)) {
      const text = ask.source === 'static' ? (ask.text ? parseIp(ask.text)?.text : undefined) : autoQueue.shift();
      if (text) addresses.push({ ip: text, family: cidr.family, prefixLength: cidr.prefix, network: subnet.network, source: ask.source });
    }
    byAttachment.set(a.name, { addresses, missing: c?.missing ?? 0 });
  }
  return { byAttachment, choices };
}
