// Test network namespaces (dataplane/testing/netns.ts, prefix hntest-) removed after each test
// or file even when it fails: the vitest hooks. Deleting a namespace removes every device in it.
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { NetnsPool } from '../../dataplane/testing/netns.js';

export const TEST_NETNS_PREFIX = 'hntest-';

const pool = new NetnsPool(TEST_NETNS_PREFIX);

/** Creates `hntest-[prefix-]<pid>-<n>` with loopback up. */
export function createTestNetns(prefix?: string): Promise<string> {
  return pool.create(prefix ? { label: prefix } : {});
}

export function destroyTestNetns(name: string): Promise<void> {
  return pool.destroy(name);
}

/** Removes every namespace this process created and has not removed yet. */
export function destroyAllTestNetns(): Promise<void> {
  return pool.destroyAll();
}

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
