// Port security's drop counters as Prometheus counters, per attachment and reason (spoof,
// ingress, egress): read from the kernel's named counters at scrape time. Attachments are
// bounded by the desired state (at most 4095 protected ports).
import { Counter, type Registry } from 'prom-client';

export interface PortSecurityMetricsSource {
  drops(): Promise<Map<string, { spoof: number; ingress: number; egress: number }>>;
}

export function registerPortSecurityMetrics(registry: Registry, source: PortSecurityMetricsSource): void {
  new Counter({
    name: 'hostnet_port_security_dropped_packets_total',
    help: 'Packets dropped by port security, by attachment and reason (spoof: anti-spoofing; ingress, egress: no security group rule allowed them).',
    labelNames: ['attachment', 'reason'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [attachment, d] of await source.drops()) {
        this.inc({ attachment, reason: 'spoof' }, d.spoof);
        this.inc({ attachment, reason: 'ingress' }, d.ingress);
        this.inc({ attachment, reason: 'egress' }, d.egress);
      }
    },
  });
}
