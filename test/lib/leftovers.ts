// After a suite: no test namespace may be left behind.
import { readdir } from 'node:fs/promises';
import { NETNS_RUN_DIR } from '../../dataplane/netns-path.js';
import { TEST_NETNS_PREFIX } from './netns.js';

/** Test namespaces that exist now; with `pid`, only those that process created. */
export async function leftoverTestNetns(pid?: number): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(NETNS_RUN_DIR);
  } catch {
    return [];
  }
  const mine = pid === undefined ? null : new RegExp(`-${pid}-\\d+$`);
  return names.filter((n) => n.startsWith(TEST_NETNS_PREFIX) && (mine === null || mine.test(n))).sort();
}

export async function assertNoLeftoverTestNetns(pid?: number): Promise<void> {
  const left = await leftoverTestNetns(pid);
  if (left.length > 0) throw new Error(`test namespaces left behind: ${left.join(', ')}`);
}
