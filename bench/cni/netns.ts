// bench/cni's namespaces: hbc-<label>-<pid>-<n>, tracked before they exist and always deleted,
// also on SIGINT/SIGTERM and on exit. Everything the plugins build lives in one of them (the
// reference bridge in the "host" namespace, hostnet's bridge and host ends in the agent's,
// the pods' ends in the pods'), so deleting them leaves nothing behind.
import { NetnsPool } from '../../dataplane/testing/netns.js';

const pool = new NetnsPool('hbc-');

/**
 * A namespace as a runtime makes it for a pod: fresh, loopback up (the runtime's loopback
 * plugin does that before any other), IPv6 left as the kernel defaults it.
 */
export function createNetns(label: string): Promise<string> {
  return pool.create({ label, loopback: true });
}

export const netnsPath = (name: string): string => `/var/run/netns/${name}`;

export function deleteNetns(name: string): Promise<void> {
  return pool.destroy(name);
}

export function deleteAllNetns(): Promise<void> {
  return pool.destroyAll();
}

/** `n` namespaces, made `width` at a time. */
export async function createPods(label: string, n: number, width = 8): Promise<string[]> {
  const out: string[] = new Array<string>(n);
  await eachLimited(Array.from({ length: n }, (_, i) => i), width, async (i) => {
    out[i] = await createNetns(label);
  });
  return out;
}

/** Runs `fn` over `items`, at most `width` at a time. */
export async function eachLimited<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void deleteAllNetns().finally(() => process.exit(130));
  });
}
