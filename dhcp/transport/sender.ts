// Puts encoded replies on the wire the way RFC 2131 4.1 wants: broadcast to 255.255.255.255:68,
// unicast to a client's new address (after installing its neighbour entry, since a client
// without an address cannot answer ARP), unicast to a client's current address, or to a relay
// agent's port 67.
import type dgram from 'node:dgram';
import type { NeighbourWriter } from '../types.js';

/** Where a reply goes; the same shape as the handler's Destination. */
export type ReplyDestination = { kind: 'broadcast' } | { kind: 'unicast'; ip: string; mac: string } | { kind: 'relay'; ip: string };

export interface SenderCounters {
  sent: number;
  sendErrors: number;
  /** Unicast replies sent as broadcast instead: the neighbour entry could not be written, or
   *  the budget of new unicast destinations was spent (see NEW_DESTINATION_BUDGET). */
  neighbourFallbacks: number;
  /** Relay replies dropped because the budget of new destinations was spent. */
  relayDrops: number;
}

const CLIENT_PORT = 68;
const SERVER_PORT = 67;
const BROADCAST = '255.255.255.255';
/** A destination used less than this long ago is known: no neighbour write, no budget. */
const FRESH_MS = 30_000;
const KNOWN_MAX = 4096;
const NEIGHBOUR_WRITES_MAX = 32;
/**
 * New unicast destinations per window. Every new destination is a neighbour entry (ours, or
 * the kernel's while it ARPs), and the kernel's ARP table is shared by every namespace
 * (gc_thresh3, 1024 by default) with entries touched in the last 5 s not reclaimable. A flood
 * of DISCOVERs (or INFORMs from made-up addresses) answered by unicast fills it; then every
 * send on the host fails with ENOBUFS, and libuv holds the socket's whole send queue until it
 * clears. Beyond the budget, replies are broadcast (clients listen for that too).
 */
const NEW_DESTINATION_BUDGET = 128;
const WINDOW_MS = 5_000;

export class DhcpSender {
  readonly counters: SenderCounters = { sent: 0, sendErrors: 0, neighbourFallbacks: 0, relayDrops: 0 };
  /** ip -> the MAC we wrote for it (null: left to the kernel) and when last used; bounded. */
  private readonly known = new Map<string, { mac: string | null; at: number }>();
  private writing = 0;
  private windowStart = 0;
  private windowNew = 0;

  constructor(
    private readonly socket: dgram.Socket,
    private readonly device: string,
    private readonly neighbours: NeighbourWriter | null,
    private readonly now: () => number = Date.now,
    /** `op` is a fixed label (the caller rate-limits by it); details are in `err`. */
    private readonly onError: (op: string, err: unknown) => void = () => {},
  ) {}

  /**
   * `clientHasAddress`: the client sent from `dest.ip` (ciaddr), so it answers ARP itself and
   * no neighbour entry is written.
   */
  async send(buf: Buffer, dest: ReplyDestination, clientHasAddress = false): Promise<void> {
    let ip = BROADCAST;
    let port = CLIENT_PORT;
    if (dest.kind === 'relay') {
      if (!this.admit(dest.ip, null)) {
        this.counters.relayDrops++;
        return;
      }
      ip = dest.ip;
      port = SERVER_PORT;
    } else if (dest.kind === 'unicast') {
      const ok = clientHasAddress ? this.admit(dest.ip, null) : await this.ensureNeighbour(dest.ip, dest.mac);
      if (ok) ip = dest.ip;
      else this.counters.neighbourFallbacks++;
    }
    await new Promise<void>((resolve) => {
      const done = (err: unknown): void => {
        if (err) {
          this.counters.sendErrors++;
          this.onError('send reply', err);
        } else this.counters.sent++;
        resolve();
      };
      try {
        this.socket.send(buf, port, ip, done);
      } catch (err) {
        done(err); // the socket was closed under us
      }
    });
  }

  /** True when `ip` is known (same MAC) or the budget allows one more new destination. */
  private admit(ip: string, mac: string | null): boolean {
    const t = this.now();
    const seen = this.known.get(ip);
    if (seen && seen.mac === mac && t - seen.at < FRESH_MS) {
      this.remember(ip, mac, t);
      return true;
    }
    if (t - this.windowStart >= WINDOW_MS) {
      this.windowStart = t;
      this.windowNew = 0;
    }
    if (this.windowNew >= NEW_DESTINATION_BUDGET) return false;
    this.windowNew++;
    this.remember(ip, mac, t);
    return true;
  }

  private remember(ip: string, mac: string | null, at: number): void {
    this.known.delete(ip); // re-insert: the map's order is least recently used first
    this.known.set(ip, { mac, at });
    if (this.known.size > KNOWN_MAX) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }

  /** True when unicast to a client without an address can go ahead. */
  private async ensureNeighbour(ip: string, mac: string): Promise<boolean> {
    if (!this.neighbours) return false;
    const seen = this.known.get(ip);
    const fresh = seen !== undefined && seen.mac === mac && this.now() - seen.at < FRESH_MS;
    if (!fresh && this.writing >= NEIGHBOUR_WRITES_MAX) return false;
    if (!this.admit(ip, mac)) return false;
    if (fresh) return true;
    this.writing++;
    try {
      await this.neighbours.setNeighbour(this.device, ip, mac);
      return true;
    } catch (err) {
      // E.g. ENOBUFS when the neighbour table is full: broadcast still reaches the client.
      this.known.delete(ip);
      this.onError('set neighbour', err);
      return false;
    } finally {
      this.writing--;
    }
  }
}
