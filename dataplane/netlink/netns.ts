// Network namespaces by file descriptor. A socket or a /dev/net/tun file belongs to the
// namespace its creating thread was in: we enter the target, create, and come straight back,
// all synchronously on the JS thread, so no other code ever runs in the wrong namespace.
import { DataplaneError } from '../errors.js';
import { netnsPath } from '../netns-path.js';
import * as libc from './libc.js';

export function openNetnsFd(netns: string, op: string): number {
  const path = netnsPath(netns);
  const fd = libc.open(path, libc.O_RDONLY | libc.O_CLOEXEC);
  if (fd < 0) {
    const err = libc.errno();
    throw DataplaneError.fromErrno(op, `netns ${netns}`, err, err === 2 ? `network namespace ${path} does not exist` : undefined);
  }
  return fd;
}

/** Runs `fn` with this thread inside `netns` (null: where it already is). */
export function inNetns<T>(netns: string | null, op: string, fn: () => T): T {
  if (netns === null) return fn();
  const target = openNetnsFd(netns, op);
  const home = libc.open('/proc/thread-self/ns/net', libc.O_RDONLY | libc.O_CLOEXEC);
  try {
    if (home < 0) throw DataplaneError.fromErrno(op, 'own netns', libc.errno());
    if (libc.setns(target, libc.CLONE_NEWNET) !== 0) throw DataplaneError.fromErrno(op, `netns ${netns}`, libc.errno());
    try {
      return fn();
    } finally {
      // Failing to come back would leave the whole process in the wrong namespace.
      if (libc.setns(home, libc.CLONE_NEWNET) !== 0) {
        throw new Error(`setns back to the original network namespace failed (errno ${libc.errno()}); aborting`);
      }
    }
  } finally {
    libc.close(target);
    if (home >= 0) libc.close(home);
  }
}

/**
 * One namespace entered again and again (a TAP per attachment is opened there): its fd and
 * the thread's own are opened once, not twice per entry, and kept until close(). It pins
 * nothing new: the dataplane's netlink socket in that namespace holds it already, and this
 * keeps the TAPs in the namespace that socket works in even if the name is re-pointed.
 */
export class NetnsEntry {
  private target = -1;
  private home = -1;

  constructor(readonly netns: string) {}

  run<T>(op: string, fn: () => T): T {
    if (this.target < 0) this.target = openNetnsFd(this.netns, op);
    if (this.home < 0) {
      this.home = libc.open('/proc/thread-self/ns/net', libc.O_RDONLY | libc.O_CLOEXEC);
      if (this.home < 0) throw DataplaneError.fromErrno(op, 'own netns', libc.errno());
    }
    if (libc.setns(this.target, libc.CLONE_NEWNET) !== 0) throw DataplaneError.fromErrno(op, `netns ${this.netns}`, libc.errno());
    try {
      return fn();
    } finally {
      // Failing to come back would leave the whole process in the wrong namespace.
      if (libc.setns(this.home, libc.CLONE_NEWNET) !== 0) {
        throw new Error(`setns back to the original network namespace failed (errno ${libc.errno()}); aborting`);
      }
    }
  }

  close(): void {
    if (this.target >= 0) libc.close(this.target);
    if (this.home >= 0) libc.close(this.home);
    this.target = this.home = -1;
  }
}
