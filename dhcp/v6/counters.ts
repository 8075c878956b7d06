// Per-instance counters of one network's DHCPv6 handler: messages by type received and sent,
// requests dropped by reason, and the status codes handed out (NoAddrsAvail, NoBinding, ...).
// Plain records so metrics and status can copy them as they are.
import { DHCP6 } from './packet.js';
import { STATUS } from './options/index.js';

const typeNames = new Map<number, string>(Object.entries(DHCP6).map(([name, code]) => [code, name.toLowerCase().replace(/_/g, '-')]));
const statusNames = new Map<number, string>(Object.entries(STATUS).map(([name, code]) => [code, name.toLowerCase().replace(/_/g, '-')]));

export function messageType6Name(type: number): string {
  return typeNames.get(type) ?? `type-${type}`;
}

export interface Counters6 {
  /** e.g. { solicit: 10, request: 9 } */
  readonly received: Record<string, number>;
  /** e.g. { advertise: 10, reply: 9 } */
  readonly sent: Record<string, number>;
  /** Requests not answered, by reason, e.g. { 'other-server': 1, 'missing-client-id': 2 }. */
  readonly dropped: Record<string, number>;
  /** Status codes other than Success put in replies (top level or per IA), e.g. { 'no-addrs-avail': 1 }. */
  readonly statuses: Record<string, number>;
}

export class CounterSet6 implements Counters6 {
  readonly received: Record<string, number> = {};
  readonly sent: Record<string, number> = {};
  readonly dropped: Record<string, number> = {};
  readonly statuses: Record<string, number> = {};

  countReceived(type: number): void {
    bump(this.received, messageType6Name(type));
  }

  countSent(type: number): void {
    bump(this.sent, messageType6Name(type));
  }

  countDrop(reason: string): void {
    bump(this.dropped, reason);
  }

  countStatus(code: number): void {
    bump(this.statuses, statusNames.get(code) ?? `status-${code}`);
  }
}

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}
