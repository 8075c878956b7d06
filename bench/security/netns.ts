// bench/security's namespaces: hnbench-sec-<pid>-<n> (the benchmark prefix with this bench's
// label, so a leftover is recognisable), IPv6 off (no autoconfiguration in the background),
// always deleted, also on failure and on SIGINT/SIGTERM.
import { NetnsPool } from '../../dataplane/testing/netns.js';

const pool = new NetnsPool('hnbench-');

export function createSecNetns(): Promise<string> {
  return pool.create({ label: 'sec', ipv6: false });
}

export function deleteSecNetns(name: string): Promise<void> {
  return pool.destroy(name);
}

export function deleteAllSecNetns(): Promise<void> {
  return pool.destroyAll();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void deleteAllSecNetns().finally(() => process.exit(130));
  });
}
