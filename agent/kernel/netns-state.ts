// Whether a path names a network namespace, by stat alone (no syscall into the namespace). A
// namespace is identified by its nsfs inode, never by its name: `ip netns del X; ip netns add X`
// leaves the same path naming another namespace.
import { statSync } from 'node:fs';

export type NetnsState =
  | { present: true; ino: number }
  /** missing: nothing at the path; notNetns: a file that is no namespace (e.g. `ip netns add` between creating and mounting it). */
  | { present: false; why: 'missing' | 'notNetns' };

let nsfsDev: number | null = null;

/** Every namespace file is an inode of the one nsfs superblock: its device tells it apart. */
function nsfsDevice(): number {
  nsfsDev ??= statSync('/proc/self/ns/net').dev;
  return nsfsDev;
}

export function netnsState(path: string): NetnsState {
  let st;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch {
    return { present: false, why: 'missing' }; // e.g. ENOTDIR, EACCES: nothing usable there
  }
  if (!st) return { present: false, why: 'missing' };
  if (st.dev !== nsfsDevice()) return { present: false, why: 'notNetns' };
  return { present: true, ino: st.ino };
}

/** One line for a condition's message. */
export function describeMissing(path: string, state: Extract<NetnsState, { present: false }>): string {
  return state.why === 'missing'
    ? `the peer network namespace ${path} does not exist`
    : `${path} is not a network namespace (not yet mounted?)`;
}
