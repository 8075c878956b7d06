// The option registry: every option this server reads or writes, by code. Each option lives in
// its own file with its own test; this file only gathers them and names the codes.
import { broadcastAddress } from './broadcast-address.js';
import { classlessRoutes, msClasslessRoutes } from './classless-routes.js';
import { clientId } from './client-id.js';
import type { OptionCodec } from './codec.js';
import { dnsServers } from './dns-servers.js';
import { domainName } from './domain-name.js';
import { domainSearch } from './domain-search.js';
import { hostname } from './hostname.js';
import { interfaceMtu } from './interface-mtu.js';
import { leaseTime } from './lease-time.js';
import { maxMessageSize } from './max-message-size.js';
import { messageType } from './message-type.js';
import { optionOverload } from './option-overload.js';
import { parameterRequestList } from './parameter-request-list.js';
import { rebindingTime } from './rebinding-time.js';
import { relayAgentInfo } from './relay-agent-info.js';
import { renewalTime } from './renewal-time.js';
import { requestedIp } from './requested-ip.js';
import { router } from './router.js';
import { serverId } from './server-id.js';
import { subnetMask } from './subnet-mask.js';

export { OptionError, type OptionCodec } from './codec.js';
export type { ClasslessRoute } from './classless-routes.js';
export type { RelaySubOption } from './relay-agent-info.js';
export {
  broadcastAddress, classlessRoutes, clientId, dnsServers, domainName, domainSearch, hostname, interfaceMtu,
  leaseTime, maxMessageSize, messageType, msClasslessRoutes, optionOverload, parameterRequestList,
  rebindingTime, relayAgentInfo, renewalTime, requestedIp, router, serverId, subnetMask,
};

/** Option codes by name (RFC 2132 unless noted). */
export const OPT = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  INTERFACE_MTU: 26,
  BROADCAST_ADDRESS: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OPTION_OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  RELAY_AGENT_INFO: 82, // RFC 3046
  DOMAIN_SEARCH: 119, // RFC 3397
  CLASSLESS_ROUTES: 121, // RFC 3442
  MS_CLASSLESS_ROUTES: 249,
  END: 255,
} as const;

const all: OptionCodec<unknown>[] = [
  subnetMask, router, dnsServers, hostname, domainName, interfaceMtu, broadcastAddress, requestedIp, leaseTime,
  optionOverload, messageType, serverId, parameterRequestList, maxMessageSize, renewalTime, rebindingTime, clientId,
  relayAgentInfo, domainSearch, classlessRoutes, msClasslessRoutes,
] as OptionCodec<unknown>[];

const byCode = new Map<number, OptionCodec<unknown>>(all.map((c) => [c.code, c]));

/** The codec for a code, or undefined for options this server does not interpret. */
export function optionCodec(code: number): OptionCodec<unknown> | undefined {
  return byCode.get(code);
}

/** Decodes an option from a message's option map; undefined when absent or malformed. */
export function readOption<T>(options: Map<number, Buffer>, codec: OptionCodec<T>): T | undefined {
  const payload = options.get(codec.code);
  if (payload === undefined) return undefined;
  try {
    return codec.decode(payload);
  } catch {
    return undefined;
  }
}
