// The DHCPv6 server's vocabulary (RFC 8415), shared by its pure core (handler, allocator,
// lease records) and its transport. The agent maps a network onto Dhcp6Config; dhcp/v6 knows
// nothing of the agent. Addresses are IPv6 text; DUIDs are lower-case hex of their bytes.
import type { Duid } from './options/index.js';

export interface Dhcp6Config {
  /** The network's name: labels leases, logs and metrics. */
  network: string;
  /** The on-link prefix, e.g. "fd00:77::/64": Confirm answers NotOnLink outside it. */
  prefix: string;
  /** Address pools inside the prefix (inclusive). Ignored when not stateful. */
  pools: { start: string; end: string }[];
  /**
   * Fixed addresses. `duid` (hex of the DUID's bytes) matches first; else `mac`, read from a
   * DUID-LL or DUID-LLT (a reinstalled guest makes a new DUID-LLT but keeps its MAC).
   */
  reservations?: { mac?: string; duid?: string; ip: string }[];
  /** Option 23. */
  dnsServers?: string[];
  /** Option 24. */
  searchDomains?: string[];
  /** Lifetimes of an assigned address; T1 = 0.5 and T2 = 0.8 of the preferred one (RFC 8415 21.4). */
  preferredLifetimeSec: number;
  validLifetimeSec: number;
  /** Our DUID (option 2): a client sends Request/Renew/Release/Decline to the server that named itself. */
  serverDuid: Duid;
  /** true: addresses (IA_NA) from the pools; false: configuration only (Information-Request). */
  stateful: boolean;
  /** Answer a Solicit that carries Rapid Commit with a committed Reply (default true). */
  rapidCommit?: boolean;
  /** Preference option in Advertise (default 255: the client need not wait for other servers). */
  preference?: number;
}

export type Lease6State = 'bound' | 'released' | 'expired' | 'declined';

/** One address bound to one IA of one client (a client may have several IAs). */
export interface Lease6 {
  network: string;
  ip: string;
  /** The client's DUID, lower-case hex. */
  duid: string;
  /** The IA_NA's IAID the address belongs to. */
  iaid: number;
  /** From a DUID-LL/LLT, lower-case, when the DUID carries one. */
  mac?: string;
  state: Lease6State;
  /** Ms since the epoch: end of the valid lifetime; for 'declined', end of the quarantine. */
  expiresAt: number;
  /** When the lease (or this state) began, ms since the epoch. */
  updatedAt: number;
}

/** The store key of a client's IA: the binding RFC 8415 identifies by (DUID, IAID). */
export function iaKey(duid: string, iaid: number): string {
  return `ia:${duid}:${iaid}`;
}
