// The embedded DHCPv4 server's vocabulary, shared by its pure core (codec, options,
// allocator, lease store, handler) and its transport (socket bound to a bridge, instances).
// The agent maps its desired state onto NetworkDhcpConfig; dhcp/ knows nothing of the agent.

/** Everything one network's server instance needs. Addresses are dotted IPv4 strings. */
export interface NetworkDhcpConfig {
  /** The network's name: labels leases, logs and metrics. */
  network: string;
  /** The subnet served, e.g. "192.168.10.0/24". */
  cidr: string;
  /** The server's own address on the bridge: the server identifier (option 54). */
  serverAddress: string;
  /** Router (option 3) and, when routes are given, the default route inside option 121/249. */
  gateway?: string;
  /** Allocation pools; absent or empty: every usable host of the CIDR except network,
   *  broadcast, the gateway and the server's own address (/31 and /32 handled). */
  pools?: { start: string; end: string }[];
  /** Option 6. */
  dnsServers?: string[];
  /** Option 15. */
  domainName?: string;
  /** Option 119 (RFC 3397 encoding). */
  searchDomains?: string[];
  /** Classless static routes: option 121 (RFC 3442) and the same data as 249. */
  routes?: { destination: string; via: string }[];
  /** Option 26, interface MTU. */
  mtu?: number;
  /** Option 51; T1 = 0.5x and T2 = 0.875x of it (options 58, 59). */
  leaseSeconds: number;
  /** MAC -> IP bindings (an attachment with `ip: auto` gets one). */
  reservations?: { mac: string; ip: string; hostname?: string }[];
  /** Addresses never handed out (static attachments, anything else in use). */
  excluded?: string[];
}

export type LeaseState = 'offered' | 'bound' | 'released' | 'expired' | 'declined';

export interface Lease {
  network: string;
  ip: string;
  /** Client hardware address, lower-case "aa:bb:cc:dd:ee:ff". */
  mac: string;
  /** Option 61 as lower-case hex, when the client sent one: it identifies the client first. */
  clientId?: string;
  /** Option 12. */
  hostname?: string;
  state: LeaseState;
  /** Milliseconds since the epoch. For 'declined': end of the address's quarantine. */
  expiresAt: number;
  /** When the lease (or this state) began, ms since the epoch. */
  updatedAt: number;
}

/** What the transport needs from the dataplane (implemented by the agent with a Dataplane). */
export interface NeighbourWriter {
  /** Installs a neighbour entry so a unicast reply can reach a client that has no address yet. */
  setNeighbour(dev: string, ip: string, mac: string): Promise<void>;
}
