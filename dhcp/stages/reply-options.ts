// The options of a reply. Network options are encoded once per configuration; each reply
// then picks: 53 and 54 always, lease times (51/58/59) for OFFER/ACK with a lease, the subnet
// mask and router always (RFC 2131 4.3.1 / RFC 2132 recommend them), the rest when the
// parameter request list (55) asks for it (or everything configured when there is no list),
// in the client's order, and the relay agent information (82) echoed last (RFC 3046 2.2).
// The client identifier (61) is echoed unaltered in every reply, NAK included (RFC 6842 3),
// right after 54 so that a reply squeezed into a small maximum message size still carries it:
// a client that sent one may drop a reply without it.
import { intToIp, type Cidr } from '../../dataplane/ip4.js';
import {
  broadcastAddress, classlessRoutes, dnsServers, domainName, domainSearch, interfaceMtu, leaseTime, messageType,
  msClasslessRoutes, OPT, parameterRequestList, readOption, rebindingTime, renewalTime, router, serverId, subnetMask,
  type ClasslessRoute,
} from '../options/index.js';
import { DHCP, type DhcpMessage } from '../packet.js';
import type { NetworkDhcpConfig } from '../types.js';

/** Options sent even when the client does not list them. */
const ALWAYS = [OPT.SUBNET_MASK, OPT.ROUTER];

export function networkOptions(config: NetworkDhcpConfig, cidr: Cidr): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  m.set(OPT.SUBNET_MASK, subnetMask.encode(intToIp(cidr.mask)));
  if (config.gateway) m.set(OPT.ROUTER, router.encode([config.gateway]));
  if (config.dnsServers?.length) m.set(OPT.DNS_SERVERS, dnsServers.encode(config.dnsServers));
  if (config.domainName) m.set(OPT.DOMAIN_NAME, domainName.encode(config.domainName));
  if (config.mtu !== undefined) m.set(OPT.INTERFACE_MTU, interfaceMtu.encode(config.mtu));
  // /31 and /32 have no broadcast address of their own.
  if (cidr.prefix < 31) m.set(OPT.BROADCAST_ADDRESS, broadcastAddress.encode(intToIp(cidr.broadcast)));
  if (config.searchDomains?.length) m.set(OPT.DOMAIN_SEARCH, domainSearch.encode(config.searchDomains));
  const routes = staticRoutes(config);
  if (routes.length > 0) {
    m.set(OPT.CLASSLESS_ROUTES, classlessRoutes.encode(routes));
    m.set(OPT.MS_CLASSLESS_ROUTES, msClasslessRoutes.encode(routes));
  }
  return m;
}

/** The configured routes plus the default route via the gateway: a client given 121 ignores option 3. */
export function staticRoutes(config: NetworkDhcpConfig): ClasslessRoute[] {
  const routes = (config.routes ?? []).map((r) => ({ destination: r.destination, via: r.via }));
  if (routes.length === 0) return routes;
  const hasDefault = routes.some((r) => r.destination.endsWith('/0'));
  if (config.gateway && !hasDefault) routes.push({ destination: '0.0.0.0/0', via: config.gateway });
  return routes;
}

export interface ReplyOptionsInput {
  type: number;
  serverAddress: string;
  /** Seconds; absent for NAK and INFORM replies. */
  leaseSeconds?: number;
  network: Map<number, Buffer>;
  req: DhcpMessage;
}

export function replyOptions(input: ReplyOptionsInput): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  out.set(OPT.MESSAGE_TYPE, messageType.encode(input.type));
  out.set(OPT.SERVER_ID, serverId.encode(input.serverAddress));
  // Raw bytes, not re-encoded: "unaltered" even when the id is one we would not accept.
  const clientIdEcho = input.req.options.get(OPT.CLIENT_ID);
  if (clientIdEcho) out.set(OPT.CLIENT_ID, clientIdEcho);
  const relay = input.req.options.get(OPT.RELAY_AGENT_INFO);
  if (input.type === DHCP.NAK) {
    if (relay) out.set(OPT.RELAY_AGENT_INFO, relay);
    return out; // NAK: nothing else (RFC 2131 table 3)
  }
  if (input.leaseSeconds !== undefined) {
    const s = input.leaseSeconds;
    out.set(OPT.LEASE_TIME, leaseTime.encode(s));
    out.set(OPT.RENEWAL_TIME, renewalTime.encode(Math.floor(s * 0.5)));
    out.set(OPT.REBINDING_TIME, rebindingTime.encode(Math.floor(s * 0.875)));
  }
  for (const code of ALWAYS) {
    const v = input.network.get(code);
    if (v) out.set(code, v);
  }
  const asked = readOption(input.req.options, parameterRequestList);
  const wanted = asked ?? [...input.network.keys()];
  for (const code of wanted) {
    const v = input.network.get(code);
    if (v && !out.has(code)) out.set(code, v);
  }
  if (relay) out.set(OPT.RELAY_AGENT_INFO, relay);
  return out;
}
