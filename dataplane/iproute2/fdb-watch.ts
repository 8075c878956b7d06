// Dataplane.watch()'s 'fdb' kind over `bridge -o monitor fdb`: `ip monitor neigh` prints FDB
// entries without their port, VNI or flags, so they get a child of their own. Entries carry
// the device's name; their ifindex is 0 (bridge prints none). A child that dies is restarted
// and onResync called, as for the ip monitor.
import type { DataplaneWatch, WatchHandlers } from '../types.js';
import type { IpInvocation } from './exec.js';
import { parseFdbMonitorLine } from './fdb.js';
import { MonitorProcess } from './monitor-process.js';

const RESTART_DELAY_MS = [50, 200, 1000, 5000];

export async function startFdbWatch(inv: IpInvocation, handlers: WatchHandlers): Promise<DataplaneWatch> {
  const watch = new FdbWatch(inv, handlers);
  watch.proc = await watch.spawn();
  return watch;
}

class FdbWatch implements DataplaneWatch {
  proc: MonitorProcess | null = null;
  private closed = false;
  private paused = false;

  constructor(private readonly inv: IpInvocation, private readonly handlers: WatchHandlers) {}

  /** Like ip monitor, bridge monitor prints with a delay of its own: no promise. */
  async flush(): Promise<boolean> {
    return false;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.proc?.stop();
    this.proc = null;
  }

  spawn(): Promise<MonitorProcess> {
    let self: MonitorProcess | null = null;
    const mine = (): boolean => !this.closed && self !== null && this.proc === self;
    return MonitorProcess.startCommand(this.inv, ['-o', 'monitor', 'fdb'], {
      onLine: (line) => {
        if (!mine() || this.paused) return;
        const parsed = parseFdbMonitorLine(line);
        if (parsed) this.call(() => this.handlers.onEvent({ kind: 'fdb', ...parsed }));
      },
      onOverflow: () => { if (mine()) this.call(() => this.handlers.onResync('events lost (ENOBUFS)')); },
      onExit: (why) => { if (mine()) void this.restart(`${why}; restarted`); },
    }, 'bridge monitor').then((p) => (self = p));
  }

  private async restart(reason: string): Promise<void> {
    this.proc?.stop();
    this.proc = null;
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const proc = await this.spawn();
        if (this.closed) {
          proc.stop();
          return;
        }
        this.proc = proc;
        this.call(() => this.handlers.onResync(reason));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, RESTART_DELAY_MS[Math.min(attempt, RESTART_DELAY_MS.length - 1)]));
      }
    }
  }

  private call(f: () => void): void {
    try {
      f();
    } catch {
      // A throwing handler must not stop the event stream; handlers own their errors.
    }
  }
}

/** Several watches as one (the ip monitor and the bridge monitor of one handle). */
export function combinedWatch(parts: readonly DataplaneWatch[]): DataplaneWatch {
  if (parts.length === 1) return parts[0]!;
  return {
    close: () => parts.forEach((p) => p.close()),
    pause: () => parts.forEach((p) => p.pause()),
    resume: () => parts.forEach((p) => p.resume()),
    flush: async () => (await Promise.all(parts.map((p) => p.flush()))).every(Boolean),
  };
}
