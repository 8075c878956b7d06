// Building blocks of a DHCPv6 reply (pure): the identifiers every reply starts with, the
// configuration options (23, 24) the client asked for, and IA_NA options for what was decided.
import {
  OPT6, clientId, dnsServers, domainSearch, iaNa, option6, optionRequest, readOption6, serverId, statusCode,
  type Dhcp6Option, type Duid, type IaNa, type Status,
} from '../options/index.js';
import type { Dhcp6Message } from '../packet.js';

/** Client ID (echoed as the client sent it, byte for byte) and our Server ID. */
export function identifiers(req: Dhcp6Message, server: Duid): Dhcp6Option[] {
  const out: Dhcp6Option[] = [];
  const cid = req.options.find((o) => o.code === clientId.code);
  if (cid) out.push({ code: cid.code, data: cid.data });
  out.push(option6(serverId, server));
  return out;
}

/**
 * DNS servers and the search list when configured and asked for (RFC 8415 18.3: the server
 * sends what the Option Request option names; a client that sends none gets both).
 */
export function configOptions(req: Dhcp6Message, dns: readonly string[], domains: readonly string[]): Dhcp6Option[] {
  const oro = readOption6(req.options, optionRequest);
  const wants = (code: number): boolean => oro === undefined || oro.includes(code);
  const out: Dhcp6Option[] = [];
  if (dns.length > 0 && wants(OPT6.DNS_SERVERS)) out.push(option6(dnsServers, [...dns]));
  if (domains.length > 0 && wants(OPT6.DOMAIN_SEARCH)) out.push(option6(domainSearch, [...domains]));
  return out;
}

export function status(code: number, message: string): Dhcp6Option {
  return option6(statusCode, { code, message });
}

/** An IA_NA answer: addresses with their lifetimes, or a status and no addresses. */
export function iaOption(ia: {
  iaid: number;
  t1: number;
  t2: number;
  addresses: { address: string; preferredLifetime: number; validLifetime: number }[];
  status?: Status;
}): Dhcp6Option {
  const value: IaNa = {
    iaid: ia.iaid, t1: ia.t1, t2: ia.t2,
    addresses: ia.addresses.map((a) => ({ ...a, otherOptions: [] })),
    ...(ia.status ? { status: ia.status } : {}),
    otherOptions: [],
  };
  return option6(iaNa, value);
}
