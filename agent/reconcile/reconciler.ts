// The reconcile loop of one node. A pass reads the kernel as the observed-state model has it
// (kept current by kernel events; a full dump only at start, when events were lost, at the
// periodic resync, and after a participant changed the kernel), then runs each participant in
// order: plan, apply, and once all have run, their reports become conditions (Ready is the
// conjunction of every participant's conditions of a resource). Passes run one at a time;
// they are triggered by Apply (reconcile()), kernel events (debounced), resync requests and a
// periodic timer. A converged node plans nothing, so a no-op pass sends no netlink message.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ObservedModel } from '../../dataplane/observed-model.js';
import type { Dataplane, ObservedState } from '../../dataplane/types.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import type { GetStatusResponse } from '../api/gen/hostnet/v1/agent.js';
import { AttachmentStatus, NetworkStatus, NodeStatus } from '../api/gen/hostnet/v1/status.js';
import { ConditionBook, type ConditionTransition } from '../conditions/book.js';
import { NODE_RESOURCE, readyOf, type ComputedCondition, type ResourceKindName } from '../conditions/condition.js';
import { Mutex } from '../desired/store.js';
import type { Participant, PassContext, PlannedStep, Problem, ResourceReport } from './participant.js';

export type ReconcileLogger = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

export interface ReconcilerOptions {
  /** The desired state to converge to, read at the start of every pass. */
  desired: () => DesiredState;
  /** Run in this order in every pass (e.g. kernel links before the DHCP servers on them). */
  participants: readonly Participant[];
  /**
   * Wait this long after a kernel event for more before a pass. Default 10 ms: a burst (a
   * bridge deleted with its ports) arrives within one read, so a short wait coalesces it.
   */
  debounceMs?: number;
  /** Periodic resync (a full dump, then a pass); 0 or absent: none. */
  resyncIntervalMs?: number;
  /** Watch kernel events (drift repair, and no dump per pass). Default true. */
  watchKernel?: boolean;
  /**
   * Do not delete devices (adopt only): used while the stored state could not be read, so an
   * empty state does not tear the node down. Cleared by allowTeardown().
   */
  holdTeardown?: boolean;
  logger?: ReconcileLogger;
  now?: () => Date;
}

/** What a dry run returns: every participant's plan against the kernel as it is. */
export interface DryRun {
  actions: PlannedStep[];
  problems: Problem[];
}

export interface PassResult {
  trigger: string;
  generation: number;
  /** What the participants planned in this pass (actions) and could not do from the start (problems). */
  plan: DryRun;
  /** Actions carried out successfully. */
  applied: number;
  /** Problems of the plans plus actions that failed (as problems of their resource). */
  problems: Problem[];
  /** Actions that failed, by op and reason (teardown failures have reason "TeardownFailed"). */
  failures: Array<{ op: string; reason: string }>;
  transitions: ConditionTransition[];
  durationMs: number;
  /** Full kernel dumps this pass took (0 for a pass served by the event-fed model). */
  dumps: number;
}

/**
 * From this many steps on, a participant's own events are discarded during its apply and the
 * kernel re-read after it; below, they are taken in and flushed (no dump at all).
 */
const QUIET_FROM_STEPS = 256;

/** The trigger of the pass that follows one whose kernel events were discarded. */
const AFTER_OWN_CHANGES = 'after own changes';

type TransitionListener = (t: ConditionTransition) => void;
type PassListener = (r: PassResult) => void;
type LostListener = (reason: string) => void;

/** A resource's status as the participants reported it, conditions apart. */
interface Facts {
  kind: ResourceKindName;
  name: string;
  network: Partial<NetworkStatus>;
  attachment: Partial<AttachmentStatus>;
  node: Partial<NodeStatus>;
}

export class Reconciler {
  private readonly mutex = new Mutex();
  private readonly book = new ConditionBook();
  private readonly transitionListeners = new Set<TransitionListener>();
  private readonly passListeners = new Set<PassListener>();
  private readonly lostListeners = new Set<LostListener>();
  private model: ObservedModel | null = null;
  private started: Promise<void> | null = null;
  private debounce: NodeJS.Timeout | null = null;
  /** The look after a pass that discarded kernel events (see pass()), waiting for its time. */
  private followUp: NodeJS.Timeout | null = null;
  private interval: NodeJS.Timeout | null = null;
  /** A triggered pass waiting for its turn: further triggers join it. */
  private queued: { promise: Promise<PassResult>; refresh: boolean } | null = null;
  private closed = false;
  private holdTeardown: boolean;
  private networks: Facts[] = [];
  private attachments: Facts[] = [];
  /** The node resource, while its settings ask for something a participant reports on. */
  private node: Facts | null = null;
  private lastGeneration = 0;
  private passes = 0;
  /** status() as last built, for that desired generation: the same object until a pass ends. */
  private lastStatus: { generation: number; response: GetStatusResponse } | null = null;
  private ownDumps = 0;
  readonly log: ReconcileLogger | undefined;

  constructor(private readonly dp: Dataplane, private readonly options: ReconcilerOptions) {
    this.holdTeardown = options.holdTeardown ?? false;
    this.log = options.logger;
  }

  /** Starts the kernel watch (with its first dump) and the periodic resync. */
  start(): Promise<void> {
    this.started ??= this.startWatching();
    return this.started;
  }

  private async startWatching(): Promise<void> {
    if (this.options.watchKernel ?? true) {
      this.model = await ObservedModel.open(this.dp, {
        onChange: (e) => {
          // Links and addresses are what hostnet manages; the model takes nothing else.
          if (e.kind === 'link' || e.kind === 'address') this.onKernelEvent();
        },
        onLost: (reason) => {
          this.log?.warn({ event: 'events-lost', reason }, 'kernel events were lost: resyncing');
          for (const l of this.lostListeners) l(reason);
          // The model is stale now, so the pass re-reads the kernel; participants' own records
          // (the firewall's) are not in question, so this is not a refresh for them.
          void this.requestResync('events lost');
        },
      });
    }
    const every = this.options.resyncIntervalMs ?? 0;
    if (every > 0) {
      this.interval = setInterval(() => void this.requestResync('periodic', true), every);
      this.interval.unref();
    }
  }

  /** Passes completed since start. */
  get passCount(): number {
    return this.passes;
  }

  /** The generation the last completed pass worked from. */
  get observedGeneration(): number {
    return this.lastGeneration;
  }

  allowTeardown(): void {
    this.holdTeardown = false;
  }

  /** Runs a pass now (after the one in flight): what Apply waits for. */
  reconcile(trigger = 'request'): Promise<PassResult> {
    return this.mutex.run(() => this.pass(trigger, false));
  }

  /**
   * What a pass would do for `desired`, through the same planning as a pass (every
   * participant, the teardown hold, the preconditions), without applying anything.
   */
  dryRun(desired: DesiredState): Promise<DryRun> {
    return this.mutex.run(async () => {
      const ctx: PassContext = { desired, observed: await this.observe(false), holdTeardown: this.holdTeardown, refresh: false, held: new Map() };
      const out: DryRun = { actions: [], problems: [] };
      for (const p of this.options.participants) {
        const plan = await p.plan(ctx);
        out.actions.push(...plan.steps);
        out.problems.push(...plan.problems);
      }
      return out;
    });
  }

  /**
   * Asks for a pass soon; triggers that arrive while one is waiting for its turn share it.
   * `refresh`: re-read the kernel with a full dump first. Resolves when that pass is done.
   */
  requestResync(trigger = 'resync', refresh = false): Promise<PassResult> {
    if (this.queued && (this.queued.refresh || !refresh)) return this.queued.promise;
    const promise = this.mutex.run(() => {
      if (this.queued?.promise === promise) this.queued = null;
      return this.pass(trigger, refresh);
    });
    this.queued = { promise, refresh };
    promise.catch((err: unknown) => this.log?.error({ err, trigger }, 'reconcile pass failed'));
    return promise;
  }

  /** Condition transitions as they happen; returns the unsubscribe function. */
  subscribe(listener: TransitionListener): () => void {
    this.transitionListeners.add(listener);
    return () => this.transitionListeners.delete(listener);
  }

  /** Every completed pass (metrics); returns the unsubscribe function. */
  onPass(listener: PassListener): () => void {
    this.passListeners.add(listener);
    return () => this.passListeners.delete(listener);
  }

  /** Each time kernel events were lost (ENOBUFS, a restarted monitor); returns the unsubscribe function. */
  onEventsLost(listener: LostListener): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /**
   * The status of every resource as of the last pass. The same object (do not change it) until
   * the next pass or another desired generation: polls in between cost nothing to build, and
   * the server encodes it once (server/encode-once.ts).
   */
  status(desiredGeneration: number): GetStatusResponse {
    if (this.lastStatus?.generation === desiredGeneration) return this.lastStatus.response;
    const response = this.buildStatus(desiredGeneration);
    this.lastStatus = { generation: desiredGeneration, response };
    return response;
  }

  private buildStatus(desiredGeneration: number): GetStatusResponse {
    return {
      generation: desiredGeneration,
      observedGeneration: this.lastGeneration,
      networks: this.networks.map((n): NetworkStatus => NetworkStatus.fromPartial({
        ...n.network, name: n.name, conditions: this.book.get('network', n.name),
      })),
      attachments: this.attachments.map((a): AttachmentStatus => AttachmentStatus.fromPartial({
        ...a.attachment, name: a.name, conditions: this.book.get('attachment', a.name),
      })),
      node: this.node ? NodeStatus.fromPartial({ ...this.node.node, conditions: this.book.get('node', NODE_RESOURCE) }) : undefined,
    };
  }

  /** Every current condition, as transitions (WatchStatus's initial burst). */
  currentConditions(): ConditionTransition[] {
    return [...this.networks, ...this.attachments, ...(this.node ? [this.node] : [])].flatMap((r) =>
      this.book.get(r.kind, r.name).map((condition) => ({ kind: r.kind, name: r.name, condition })));
  }

  /** Stops watching, waits for the pass in flight, closes the participants; the devices stay. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.followUp) clearTimeout(this.followUp);
    if (this.interval) clearInterval(this.interval);
    await this.started?.catch(() => undefined);
    this.model?.close();
    this.model = null;
    await this.mutex.run(() => undefined);
    for (const p of this.options.participants) {
      try {
        await p.close?.();
      } catch (err) {
        this.log?.warn({ participant: p.name, err: errText(err) }, 'participant did not close cleanly');
      }
    }
  }

  private onKernelEvent(): void {
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.requestResync('kernel event');
    }, this.options.debounceMs ?? 10);
  }

  /** The kernel's links and addresses: from the model, re-read first when asked or stale. */
  private async observe(refresh: boolean): Promise<ObservedState> {
    if (this.started) await this.started;
    if (!this.model) return this.dump();
    if (refresh || this.model.isStale) await this.model.refresh();
    return this.model.snapshot();
  }

  /** The kernel as it is after a change: the model caught up (flushed events, or re-read). */
  private async caughtUp(): Promise<ObservedState> {
    if (!this.model) return this.dump();
    await this.model.catchUp();
    return this.model.snapshot();
  }

  /** Without a model (watchKernel off), every look is one dump per kind. */
  private dump(): Promise<ObservedState> {
    this.ownDumps++;
    return this.dp.observe(['addresses']);
  }

  /** Full dumps so far, the model's or our own. */
  private get dumpCount(): number {
    return (this.model?.dumps ?? 0) + this.ownDumps;
  }

  private async pass(trigger: string, refresh: boolean): Promise<PassResult> {
    const started = performance.now();
    // Any pass after one that discarded events is the look that one asked for.
    if (this.followUp) {
      clearTimeout(this.followUp);
      this.followUp = null;
    }
    const dumpsBefore = this.dumpCount;
    const desired = this.options.desired();
    // Events queued right now are part of what this pass sees (no dump: a flush of the watch).
    if (this.model && !refresh) await this.model.flush();
    let observed = await this.observe(refresh);
    const planned: DryRun = { actions: [], problems: [] };
    const problems = new Map<Participant, Problem[]>();
    const failures: PassResult['failures'] = [];
    let applied = 0;
    let paused = false;
    const held = new Map<string, Problem>();
    for (const p of this.options.participants) {
      // A turn of the event loop between participants: a pass with nothing to change awaits no
      // I/O, so without it a GetStatus or Apply arriving meanwhile would wait for all of it
      // (1000 attachments planned by every participant, a kernel event's no-op pass).
      await yieldToEventLoop();
      for (let attempt = 1; ; attempt++) {
        const ctx: PassContext = { desired, observed, holdTeardown: this.holdTeardown, refresh, held };
        const t0 = performance.now();
        const plan = await p.plan(ctx);
        const t1 = performance.now();
        // Our own changes come back as thousands of events: discard them unread and re-read
        // once after the apply (a dump of 1000 links costs less than decoding their events).
        const quiet = plan.steps.length >= QUIET_FROM_STEPS && this.model !== null && p.changesLinks !== false;
        if (quiet) {
          this.model!.pause();
          paused = true;
        }
        let outcome: Awaited<ReturnType<Participant['apply']>>;
        try {
          outcome = await p.apply(plan, ctx);
        } finally {
          if (quiet) this.model!.resume();
        }
        // The next participant and the conditions need the kernel as it is now (new ifindexes,
        // addresses in place): catch up with it if this participant changed it.
        const changed = (outcome.kernelChanged ?? outcome.applied > 0) || (this.model?.isStale ?? false);
        const t2 = performance.now();
        if (changed || outcome.replan) observed = await this.caughtUp();
        this.log?.debug({ trigger, participant: p.name, steps: plan.steps.length, planMs: ms(t1 - t0), applyMs: ms(t2 - t1), catchUpMs: ms(performance.now() - t2) }, 'participant');
        // The kernel changed under the plan (someone was still at work, e.g. deleting a bridge
        // and its ports): plan again once from what it is now, instead of waiting for a pass.
        if (outcome.replan && attempt === 1) {
          applied += outcome.applied;
          continue;
        }
        for (const h of outcome.holds ?? []) held.set(`${h.resource.kind}/${h.resource.name}`, h);
        planned.actions.push(...plan.steps);
        planned.problems.push(...plan.problems);
        const own = [...plan.problems];
        applied += outcome.applied;
        for (const f of outcome.failures) {
          this.log?.warn({ trigger, participant: p.name, action: f.step.description, err: f.error }, 'action failed');
          failures.push({ op: f.step.op, reason: f.problem?.reason ?? 'TeardownFailed' });
          if (f.problem) own.push(f.problem);
        }
        problems.set(p, own);
        break;
      }
    }
    const ctx: PassContext = { desired, observed, holdTeardown: this.holdTeardown, refresh, held };
    const reports = this.options.participants.flatMap((p) => p.report(ctx, problems.get(p) ?? []));
    const transitions = this.updateConditions(desired, reports, this.options.now?.() ?? new Date());
    this.lastGeneration = desired.generation;
    this.passes++;
    const dumps = this.dumpCount - dumpsBefore;
    const durationMs = performance.now() - started;
    const allProblems = [...problems.values()].flat();
    this.log?.debug({ trigger, generation: desired.generation, actions: planned.actions.length, applied, dumps, durationMs: Math.round(durationMs * 100) / 100 }, 'pass');
    if (planned.actions.length > 0 || transitions.length > 0) {
      this.log?.info({ trigger, generation: desired.generation, actions: planned.actions.length, applied, problems: allProblems.length, durationMs: Math.round(durationMs) }, 'reconciled');
    }
    for (const t of transitions) for (const l of this.transitionListeners) l(t);
    const result: PassResult = { trigger, generation: desired.generation, plan: planned, applied, problems: allProblems, failures, transitions, durationMs, dumps };
    for (const l of this.passListeners) l(result);
    // Events of others were discarded with ours while we applied: one more look catches what
    // they changed meanwhile (a no-op pass when nothing did; never chained).
    // After the debounce, not at once: the caller's answer (Apply's reply, a status read) goes
    // out first instead of waiting behind a pass that plans 1000 attachments to find nothing.
    if (paused && trigger !== AFTER_OWN_CHANGES && !this.closed && !this.followUp) {
      this.followUp = setTimeout(() => {
        this.followUp = null;
        if (!this.closed) void this.requestResync(AFTER_OWN_CHANGES);
      }, this.options.debounceMs ?? 10);
    }
    return result;
  }

  /** Merges the participants' reports per resource (in participant order), adds Ready, records transitions. */
  private updateConditions(desired: DesiredState, reports: readonly ResourceReport[], now: Date): ConditionTransition[] {
    const byKey = new Map<string, { facts: Facts; conditions: ComputedCondition[] }>();
    const entry = (kind: ResourceKindName, name: string) => {
      const key = `${kind}/${name}`;
      let e = byKey.get(key);
      if (!e) byKey.set(key, (e = { facts: { kind, name, network: {}, attachment: {}, node: {} }, conditions: [] }));
      return e;
    };
    // Desired order first, so status lists follow the desired state.
    for (const n of desired.networks) entry('network', n.name);
    for (const a of desired.attachments) entry('attachment', a.name);
    // The node is a resource only while a participant reports on it (e.g. BGP is configured).
    for (const r of reports) if (r.resource.kind === 'node') entry('node', NODE_RESOURCE);
    for (const r of reports) {
      const e = byKey.get(`${r.resource.kind}/${r.resource.name}`);
      if (!e) continue; // not desired (any more): nothing to report on
      e.conditions.push(...r.conditions);
      if (r.network) Object.assign(e.facts.network, r.network);
      if (r.attachment) Object.assign(e.facts.attachment, r.attachment);
      if (r.node) Object.assign(e.facts.node, r.node);
    }
    const transitions: ConditionTransition[] = [];
    const networks: Facts[] = [];
    const attachments: Facts[] = [];
    let node: Facts | null = null;
    for (const { facts, conditions } of byKey.values()) {
      if (facts.kind === 'node') node = facts;
      else (facts.kind === 'network' ? networks : attachments).push(facts);
      transitions.push(...this.book.update(facts.kind, facts.name, [...conditions, readyOf(conditions)], desired.generation, now));
    }
    this.networks = networks;
    this.attachments = attachments;
    this.node = node;
    this.lastStatus = null;
    if (!node) this.book.retain('node', new Set());
    this.book.retain('network', new Set(networks.map((n) => n.name)));
    this.book.retain('attachment', new Set(attachments.map((a) => a.name)));
    return transitions;
  }
}

const ms = (t: number): number => Math.round(t * 10) / 10;

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
