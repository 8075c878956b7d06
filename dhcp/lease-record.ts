// One line of a lease file: "<crc32 hex> <lease JSON>\n". The checksum tells a torn or
// corrupted record from a good one, so replay can skip it instead of trusting half a lease.
import { crc32 } from 'node:zlib';
import type { Lease, LeaseState } from './types.js';

const STATES = new Set<LeaseState>(['offered', 'bound', 'released', 'expired', 'declined']);

export function encodeLeaseRecord(lease: Lease): string {
  return encodeRecordLine(lease);
}

/** The lease in one line (without its newline), or undefined when it is torn or not a lease. */
export function decodeLeaseRecord(line: string): Lease | undefined {
  return decodeRecordLine(line, isLease);
}

/** Any JSON record as one checksummed line (DHCPv6 leases use the same framing). */
export function encodeRecordLine(record: object): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** The record in one line when its checksum holds and `valid` accepts it; else undefined. */
export function decodeRecordLine<T>(line: string, valid: (v: unknown) => v is T): T | undefined {
  if (line.length < 10 || line[8] !== ' ') return undefined;
  const json = line.slice(9);
  if (crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  return valid(v) ? v : undefined;
}

function isLease(v: unknown): v is Lease {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as Record<string, unknown>;
  return (
    typeof l.network === 'string' && typeof l.ip === 'string' && typeof l.mac === 'string' &&
    (l.clientId === undefined || typeof l.clientId === 'string') &&
    (l.hostname === undefined || typeof l.hostname === 'string') &&
    typeof l.state === 'string' && STATES.has(l.state as LeaseState) &&
    typeof l.expiresAt === 'number' && typeof l.updatedAt === 'number'
  );
}
