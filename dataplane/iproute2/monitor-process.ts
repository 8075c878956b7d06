// One `ip -o -N monitor label ...` child: started with execa, ready once its netlink socket is
// bound to the multicast groups (seen in /proc, so no probe change is made in the namespace),
// lines handed over as they arrive, stopped by pid.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { DataplaneError } from '../errors.js';
import type { WatchKind } from '../types.js';
import type { IpInvocation } from './exec.js';

// 'fdb' is watched by its own `bridge monitor fdb` child (fdb-watch.ts), never through ip.
const OBJECTS: Record<Exclude<WatchKind, 'fdb'>, string> = { link: 'link', address: 'address', route: 'route', neighbour: 'neigh' };
const READY_TIMEOUT_MS = 5000;
const SPAWN_OPTIONS = { env: { LC_ALL: 'C', LANG: 'C' }, buffer: false, reject: false, stdin: 'ignore' } as const;
type Child = ResultPromise<typeof SPAWN_OPTIONS>;

export interface MonitorCallbacks {
  onLine(line: string): void;
  /** ip prints "netlink receive error ... (105)" and carries on when the kernel dropped events. */
  onOverflow(): void;
  /** The child ended without stop(). */
  onExit(why: string): void;
}

export class MonitorProcess {
  private stopped = false;
  private stderrTail = '';

  private constructor(private readonly child: Child, cb: MonitorCallbacks, label: string) {
    let carry = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (this.stopped) return;
      const lines = (carry + chunk).split('\n');
      carry = lines.pop()!;
      for (const line of lines) if (line.length > 0) cb.onLine(line);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (this.stopped) return;
      this.stderrTail = (this.stderrTail + chunk).slice(-500);
      if (/netlink receive error .*\(105\)/.test(chunk)) cb.onOverflow();
    });
    void child.then((r) => {
      if (this.stopped) return;
      this.stopped = true;
      const how = r.signal ? `signal ${r.signal}` : `exit ${r.exitCode ?? '?'}`;
      cb.onExit(`${label} ended (${how})${this.stderrTail.trim() ? `: ${this.stderrTail.trim()}` : ''}`);
    });
  }

  /** Resolves once the child listens; rejects if it ends or is not listening in time. */
  static start(inv: IpInvocation, kinds: readonly Exclude<WatchKind, 'fdb'>[], cb: MonitorCallbacks): Promise<MonitorProcess> {
    return MonitorProcess.startCommand(inv, ['-o', '-N', 'monitor', 'label', ...kinds.map((k) => OBJECTS[k])], cb, 'ip monitor');
  }

  /** Any iproute2 monitor (`bridge -o monitor fdb` too): `args` follow the invocation's own. */
  static async startCommand(inv: IpInvocation, monitorArgs: readonly string[], cb: MonitorCallbacks, label: string): Promise<MonitorProcess> {
    const args = [...inv.args, ...monitorArgs];
    // setpriv (util-linux) sets PR_SET_PDEATHSIG and execs ip in place (same pid): if this
    // process dies without close() (kill -9), the kernel ends the monitor instead of leaving it.
    const child = execa('setpriv', ['--pdeathsig', 'KILL', '--', inv.file, ...args], SPAWN_OPTIONS);
    const pid = child.pid;
    let ended = false;
    let ready = false; // an exit before readiness is start()'s failure, not onExit's
    void child.then(() => { ended = true; });
    const proc = new MonitorProcess(child, { ...cb, onExit: (why) => { if (ready) cb.onExit(why); } }, label);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!ended && pid !== undefined && !(await listening(pid))) {
      if (Date.now() > deadline) {
        proc.stop();
        throw new DataplaneError('watch', inv.file, 'ETIMEDOUT', `${label} was not listening after ${READY_TIMEOUT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    if (ended || pid === undefined) {
      const r = await child;
      throw new DataplaneError('watch', inv.file, 'EIO', `${label} could not start: ${String(r.stderr ?? r.message ?? '').trim() || `exit ${r.exitCode}`}`);
    }
    ready = true;
    return proc;
  }

  /** Kills the child (by its pid) and drops whatever it still prints. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.child.kill('SIGTERM'); // execa signals child.pid; a no-op once it has ended
  }
}

/** True once the process has an rtnetlink socket (protocol 0) joined to some multicast group. */
async function listening(pid: number): Promise<boolean> {
  try {
    const inodes = new Set<string>();
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) inodes.add(m[1]!);
    }
    if (inodes.size === 0) return false;
    // /proc/PID/net/netlink shows the sockets of the namespace the process is in now.
    const table = await readFile(`/proc/${pid}/net/netlink`, 'utf8');
    return table.split('\n').slice(1).some((row) => {
      const f = row.trim().split(/\s+/);
      return f[1] === '0' && f[3] !== undefined && /[1-9a-f]/i.test(f[3]) && inodes.has(f[9] ?? '');
    });
  } catch {
    return false; // the process is gone or still exec'ing: the caller checks for that
  }
}
