// DHCPv6 lease records in the lease store's line format (checksummed JSON, one per line),
// indexed by the client's IA (DUID + IAID): what Renew, Rebind, Release and Decline look up.
import { decodeRecordLine, encodeRecordLine } from '../lease-record.js';
import type { RecordFormat } from '../lease-store.js';
import { iaKey, type Lease6, type Lease6State } from './types.js';

const STATES = new Set<Lease6State>(['bound', 'released', 'expired', 'declined']);

function isLease6(v: unknown): v is Lease6 {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as Record<string, unknown>;
  return (
    typeof l.network === 'string' && typeof l.ip === 'string' && typeof l.duid === 'string' &&
    typeof l.iaid === 'number' && Number.isInteger(l.iaid) &&
    (l.mac === undefined || typeof l.mac === 'string') &&
    typeof l.state === 'string' && STATES.has(l.state as Lease6State) &&
    typeof l.expiresAt === 'number' && typeof l.updatedAt === 'number'
  );
}

export const lease6Format: RecordFormat<Lease6> = {
  encode: (l) => encodeRecordLine(l),
  decode: (line) => decodeRecordLine(line, isLease6),
  keys: (l) => [iaKey(l.duid, l.iaid)],
};
