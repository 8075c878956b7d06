// Benchmark namespaces: uniquely named (hnbench-[label-]<pid>-<n>), always deleted, also on failure.
import { NetnsPool } from '../../dataplane/testing/netns.js';

const pool = new NetnsPool('hnbench-');

/**
 * IPv6 is off in benchmark namespaces: otherwise address autoconfiguration on every link that
 * comes up runs in the background and the figures measure it, not the method under test.
 */
export function createBenchNetns(options: { ipv6?: boolean; loopback?: boolean; label?: string } = {}): Promise<string> {
  return pool.create({ loopback: options.loopback ?? false, ipv6: options.ipv6 ?? false, ...(options.label ? { label: options.label } : {}) });
}

export function deleteBenchNetns(name: string): Promise<void> {
  return pool.destroy(name);
}

export function deleteAllBenchNetns(): Promise<void> {
  return pool.destroyAll();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void deleteAllBenchNetns().finally(() => process.exit(130));
  });
}
