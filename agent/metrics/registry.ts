// The agent's metrics registry and the HTTP endpoint Prometheus scrapes (GET /metrics). Off
// unless --metrics-address (or metricsAddress: in the config file) is set. Everything is
// registered on one registry of our own, never prom-client's global one, so tests and two
// agents in one process cannot collide.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { parseListenAddress } from './address.js';

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  // Process and Node figures (CPU, memory, event-loop lag, file descriptors).
  collectDefaultMetrics({ register: registry });
  // A few of prom-client's are gauges named *_total (nodejs_active_handles_total, ...), which
  // breaks the convention promtool checks; the per-type gauges without the suffix stay.
  for (const m of registry.getMetricsAsArray()) {
    if (m.name.endsWith('_total') && !((m as unknown) instanceof Counter)) registry.removeSingleMetric(m.name);
  }
  return registry;
}

export interface MetricsServer {
  /** The address actually bound (the port is the kernel's choice when 0 was asked for). */
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startMetricsServer(registry: Registry, listen: string, onError: (err: Error) => void): Promise<MetricsServer> {
  const { host, port } = parseListenAddress(listen);
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        onError(new Error(`collect metrics: ${e.message}`, { cause: e }));
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`collect metrics: ${e.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`listen for metrics on ${listen}: ${err.message}`, { cause: err })));
    server.listen({ host, port }, () => resolve());
  });
  server.on('error', onError);
  const bound = server.address() as AddressInfo;
  return {
    address: { host: bound.address, port: bound.port },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
