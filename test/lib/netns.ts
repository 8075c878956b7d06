// Test network namespaces: uniquely named (hntest-[prefix-]<pid>-<n>), tracked, and removed
// after each test or file even when it fails. Deleting a namespace removes every device in it.
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

export const TEST_NETNS_PREFIX = 'hntest-';

let counter = 0;
const live = new Set<string>();

/** Creates `hntest-[prefix-]<pid>-<n>` with loopback up. */
export async function createTestNetns(prefix?: string): Promise<string> {
  const name = `${TEST_NETNS_PREFIX}${prefix ? `${prefix}-` : ''}${process.pid}-${++counter}`;
  live.add(name); // tracked before it exists, so a half-made one is still removed
  await execa('ip', ['netns', 'add', name]);
  await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export async function destroyTestNetns(name: string): Promise<void> {
  if (!name.startsWith(TEST_NETNS_PREFIX)) throw new Error(`refusing to delete netns "${name}": not a test namespace`);
  await execa('ip', ['netns', 'del', name], { reject: false });
  live.delete(name);
}

/** Removes every namespace this process created and has not removed yet. */
export async function destroyAllTestNetns(): Promise<void> {
  await Promise.all([...live].map(destroyTestNetns));
}

// Last resort if the worker exits without running hooks (synchronous: 'exit' cannot wait).
process.once('exit', () => {
  for (const name of live) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
});

/**
 * Gives each test (scope 'each') or the whole file (scope 'all') `count` fresh namespaces.
 * The returned array is refilled in place; read it inside tests, not at collection time.
 */
export function useNetns(count: number, scope: 'each' | 'all' = 'each', prefix?: string): string[] {
  const names: string[] = [];
  const setup = async (): Promise<void> => {
    names.length = 0;
    for (let i = 0; i < count; i++) names.push(await createTestNetns(prefix));
  };
  const teardown = async (): Promise<void> => {
    await Promise.all(names.map(destroyTestNetns));
    names.length = 0;
  };
  if (scope === 'each') {
    beforeEach(setup);
    afterEach(teardown);
  } else {
    beforeAll(setup);
    afterAll(teardown);
  }
  afterAll(destroyAllTestNetns);
  return names;
}
