// Per-instance counters of one network's DHCP handler: messages received and sent by type,
// requests dropped by reason. Plain records so metrics and status can copy them as they are.
import { DHCP } from './packet.js';

const typeNames = new Map<number, string>(Object.entries(DHCP).map(([name, code]) => [code, name.toLowerCase()]));

export function messageTypeName(type: number): string {
  return typeNames.get(type) ?? `type-${type}`;
}

/** The data: what metrics and status read (and may copy with a spread). */
export interface Counters {
  /** Requests by message type, e.g. { discover: 10, request: 9 }. */
  readonly received: Record<string, number>;
  /** Replies by message type, e.g. { offer: 10, ack: 9, nak: 0 }. */
  readonly sent: Record<string, number>;
  /** Requests not answered, by reason, e.g. { 'pool-exhausted': 3, 'other-server': 1 }. */
  readonly dropped: Record<string, number>;
  /** NAKs by why, e.g. { 'address-taken': 1, 'wrong-network': 2 } (optional: snapshots may leave it out). */
  readonly naks?: Record<string, number>;
  /**
   * Which came last, a request refused for lack of an address or an OFFER: the sequence
   * numbers (among counted events) of the latest of each, 0 for never.
   */
  readonly latest?: { poolExhausted: number; offer: number };
}

/** The counting side, owned by one handler instance. */
export class CounterSet implements Counters {
  /** Requests by message type, e.g. { discover: 10, request: 9 }. */
  readonly received: Record<string, number> = {};
  /** Replies by message type, e.g. { offer: 10, ack: 9, nak: 0 }. */
  readonly sent: Record<string, number> = {};
  /** Requests not answered, by reason, e.g. { 'pool-exhausted': 3, 'other-server': 1 }. */
  readonly dropped: Record<string, number> = {};
  readonly naks: Record<string, number> = {};
  readonly latest = { poolExhausted: 0, offer: 0 };
  #events = 0;

  countReceived(type: number): void {
    bump(this.received, messageTypeName(type));
  }

  countSent(type: number): void {
    const name = messageTypeName(type);
    bump(this.sent, name);
    if (name === 'offer') this.latest.offer = ++this.#events;
  }

  countDrop(reason: string): void {
    bump(this.dropped, reason);
    if (reason === 'pool-exhausted') this.latest.poolExhausted = ++this.#events;
  }

  countNak(why: string): void {
    bump(this.naks, why);
  }
}

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}
