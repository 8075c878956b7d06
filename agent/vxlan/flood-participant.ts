// The flood lists of VXLAN networks with `remotes` (flood-plan.ts): each pass appends the
// all-zeros FDB entries a device lacks and deletes those of remotes no longer listed, nothing
// else. The VXLAN device itself is the links participant's; until it exists (and carries this
// network's owner alias) there is nothing to do here.
//
// The reconciler's kernel model holds links and addresses only, so FDB changes do not wake a
// pass by themselves: this participant watches the 'fdb' kind itself and keeps what each
// device holds, updated by its own changes and the kernel's events, and asks for a pass
// (onDrift) when an entry it owns was deleted or one it does not want appeared. So a converged
// pass reads nothing, an entry deleted by hand comes back at once, and refresh passes (the
// periodic resync, SIGHUP) and lost events read every device's FDB again.
import type { Dataplane, DataplaneWatch, FdbEntry, FdbSpec } from '../../dataplane/types.js';
import { condition } from '../conditions/condition.js';
import { DEFAULT_VXLAN_PORT } from '../naming.js';
import type {
  ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, Problem, ResourceReport,
} from '../reconcile/participant.js';
import {
  floodDevice, floodNetworks, isFloodEntry, planFloodEntries, type FloodChanges, type FloodNetwork,
} from './flood-plan.js';

export interface FloodStep extends PlannedStep {
  readonly op: 'appendFdb' | 'deleteFdb';
  readonly spec: FdbSpec;
  /** The device's ifindex when planned. */
  readonly index: number;
}

export interface FloodParticipantOptions {
  dp: Pick<Dataplane, 'listFdb' | 'appendFdb' | 'deleteFdb' | 'watch'>;
  /** A flood entry changed under us, or FDB events were lost: a pass should look. */
  onDrift: (why: string) => void;
  warn?: (msg: string, fields: Record<string, unknown>) => void;
}

/** What one device's flood list is known to hold (flood entries only). */
interface Known {
  index: number;
  entries: Map<string, FdbEntry>;
}

/** A flood network whose device exists, as the last applied pass saw it. */
interface Tracked {
  f: FloodNetwork;
  index: number;
  device: { port: number; vni: number };
}

type FdbEvent = { action: 'new' | 'del'; fdb: FdbEntry };

const CONDITION = 'UplinkReady';
const REASON = 'FloodListFailed';

/** Entries are one when the kernel would treat them as one: dst, port and VNI as reported. */
const entryKey = (e: { dst?: string; port?: number; vni?: number }): string => `${e.dst ?? ''}|${e.port ?? ''}|${e.vni ?? ''}`;

const hasChanges = (c: FloodChanges): boolean => c.add.length > 0 || c.remove.length > 0;

export class FloodListParticipant implements Participant<FloodStep> {
  readonly name = 'flood';
  private readonly known = new Map<string, Known>();
  /** Devices being read: events for them wait and are replayed on the result. */
  private readonly reading = new Map<string, { index: number; held: FdbEvent[] }>();
  private tracked = new Map<string, Tracked>();
  /** What each pass planned to track, adopted by its apply (a dry run plans but never applies). */
  private readonly planned = new WeakMap<PassContext, Map<string, Tracked>>();
  private watch: DataplaneWatch | null = null;
  private watchWarned = false;
  private closed = false;
  /** While a pass applies, our own events would look like drift half-way: looked at after. */
  private applying = false;

  constructor(private readonly opts: FloodParticipantOptions) {}

  async plan(ctx: PassContext): Promise<ParticipantPlan<FloodStep>> {
    const nets = floodNetworks(ctx.desired);
    if (nets.length > 0) await this.startWatch();
    // Without a watch nothing keeps the record true: every pass reads.
    if (ctx.refresh || !this.watch) this.known.clear();
    const steps: FloodStep[] = [];
    const problems: Problem[] = [];
    const tracked = new Map<string, Tracked>();
    for (const f of nets) {
      const link = floodDevice(f, ctx.observed.links);
      if (!link) continue;
      const resource = { kind: 'network' as const, name: f.network };
      const device = { port: link.vxlan!.port || DEFAULT_VXLAN_PORT, vni: link.vxlan!.vni };
      tracked.set(f.dev, { f, index: link.index, device });
      let known = this.known.get(f.dev);
      if (!known || known.index !== link.index) {
        try {
          known = await this.read(f.dev, link.index);
        } catch (err) {
          problems.push({ resource, condition: CONDITION, reason: REASON, message: `cannot read the FDB of ${f.dev}: ${errText(err)}` });
          continue;
        }
      }
      const changes = planFloodEntries(f, device, [...known.entries.values()]);
      for (const spec of changes.add) {
        steps.push({ op: 'appendFdb', resource, spec, index: link.index, description: `append flood entry dst ${spec.dst}${spec.port ? ` port ${spec.port}` : ''} on ${f.dev} for network ${f.network}: missing` });
      }
      for (const spec of changes.remove) {
        steps.push({ op: 'deleteFdb', resource, spec, index: link.index, description: `delete flood entry dst ${spec.dst}${spec.port ? ` port ${spec.port}` : ''}${spec.vni ? ` vni ${spec.vni}` : ''} on ${f.dev} for network ${f.network}: not in its remotes` });
      }
    }
    // Devices no flood network has any more: their record would only go stale.
    for (const dev of this.known.keys()) if (!tracked.has(dev)) this.known.delete(dev);
    this.planned.set(ctx, tracked);
    return { steps, problems };
  }

  async apply(plan: ParticipantPlan<FloodStep>, ctx: PassContext): Promise<ApplyOutcome> {
    this.tracked = this.planned.get(ctx) ?? this.tracked;
    // FDB entries are not links or addresses: the reconciler's model has nothing to catch up.
    const outcome: ApplyOutcome = { applied: 0, failures: [], kernelChanged: false };
    this.applying = true;
    try {
      await this.applySteps(plan.steps, outcome);
    } finally {
      this.applying = false;
    }
    // An entry changed by someone else meanwhile: the next pass repairs it.
    const drifted = [...this.tracked.keys()].find((dev) => this.drifts(dev));
    if (drifted && outcome.failures.length === 0) this.opts.onDrift(`flood list of ${drifted} changed during a pass`);
    return outcome;
  }

  private async applySteps(steps: readonly FloodStep[], outcome: ApplyOutcome): Promise<void> {
    for (const step of steps) {
      try {
        if (step.op === 'appendFdb') await this.opts.dp.appendFdb(step.spec);
        else await this.opts.dp.deleteFdb(step.spec);
        this.record(step.spec.dev, step.index, { action: step.op === 'appendFdb' ? 'new' : 'del', fdb: asEntry(step) });
        outcome.applied++;
      } catch (err) {
        this.known.delete(step.spec.dev); // read again next time: the kernel may differ from our record
        const error = errText(err);
        outcome.failures.push({
          step, error,
          problem: { resource: step.resource!, condition: CONDITION, reason: REASON, message: `cannot set the flood list of ${step.spec.dev}: ${error}` },
        });
      }
    }
  }

  /** Whether the device's record differs from its flood list (false when either is unknown). */
  private drifts(dev: string): boolean {
    const t = this.tracked.get(dev);
    const k = this.known.get(dev);
    return !!t && !!k && t.index === k.index && hasChanges(planFloodEntries(t.f, t.device, [...k.entries.values()]));
  }

  /**
   * remoteVteps of every flood network (the remotes whose entry is there, sorted); a False
   * UplinkReady only when this participant met a problem (otherwise the links participant's
   * UplinkReady stands: reporting True here would hide its False).
   */
  report(ctx: PassContext, problems: readonly Problem[]): ResourceReport[] {
    return floodNetworks(ctx.desired).map((f): ResourceReport => {
      const resource = { kind: 'network' as const, name: f.network };
      const link = floodDevice(f, ctx.observed.links);
      const known = link ? this.known.get(f.dev) : undefined;
      const present = link && known && known.index === link.index
        ? planFloodEntries(f, { port: link.vxlan!.port || DEFAULT_VXLAN_PORT, vni: link.vxlan!.vni }, [...known.entries.values()]).present
        : [];
      const own = problems.filter((p) => p.resource.kind === 'network' && p.resource.name === f.network);
      const first = own[0];
      return {
        resource,
        conditions: first ? [condition(CONDITION, false, first.reason, own.map((p) => p.message).join('; '))] : [],
        network: { remoteVteps: present },
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watch?.close();
    this.watch = null;
  }

  private async startWatch(): Promise<void> {
    if (this.watch || this.closed) return;
    try {
      this.watch = await this.opts.dp.watch({
        onEvent: (e) => {
          if (e.kind === 'fdb') this.onEvent({ action: e.action, fdb: e.fdb });
        },
        onResync: (reason) => {
          this.known.clear();
          this.opts.onDrift(`fdb events lost (${reason})`);
        },
      }, ['fdb']);
      if (this.closed) {
        this.watch.close();
        this.watch = null;
      }
    } catch (err) {
      // Not fatal: every pass then reads the FDB (a hand-deleted entry waits for the next pass).
      if (!this.watchWarned) this.opts.warn?.('cannot watch FDB events: flood lists are read on every pass', { err: errText(err) });
      this.watchWarned = true;
    }
  }

  /** Reads the device's flood entries; events that arrive meanwhile are applied on top. */
  private async read(dev: string, index: number): Promise<Known> {
    const pending = { index, held: [] as FdbEvent[] };
    this.reading.set(dev, pending);
    try {
      const entries = (await this.opts.dp.listFdb(dev)).filter(isFloodEntry);
      const known: Known = { index, entries: new Map(entries.map((e) => [entryKey(e), e])) };
      this.known.set(dev, known);
      for (const e of pending.held) this.record(dev, index, e);
      return known;
    } finally {
      if (this.reading.get(dev) === pending) this.reading.delete(dev);
    }
  }

  private onEvent(e: FdbEvent): void {
    if (this.closed || !isFloodEntry(e.fdb)) return;
    // The netlink watch names devices by ifindex only, iproute2's by name only.
    const matches = (dev: string, index: number): boolean =>
      (e.fdb.dev === '' || e.fdb.dev === dev) && (e.fdb.index === 0 || e.fdb.index === index);
    for (const [dev, r] of this.reading) if (matches(dev, r.index)) r.held.push(e);
    for (const [dev, k] of this.known) {
      if (!matches(dev, k.index)) continue;
      this.record(dev, k.index, e);
      if (!this.applying && this.drifts(dev)) {
        this.opts.onDrift(`flood entry dst ${e.fdb.dst} ${e.action === 'new' ? 'appeared' : 'deleted'} on ${dev}`);
      }
    }
  }

  private record(dev: string, index: number, e: FdbEvent): void {
    const k = this.known.get(dev);
    if (!k || k.index !== index) return;
    if (e.action === 'new') k.entries.set(entryKey(e.fdb), { ...e.fdb, dev, index });
    else k.entries.delete(entryKey(e.fdb));
  }
}

/** The entry an applied step leaves (or took away), as the kernel lists it. */
function asEntry(step: FloodStep): FdbEntry {
  const s = step.spec;
  return {
    index: step.index, dev: s.dev, mac: s.mac, self: true, master: false, state: 'permanent',
    ...(s.dst !== undefined ? { dst: s.dst } : {}), ...(s.port !== undefined ? { port: s.port } : {}), ...(s.vni !== undefined ? { vni: s.vni } : {}),
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
