// Dataplane.watch() over `ip monitor`. The text of a link line is not a full Link, so new links
// are read back with `ip -j -d link show dev X` (one read per burst: a few names one by one,
// a larger burst with one dump), and deleted links are reported as last seen. Events stay in
// kernel order. If the child dies it is restarted and onResync is called; a rename restarts
// it too, because ip caches ifindex->name and would go on printing the old name.
import type { DataplaneEvent, DataplaneWatch, Link, WatchHandlers, WatchKind } from '../types.js';
import { runJson, type IpInvocation } from './exec.js';
import { parseMonitorLine, type MonitorLine } from './monitor-lines.js';
import { MonitorProcess } from './monitor-process.js';
import { parseLinks } from './parse.js';

type Item = { line: MonitorLine } | { resync: string };

/** Up to this many new links in a burst are read one by one; more, with one dump. */
const SINGLE_READS = 4;
const RESTART_DELAY_MS = [50, 200, 1000, 5000];

export type IpWatchKind = Exclude<WatchKind, 'fdb'>;

export async function startIpWatch(inv: IpInvocation, handlers: WatchHandlers, kinds: readonly IpWatchKind[]): Promise<DataplaneWatch> {
  const watch = new IpWatch(inv, handlers, kinds);
  await watch.start();
  return watch;
}

class IpWatch implements DataplaneWatch {
  private proc: MonitorProcess | null = null;
  private closed = false;
  private readonly queue: Item[] = [];
  private draining = false;
  /** Last view of each link (for deletions); names both ways (neighbours, rename checks). */
  private readonly links = new Map<number, Link>();
  private readonly indexByName = new Map<string, number>();
  private readonly nameByIndex = new Map<number, string>();

  constructor(private readonly inv: IpInvocation, private readonly handlers: WatchHandlers, private readonly kinds: readonly IpWatchKind[]) {}

  async start(): Promise<void> {
    this.proc = await this.spawn();
  }

  private paused = false;

  /** `ip monitor` prints with a delay of its own: no promise that everything arrived. */
  async flush(): Promise<boolean> {
    return false;
  }

  pause(): void {
    this.paused = true;
    this.queue.length = 0;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // What was learnt before may be stale after the discarded events.
    this.links.clear();
    this.indexByName.clear();
    this.nameByIndex.clear();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.proc?.stop();
    this.proc = null;
  }

  private spawn(): Promise<MonitorProcess> {
    let self: MonitorProcess | null = null;
    const mine = (): boolean => !this.closed && self !== null && this.proc === self;
    return MonitorProcess.start(this.inv, this.kinds, {
      onLine: (line) => {
        if (!mine() || this.paused) return;
        const parsed = parseMonitorLine(line);
        if (parsed) this.enqueue({ line: parsed });
      },
      onOverflow: () => { if (mine()) this.enqueue({ resync: 'events lost (ENOBUFS)' }); },
      onExit: (why) => { if (mine()) void this.restart(`${why}; restarted`); },
    }).then((p) => (self = p));
  }

  /** Replaces the child; events in between are lost, which onResync (after it listens) says. */
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
        // What was learnt from the old child may be stale now.
        this.links.clear();
        this.indexByName.clear();
        this.nameByIndex.clear();
        this.enqueue({ resync: reason });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, RESTART_DELAY_MS[Math.min(attempt, RESTART_DELAY_MS.length - 1)]));
      }
    }
  }

  private enqueue(item: Item): void {
    this.queue.push(item);
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const burst = this.queue.splice(0, this.queue.length);
        const fetched = await this.readLinks(burst);
        for (const item of burst) {
          if (this.closed) return;
          if ('resync' in item) this.call(() => this.handlers.onResync(item.resync));
          else this.deliver(item.line, fetched);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Full links for the new links of this burst and for neighbours on unknown devices. */
  private async readLinks(burst: Item[]): Promise<Map<number, Link>> {
    const names = new Set<string>();
    for (const item of burst) {
      if (!('line' in item)) continue;
      const l = item.line;
      if (l.kind === 'link' && l.action === 'new') names.add(l.link.name);
      if (l.kind === 'neighbour' && !this.indexByName.has(l.neighbour.dev)) names.add(l.neighbour.dev);
    }
    if (names.size === 0) return new Map();
    const read = (args: string[]): Promise<unknown[]> =>
      runJson(this.inv, ['-d', 'link', 'show', ...args], 'watch', 'links').catch(() => []); // gone already: use the text
    const raw = names.size <= SINGLE_READS
      ? (await Promise.all([...names].map((n) => read(['dev', n])))).flat()
      : await read([]);
    return new Map(parseLinks(raw).map((l) => [l.index, l]));
  }

  private deliver(line: MonitorLine, fetched: Map<number, Link>): void {
    // Only lines feed nameByIndex (a read may already show a later rename); reads help neighbours.
    for (const l of fetched.values()) if (!this.indexByName.has(l.name)) this.indexByName.set(l.name, l.index);
    let event: DataplaneEvent;
    let renamed = false;
    switch (line.kind) {
      case 'link': {
        const { link: text, masterName } = line;
        renamed = (this.nameByIndex.get(text.index) ?? text.name) !== text.name;
        const known = this.links.get(text.index);
        const master = masterName === null ? null : (this.indexByName.get(masterName) ?? known?.masterIndex ?? null);
        // A full read (newer than this line) is the truth; without one, the text over what was known.
        const link = (line.action === 'new' ? fetched.get(text.index) : undefined)
          ?? { ...(known ?? text), ...textState(text), masterIndex: master };
        if (line.action === 'del') {
          this.links.delete(text.index);
          this.nameByIndex.delete(text.index);
          if (this.indexByName.get(text.name) === text.index) this.indexByName.delete(text.name);
        } else {
          this.links.set(link.index, link);
          this.learn(text.index, text.name);
        }
        event = { kind: 'link', action: line.action, link };
        break;
      }
      case 'address':
        this.learn(line.address.index, line.address.dev);
        event = line;
        break;
      case 'neighbour':
        event = { ...line, neighbour: { ...line.neighbour, index: this.indexByName.get(line.neighbour.dev) ?? 0 } };
        break;
      default:
        event = line;
    }
    this.call(() => this.handlers.onEvent(event));
    if (renamed) void this.restart('a link was renamed: ip monitor restarted so it prints the new name');
  }

  private learn(index: number, name: string): void {
    const old = this.nameByIndex.get(index);
    if (old !== undefined && old !== name && this.indexByName.get(old) === index) this.indexByName.delete(old);
    this.nameByIndex.set(index, name);
    this.indexByName.set(name, index);
  }

  private call(f: () => void): void {
    try {
      f();
    } catch {
      // A throwing handler must not stop the event stream; handlers own their errors.
    }
  }
}

/** What a link line says for sure (the rest of a Link comes from a full read). */
function textState(l: Link): Partial<Link> {
  return { name: l.name, mtu: l.mtu, up: l.up, lowerUp: l.lowerUp, operState: l.operState, group: l.group, ...(l.mac ? { mac: l.mac } : {}) };
}
