// Benchmark namespaces: uniquely named (hnbench-<pid>-<n>), always deleted, also on failure.
import { execa } from 'execa';

let counter = 0;
const live = new Set<string>();

/**
 * IPv6 is off in benchmark namespaces: otherwise address autoconfiguration on every link that
 * comes up runs in the background and the figures measure it, not the method under test.
 */
export async function createBenchNetns(options: { ipv6?: boolean } = {}): Promise<string> {
  const name = `hnbench-${process.pid}-${counter++}`;
  live.add(name);
  await execa('ip', ['netns', 'add', name]);
  if (!options.ipv6) {
    await execa('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  return name;
}

export async function deleteBenchNetns(name: string): Promise<void> {
  live.delete(name);
  await execa('ip', ['netns', 'del', name], { reject: false });
}

export async function deleteAllBenchNetns(): Promise<void> {
  await Promise.all([...live].map(deleteBenchNetns));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void deleteAllBenchNetns().finally(() => process.exit(130));
  });
}
