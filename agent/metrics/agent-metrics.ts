// The agent's metrics, put together: the registry, the reconcile and DHCP metrics, and the
// HTTP endpoint. main.ts calls this once, before the first pass, when an address is set.
import type { DhcpMetricsSource } from './dhcp.js';
import { registerDhcpMetrics } from './dhcp.js';
import { registerPortSecurityMetrics, type PortSecurityMetricsSource } from './port-security.js';
import { registerReconcileMetrics, type ReconcileMetricsSource } from './reconcile.js';
import { createMetricsRegistry, startMetricsServer, type MetricsServer } from './registry.js';

export interface AgentMetricsOptions {
  /** HOST:PORT to serve /metrics on. */
  address: string;
  reconciler: ReconcileMetricsSource;
  dhcp: DhcpMetricsSource;
  portSecurity?: PortSecurityMetricsSource;
  /** The stored desired state's generation. */
  desiredGeneration: () => number;
  onError: (err: Error) => void;
}

export interface AgentMetrics {
  readonly address: MetricsServer['address'];
  close(): Promise<void>;
}

export async function startAgentMetrics(o: AgentMetricsOptions): Promise<AgentMetrics> {
  const registry = createMetricsRegistry();
  const unsubscribe = registerReconcileMetrics(registry, o.reconciler, o.desiredGeneration);
  registerDhcpMetrics(registry, o.dhcp);
  if (o.portSecurity) registerPortSecurityMetrics(registry, o.portSecurity);
  let server: MetricsServer;
  try {
    server = await startMetricsServer(registry, o.address, o.onError);
  } catch (err) {
    unsubscribe();
    throw err;
  }
  return {
    address: server.address,
    close: async () => {
      unsubscribe();
      await server.close();
    },
  };
}
