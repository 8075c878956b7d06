// The agent's process, found through its unix socket, to tell a busy agent from a hung one:
// during a long reconcile pass the agent may not answer probes for seconds (its event loop is
// busy), but its CPU time grows. Reading other processes' fds needs root; without it there is
// no pid and only answered probes count as progress.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** The pid of the process holding the listening socket at `socketPath`, or null. */
export function socketOwnerPid(socketPath: string): number | null {
  const want = path.resolve(socketPath);
  let inodes: Set<string>;
  try {
    // Num RefCount Protocol Flags Type St Inode Path
    inodes = new Set(readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)
      .map((l) => l.trim().split(/\s+/)).filter((f) => f[7] === want).map((f) => `socket:[${f[6]}]`));
  } catch {
    return null;
  }
  if (inodes.size === 0) return null;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // the fd closed meanwhile
      }
    }
  }
  return null;
}

/** User plus system CPU time of `pid` in clock ticks, or null when it is gone. */
export function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}
