// Who is asking: option 61 when present identifies the client, else chaddr (RFC 2131 4.2).
import { clientId as clientIdOption, hostname as hostnameOption, readOption } from '../options/index.js';
import type { DhcpMessage } from '../packet.js';
import type { Lease } from '../types.js';

export interface ClientIdentity {
  mac: string;
  clientId?: string;
  hostname?: string;
  /** One string per client: "id:<hex>" or "mac:<mac>". */
  key: string;
}

export function identifyClient(req: DhcpMessage): ClientIdentity {
  const clientId = readOption(req.options, clientIdOption);
  const hostname = readOption(req.options, hostnameOption);
  return {
    mac: req.chaddr,
    ...(clientId ? { clientId } : {}),
    ...(hostname ? { hostname } : {}),
    key: clientId ? `id:${clientId}` : `mac:${req.chaddr}`,
  };
}

/** Whether a lease record belongs to this client (a record made before it sent an id matches by MAC). */
export function isClientsLease(lease: Lease, client: ClientIdentity): boolean {
  if (client.clientId) return lease.clientId === client.clientId || (lease.clientId === undefined && lease.mac === client.mac);
  return lease.mac === client.mac;
}
