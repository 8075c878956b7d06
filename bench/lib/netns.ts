// Benchmark namespaces: uniquely named (hnbench-<pid>-<n>), always deleted, also on failure.
import { execa } from 'execa';

let counter = 0;
const live = new Set<string>();

export async function createBenchNetns(): Promise<string> {
  const name = `hnbench-${process.pid}-${counter++}`;
  await execa('ip', ['netns', 'add', name]);
  live.add(name);
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
