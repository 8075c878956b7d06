// DHCP figures per network for metrics, in Kea's spirit: packets received and sent by message
// type, drops by reason, leases by state, pool size and use. Counts are kept per network across
// server instances: a network's server is restarted when its bridge is recreated, and a
// Prometheus counter must never go down, so the final counts of each retired instance are
// added to the network's base. The book must see every instance once while it runs (DhcpHost
// shows it its instances after each change of them); a retired instance keeps its final
// counts (DhcpServer.counters after stop()).
import type { Counters as HandlerCounters } from '../../dhcp/counters.js';
import type { Lease, LeaseState } from '../../dhcp/types.js';

/** What the book reads of one server instance (DhcpServer has it). */
export interface CountedServer {
  readonly running: boolean;
  readonly counters: {
    decodeErrors: number;
    overloadDrops: number;
    handlerErrors: number;
    commitErrors: number;
    encodeErrors: number;
    sendErrors: number;
    relayDrops: number;
    handler: HandlerCounters | null;
  };
  leases(): Lease[];
  poolUsage(): { size: number; used: number } | null;
}

/** Monotonic counts of one network, over all its server instances. */
export interface DhcpCounts {
  /** Requests by DHCP message type ("discover", "request", ...). */
  received: Record<string, number>;
  /** Replies by message type ("offer", "ack", "nak"). */
  sent: Record<string, number>;
  /** Packets not answered, by reason (the handler's reasons plus "malformed", "overload", ...). */
  dropped: Record<string, number>;
  /** NAKs by why ("address-taken", "wrong-network", ...). */
  naks: Record<string, number>;
  /** Server instances started (1 + restarts). */
  starts: number;
}

export interface DhcpNetworkStats extends DhcpCounts {
  network: string;
  /** A server instance is running now. */
  running: boolean;
  /** Leases by state, from the running instance (all states present, 0 when none). */
  leases: Record<LeaseState, number>;
  /** Pool size and addresses in use; null when no instance runs. */
  pool: { size: number; used: number } | null;
}

const LEASE_STATES: readonly LeaseState[] = ['offered', 'bound', 'released', 'expired', 'declined'];

/** The counts one instance has made so far (server-level failures as drop reasons). */
export function countsOf(server: CountedServer): DhcpCounts {
  const c = server.counters;
  const h = c.handler;
  const dropped: Record<string, number> = { ...(h?.dropped ?? {}) };
  const extra: Record<string, number> = {
    malformed: c.decodeErrors, overload: c.overloadDrops, 'handler-error': c.handlerErrors,
    'commit-error': c.commitErrors, 'encode-error': c.encodeErrors, 'send-error': c.sendErrors, 'relay-budget': c.relayDrops,
  };
  for (const [reason, n] of Object.entries(extra)) if (n > 0) dropped[reason] = (dropped[reason] ?? 0) + n;
  return { received: { ...(h?.received ?? {}) }, sent: { ...(h?.sent ?? {}) }, dropped, naks: { ...(h?.naks ?? {}) }, starts: 1 };
}

function addInto(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

function sum(a: DhcpCounts, b: DhcpCounts): DhcpCounts {
  const out: DhcpCounts = { received: { ...a.received }, sent: { ...a.sent }, dropped: { ...a.dropped }, naks: { ...a.naks }, starts: a.starts + b.starts };
  addInto(out.received, b.received);
  addInto(out.sent, b.sent);
  addInto(out.dropped, b.dropped);
  addInto(out.naks, b.naks);
  return out;
}

const empty = (): DhcpCounts => ({ received: {}, sent: {}, dropped: {}, naks: {}, starts: 0 });

export class DhcpStatsBook {
  /** Final counts of retired instances, by network. */
  private readonly base = new Map<string, DhcpCounts>();
  /** Instances seen and not yet folded into the base (current ones and ones still stopping). */
  private readonly live = new Map<string, Set<CountedServer>>();

  /**
   * Takes note of the instances running now, and folds the final counts of those that stopped
   * into their network's base. Cheap: reads no leases. DhcpHost calls it whenever its
   * instances may have changed, so every instance is seen while it runs.
   */
  see(current: ReadonlyMap<string, CountedServer>): void {
    for (const [network, server] of current) {
      let set = this.live.get(network);
      if (!set) this.live.set(network, (set = new Set()));
      set.add(server);
    }
    // An instance that is no longer current and has stopped has its final counts: fold them in.
    for (const [network, set] of this.live) {
      for (const server of set) {
        if (current.get(network) === server || server.running) continue;
        this.base.set(network, sum(this.base.get(network) ?? empty(), countsOf(server)));
        set.delete(server);
      }
      if (set.size === 0) this.live.delete(network);
    }
  }

  /** Figures for every network that has had a server, given the instances running now. */
  collect(current: ReadonlyMap<string, CountedServer>): DhcpNetworkStats[] {
    this.see(current);
    const networks = new Set([...this.base.keys(), ...this.live.keys()]);
    return [...networks].sort().map((network) => {
      let counts = this.base.get(network) ?? empty();
      for (const server of this.live.get(network) ?? []) counts = sum(counts, countsOf(server));
      const now = current.get(network);
      const leases = Object.fromEntries(LEASE_STATES.map((s) => [s, 0])) as Record<LeaseState, number>;
      for (const l of now?.leases() ?? []) leases[l.state]++;
      return { network, running: now?.running ?? false, ...counts, leases, pool: now?.poolUsage() ?? null };
    });
  }
}
