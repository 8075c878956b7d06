// The DHCPv6 option registry: every option this server reads or writes, by code. Each option
// lives in its own file with its own test; this file only gathers them and names the codes.
import { clientId } from './client-id.js';
import type { Dhcp6Option, Option6Codec } from './codec.js';
import { dnsServers } from './dns-servers.js';
import { domainSearch } from './domain-search.js';
import { elapsedTime } from './elapsed-time.js';
import { iaAddress } from './ia-address.js';
import { iaNa } from './ia-na.js';
import { informationRefreshTime } from './information-refresh-time.js';
import { optionRequest } from './option-request.js';
import { preference } from './preference.js';
import { rapidCommit } from './rapid-commit.js';
import { serverId } from './server-id.js';
import { statusCode } from './status-code.js';

export { Option6Error, type Dhcp6Option, type Option6Codec, type Option6Reason } from './codec.js';
export { DUID_TYPE, HW_ETHERNET, duidHex, macFromDuid, type Duid } from './duid.js';
export type { IaAddress } from './ia-address.js';
export type { IaNa } from './ia-na.js';
export { IRT_DEFAULT, IRT_MINIMUM } from './information-refresh-time.js';
export { STATUS, type Status } from './status-code.js';
export {
  clientId, dnsServers, domainSearch, elapsedTime, iaAddress, iaNa, informationRefreshTime, optionRequest,
  preference, rapidCommit, serverId, statusCode,
};

/** Option codes by name (RFC 8415 unless noted). */
export const OPT6 = {
  CLIENT_ID: 1,
  SERVER_ID: 2,
  IA_NA: 3,
  IA_ADDRESS: 5,
  OPTION_REQUEST: 6,
  PREFERENCE: 7,
  ELAPSED_TIME: 8,
  RELAY_MESSAGE: 9,
  STATUS_CODE: 13,
  RAPID_COMMIT: 14,
  INTERFACE_ID: 18,
  DNS_SERVERS: 23, // RFC 3646
  DOMAIN_SEARCH: 24, // RFC 3646
  INFORMATION_REFRESH_TIME: 32,
} as const;

const all: Option6Codec<unknown>[] = [
  clientId, serverId, iaNa, iaAddress, optionRequest, preference, elapsedTime, statusCode, rapidCommit, dnsServers,
  domainSearch, informationRefreshTime,
] as Option6Codec<unknown>[];

const byCode = new Map<number, Option6Codec<unknown>>(all.map((c) => [c.code, c]));

/** The codec for a code, or undefined for options this server does not interpret (kept raw). */
export function option6Codec(code: number): Option6Codec<unknown> | undefined {
  return byCode.get(code);
}

/** Decodes the first instance of an option; undefined when absent or malformed. */
export function readOption6<T>(options: readonly Dhcp6Option[], codec: Option6Codec<T>): T | undefined {
  const o = options.find((x) => x.code === codec.code);
  if (o === undefined) return undefined;
  try {
    return codec.decode(o.data);
  } catch {
    return undefined;
  }
}

/** Decodes every instance of an option (a client may send several IA_NAs), skipping malformed ones. */
export function readOptions6<T>(options: readonly Dhcp6Option[], codec: Option6Codec<T>): T[] {
  const out: T[] = [];
  for (const o of options) {
    if (o.code !== codec.code) continue;
    try {
      out.push(codec.decode(o.data));
    } catch {
      // A message from decodeDhcp6 has none: it refuses malformed known options.
    }
  }
  return out;
}

/** An option ready for a message: the codec's encoding of `value`. */
export function option6<T>(codec: Option6Codec<T>, value: T): Dhcp6Option {
  return { code: codec.code, data: codec.encode(value) };
}
