// Coalesces one handle's operations: everything queued in the same turn of the event loop
// runs together, in order. Consecutive writes become one `ip -batch` process, consecutive
// dumps one process per kind shared by every caller, and a dump never overtakes a write
// queued before it. So 1000 concurrent ensureVeth calls cost a few processes, not 1000s.
import { runBatch, runJson, type IpInvocation, type LineOutcome } from './exec.js';

export type DumpKind = 'links' | 'addresses' | 'routes' | 'neighbours' | 'netns';

const dumpArgs: Record<DumpKind, string[]> = {
  links: ['-d', 'link', 'show'],
  addresses: ['addr', 'show'],
  routes: ['-d', 'route', 'show', 'table', 'all'],
  // Without "nud all" ip hides NOARP entries.
  neighbours: ['neigh', 'show', 'nud', 'all'],
  // Named namespaces with the id each has in this one (a veth's peer netns is told by that id).
  netns: ['netns', 'list'],
};

type Job =
  | { type: 'write'; line: string[]; resolve(o: LineOutcome): void; reject(e: unknown): void }
  | { type: 'dump'; kind: DumpKind; resolve(v: unknown[]): void; reject(e: unknown): void };

export class IpQueue {
  private pending: Job[] = [];
  private active = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly inv: IpInvocation, private readonly where: string) {}

  /** Queues one command line (argv words after `ip`); resolves with its outcome. */
  write(line: string[]): Promise<LineOutcome> {
    return new Promise((resolve, reject) => this.enqueue({ type: 'write', line, resolve, reject }));
  }

  /** Queues a dump; concurrent dumps of one kind share one process. */
  dump(kind: DumpKind): Promise<unknown[]> {
    return new Promise((resolve, reject) => this.enqueue({ type: 'dump', kind, resolve, reject }));
  }

  /** Resolves once everything queued so far has run. */
  idle(): Promise<void> {
    if (!this.active) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(job: Job): void {
    this.pending.push(job);
    if (this.active) return;
    this.active = true;
    // setImmediate, not a microtask: callers that await a few promises before queueing
    // (validation, a dump) still land in the same batch.
    setImmediate(() => void this.pump());
  }

  private async pump(): Promise<void> {
    while (this.pending.length > 0) {
      const jobs = this.pending.splice(0);
      let i = 0;
      while (i < jobs.length) {
        let j = i;
        while (j < jobs.length && jobs[j]!.type === jobs[i]!.type) j++;
        const segment = jobs.slice(i, j);
        await (jobs[i]!.type === 'write' ? this.runWrites(segment) : this.runDumps(segment));
        i = j;
      }
      // Let the continuations of what just finished queue their next step.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.active = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private async runWrites(jobs: Job[]): Promise<void> {
    const writes = jobs.filter((j): j is Extract<Job, { type: 'write' }> => j.type === 'write');
    try {
      const outcomes = await runBatch(this.inv, writes.map((w) => w.line));
      writes.forEach((w, k) => w.resolve(outcomes[k] ?? { ok: false, message: 'ip did not run this line' }));
    } catch (err) {
      for (const w of writes) w.reject(err);
    }
  }

  private async runDumps(jobs: Job[]): Promise<void> {
    const dumps = jobs.filter((j): j is Extract<Job, { type: 'dump' }> => j.type === 'dump');
    const kinds = [...new Set(dumps.map((d) => d.kind))];
    await Promise.all(kinds.map(async (kind) => {
      const waiting = dumps.filter((d) => d.kind === kind);
      try {
        const result = await runJson(this.inv, dumpArgs[kind], `dump ${kind}`, this.where);
        for (const d of waiting) d.resolve(result);
      } catch (err) {
        for (const d of waiting) d.reject(err);
      }
    }));
  }
}
