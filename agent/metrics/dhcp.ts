// DHCP metrics in Kea's spirit (pkt4-*-received, pkt4-*-sent, pkt4-receive-drop,
// total-addresses, assigned-addresses), per network: network names are bounded by the desired
// state, and nothing is labelled per client. The counts come from DhcpHost.stats(), which keeps
// them monotonic across server restarts; they are read at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DhcpNetworkStats } from '../dhcp/stats.js';

export interface DhcpMetricsSource {
  stats(): DhcpNetworkStats[];
}

/** One stats() per scrape, however many metrics read it. */
function perScrape(source: DhcpMetricsSource): () => DhcpNetworkStats[] {
  let cached: DhcpNetworkStats[] | null = null;
  return () => {
    if (!cached) {
      cached = source.stats();
      setImmediate(() => (cached = null));
    }
    return cached;
  };
}

export function registerDhcpMetrics(registry: Registry, source: DhcpMetricsSource): void {
  const stats = perScrape(source);
  const registers = [registry];
  const byKey = (name: string, help: string, key: string, pick: (s: DhcpNetworkStats) => Record<string, number>): void => {
    new Counter({
      name, help, labelNames: ['network', key], registers,
      collect() {
        this.reset();
        for (const s of stats()) for (const [value, n] of Object.entries(pick(s))) this.inc({ network: s.network, [key]: value }, n);
      },
    });
  };
  byKey('hostnet_dhcp_packets_received_total', 'DHCP requests received, by message type.', 'type', (s) => s.received);
  byKey('hostnet_dhcp_packets_sent_total', 'DHCP replies sent, by message type.', 'type', (s) => s.sent);
  byKey('hostnet_dhcp_packets_dropped_total', 'DHCP packets not answered, by reason.', 'reason', (s) => s.dropped);
  byKey('hostnet_dhcp_naks_total', 'DHCP NAKs sent, by reason.', 'reason', (s) => s.naks);
  new Counter({
    name: 'hostnet_dhcp_server_starts_total', help: 'DHCP server instances started for the network (first start and restarts).', labelNames: ['network'], registers,
    collect() {
      this.reset();
      for (const s of stats()) this.inc({ network: s.network }, s.starts);
    },
  });
  const perNetwork = (name: string, help: string, value: (s: DhcpNetworkStats) => number | null): void => {
    new Gauge({
      name, help, labelNames: ['network'], registers,
      collect() {
        this.reset();
        for (const s of stats()) {
          const v = value(s);
          if (v !== null) this.set({ network: s.network }, v);
        }
      },
    });
  };
  perNetwork('hostnet_dhcp_server_up', '1 when the network\'s DHCP server is running.', (s) => (s.running ? 1 : 0));
  perNetwork('hostnet_dhcp_pool_addresses', 'Addresses the pools can hand out (reserved and excluded ones not counted).', (s) => s.pool?.size ?? null);
  perNetwork('hostnet_dhcp_pool_used_addresses', 'Pool addresses bound, offered or quarantined now.', (s) => s.pool?.used ?? null);
  new Gauge({
    name: 'hostnet_dhcp_leases', help: 'DHCP leases by state (of running servers).', labelNames: ['network', 'state'], registers,
    collect() {
      this.reset();
      for (const s of stats()) {
        if (!s.running) continue;
        for (const [state, n] of Object.entries(s.leases)) this.set({ network: s.network, state }, n);
      }
    },
  });
}
