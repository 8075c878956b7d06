// Watches the directories of the desired peer namespace paths (/run/netns and the like) so that
// a namespace that appears (or vanishes) is acted on at once, not at the next periodic resync.
// A kernel event cannot tell us: a new namespace has no link of ours yet. `ip netns add` creates
// the file, then mounts the namespace on it (no inotify event): a file that is not a namespace
// yet is looked at again shortly. Paths under /proc/PID/ns give no events (procfs); those
// namespaces go with their process, and the kernel's link events report the pair going.
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { netnsState, type NetnsState } from './netns-state.js';

/** How often and how long to look again at a file that is not a namespace yet. */
const SETTLE_EVERY_MS = 10;
const SETTLE_TRIES = 200;

export type NetnsChange = (why: string) => void;

function signature(s: NetnsState): string {
  return s.present ? `ino ${s.ino}` : s.why;
}

export class NetnsWatch {
  /** Directory of followed paths -> the watcher on it (or on its nearest existing ancestor). */
  private readonly watchers = new Map<string, { dir: string; watcher: FSWatcher }>();
  /** Followed path -> how it stood when last looked at. */
  private readonly known = new Map<string, string>();
  private readonly settling = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly onChange: NetnsChange, private readonly warn: (msg: string, fields: Record<string, unknown>) => void = () => undefined) {}

  /** Follows exactly these paths from now on, as the caller just saw them. */
  follow(namespaces: ReadonlyMap<string, NetnsState>): void {
    if (this.closed) return;
    for (const p of this.known.keys()) if (!namespaces.has(p)) this.forget(p);
    for (const [p, s] of namespaces) this.known.set(p, signature(s));
    const wanted = new Set<string>();
    for (const p of this.known.keys()) wanted.add(path.dirname(p));
    for (const target of this.watchers.keys()) if (!wanted.has(target)) this.unwatch(target);
    for (const target of wanted) if (!this.watchers.has(target)) this.watchDir(target, target);
  }

  close(): void {
    this.closed = true;
    for (const target of [...this.watchers.keys()]) this.unwatch(target);
    for (const t of this.settling.values()) clearTimeout(t);
    this.settling.clear();
    this.known.clear();
  }

  private forget(p: string): void {
    this.known.delete(p);
    const t = this.settling.get(p);
    if (t) clearTimeout(t);
    this.settling.delete(p);
  }

  private unwatch(target: string): void {
    this.watchers.get(target)?.watcher.close();
    this.watchers.delete(target);
  }

  /** Watches `target`, or while it does not exist its nearest existing ancestor `dir`. */
  private watchDir(target: string, dir: string): void {
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => this.onEvent(target, dir, name));
    } catch (err) {
      const parent = path.dirname(dir);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && parent !== dir) return this.watchDir(target, parent);
      this.warn('cannot watch a peer namespace directory', { dir, err: (err as Error).message });
      return;
    }
    watcher.on('error', (err) => {
      // e.g. the directory was removed: set up again (maybe on an ancestor) at the next pass.
      this.warn('peer namespace directory watch failed', { dir, err: err.message });
      if (this.watchers.get(target)?.watcher === watcher) this.unwatch(target);
      else watcher.close();
    });
    this.watchers.set(target, { dir, watcher });
  }

  private onEvent(target: string, dir: string, name: string | Buffer | null): void {
    if (this.closed || this.watchers.get(target)?.dir !== dir) return;
    if (dir !== target) {
      // An ancestor changed (e.g. /run/netns was created): move the watch down, look at every path there.
      this.unwatch(target);
      this.watchDir(target, target);
      for (const p of this.known.keys()) if (path.dirname(p) === target) this.look(p, 0);
      return;
    }
    const file = name === null ? null : String(name);
    for (const p of this.known.keys()) {
      if (path.dirname(p) === target && (file === null || path.basename(p) === file)) this.look(p, 0);
    }
  }

  private look(p: string, tries: number): void {
    if (this.closed || !this.known.has(p)) return;
    const t = this.settling.get(p);
    if (t) clearTimeout(t);
    this.settling.delete(p);
    const s = netnsState(p);
    if (!s.present && s.why === 'notNetns' && tries < SETTLE_TRIES) {
      this.settling.set(p, setTimeout(() => this.look(p, tries + 1), SETTLE_EVERY_MS).unref());
      return;
    }
    const sig = signature(s);
    if (this.known.get(p) === sig) return;
    this.known.set(p, sig);
    this.onChange(s.present ? 'netns appeared' : 'netns vanished');
  }
}
