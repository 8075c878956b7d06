// The reconcile loop of one node: observe the kernel once per pass (one dump per kind), plan,
// apply the plan in order, then compute conditions. Passes run one at a time; they are
// triggered by Apply (reconcile()), kernel events (debounced), resync requests (the monitor's
// ENOBUFS, or anyone's requestResync()) and a periodic timer. A converged node plans nothing,
// so a no-op pass sends no netlink write.
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { netnsPath } from '../../dataplane/netns-path.js';
import { KernelMonitor, type KernelEvent } from '../../dataplane/netlink/monitor.js';
import type { Dataplane, ObservedState } from '../../dataplane/types.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import type { GetStatusResponse } from '../api/gen/hostnet/v1/agent.js';
import type { AttachmentStatus, NetworkStatus } from '../api/gen/hostnet/v1/status.js';
import type { DhcpHost } from '../dhcp/host.js';
import { bridgeNameOf } from '../naming.js';
import { Mutex } from '../desired/store.js';
import { actionDevice, applyAction } from './apply-action.js';
import { ConditionBook, type ConditionTransition } from './conditions.js';
import { describeAction, planReconcile, type Plan, type PlanAction, type PlanProblem } from './plan.js';
import { attachmentFacts, networkFacts, type AttachmentFacts, type NetworkFacts } from './status.js';

export type ReconcileLogger = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

export interface ReconcilerOptions {
  /** The desired state to converge to, read at the start of every pass. */
  desired: () => DesiredState;
  /** Wait this long after a kernel event for more before a pass. Default 50 ms. */
  debounceMs?: number;
  /** Periodic resync; 0 or absent: none. */
  resyncIntervalMs?: number;
  /** Watch kernel events (drift repair). Default true; needs a netlink Dataplane's netns. */
  watchKernel?: boolean;
  /**
   * Do not delete devices (adopt only): used while the stored state could not be read, so an
   * empty state does not tear the node down. Cleared by allowTeardown().
   */
  holdTeardown?: boolean;
  logger?: ReconcileLogger;
  now?: () => Date;
  /** The embedded DHCP servers, synced after links and addresses in every pass. */
  dhcp?: DhcpHost;
}

export interface PassResult {
  trigger: string;
  generation: number;
  plan: Plan;
  /** Actions carried out successfully. */
  applied: number;
  /** Problems of the plan plus actions that failed (as problems of their resource). */
  problems: PlanProblem[];
  transitions: ConditionTransition[];
  durationMs: number;
}

type TransitionListener = (t: ConditionTransition) => void;

export class Reconciler {
  private readonly mutex = new Mutex();
  private readonly book = new ConditionBook();
  private readonly listeners = new Set<TransitionListener>();
  private monitor: KernelMonitor | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private interval: NodeJS.Timeout | null = null;
  /** A triggered pass waiting for its turn: further triggers join it. */
  private queued: Promise<PassResult> | null = null;
  private closed = false;
  private holdTeardown: boolean;
  private networks: NetworkFacts[] = [];
  private attachments: AttachmentFacts[] = [];
  private lastGeneration = 0;
  private passes = 0;
  readonly log: ReconcileLogger | undefined;

  constructor(private readonly dp: Dataplane, private readonly options: ReconcilerOptions) {
    this.holdTeardown = options.holdTeardown ?? false;
    this.log = options.logger;
  }

  /** Starts the kernel watch and the periodic resync (the first pass is the caller's). */
  start(): void {
    if (this.options.watchKernel ?? true) {
      this.monitor = KernelMonitor.open(this.dp.netns, {
        onEvent: (e) => this.onKernelEvent(e),
        onResync: () => {
          this.log?.warn({ event: 'monitor-overflow' }, 'kernel events were dropped (ENOBUFS): resyncing');
          void this.requestResync('monitor overflow');
        },
      });
    }
    const every = this.options.resyncIntervalMs ?? 0;
    if (every > 0) {
      this.interval = setInterval(() => void this.requestResync('periodic'), every);
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
    return this.mutex.run(() => this.pass(trigger));
  }

  /**
   * Asks for a pass soon; triggers that arrive while one is waiting for its turn share it.
   * Resolves when that pass is done.
   */
  requestResync(trigger = 'resync'): Promise<PassResult> {
    if (this.queued) return this.queued;
    const p = this.mutex.run(() => {
      this.queued = null;
      return this.pass(trigger);
    });
    this.queued = p;
    p.catch((err: unknown) => this.log?.error({ err, trigger }, 'reconcile pass failed'));
    return p;
  }

  /** Condition transitions as they happen; returns the unsubscribe function. */
  subscribe(listener: TransitionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(desiredGeneration: number): GetStatusResponse {
    return {
      generation: desiredGeneration,
      observedGeneration: this.lastGeneration,
      networks: this.networks.map((n): NetworkStatus => ({
        name: n.name, bridgeName: n.bridgeName, bridgeIfindex: n.bridgeIfindex, conditions: this.book.get('network', n.name),
      })),
      attachments: this.attachments.map((a): AttachmentStatus => ({
        name: a.name, network: a.network, ifName: a.ifName, ifindex: a.ifindex, mac: a.mac, ip: a.ip,
        conditions: this.book.get('attachment', a.name),
      })),
    };
  }

  /** Every current condition, as transitions (WatchStatus's initial burst). */
  currentConditions(): ConditionTransition[] {
    return [
      ...this.networks.flatMap((n) => this.book.get('network', n.name).map((condition) => ({ kind: 'network' as const, name: n.name, condition }))),
      ...this.attachments.flatMap((a) => this.book.get('attachment', a.name).map((condition) => ({ kind: 'attachment' as const, name: a.name, condition }))),
    ];
  }

  /** Stops watching and waits for the pass in flight; the devices stay as they are. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.interval) clearInterval(this.interval);
    this.monitor?.close();
    this.monitor = null;
    await this.mutex.run(() => undefined);
  }

  private onKernelEvent(e: KernelEvent): void {
    // Links and addresses are what hostnet manages; neighbour and route churn is not drift.
    if (e.kind !== 'link' && e.kind !== 'address') return;
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.requestResync('kernel event');
    }, this.options.debounceMs ?? 50);
  }

  private async pass(trigger: string): Promise<PassResult> {
    const started = performance.now();
    const desired = this.options.desired();
    let observed: ObservedState = await this.dp.observe(['addresses']);
    const plan = planReconcile(desired, observed);
    const actions = this.holdTeardown ? plan.actions.filter((a) => a.resource) : plan.actions;
    const problems: PlanProblem[] = [...plan.problems];
    const failed = new Set<string>();
    let applied = 0;
    for (const action of actions) {
      const owner = action.resource ? `${action.resource.kind}/${action.resource.name}` : null;
      if (owner && failed.has(owner)) continue;
      const refused = precondition(action);
      if (refused) {
        problems.push(refused);
        failed.add(owner!);
        continue;
      }
      try {
        await applyAction(this.dp, action);
        applied++;
        this.log?.debug({ trigger, action: describeAction(action) }, 'applied');
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.log?.warn({ trigger, action: describeAction(action), err: message }, 'action failed');
        if (!action.resource) continue; // teardown: retried on the next pass
        failed.add(owner!);
        problems.push(failureProblem(action, message, desired));
      }
    }
    // Conditions need the kernel as it is now (ifindexes, carrier): read it again only if we
    // changed something, so a no-op pass stays at one dump.
    if (applied > 0) observed = await this.dp.observe(['addresses']);
    // DHCP servers need their bridge and its server address: both are in place by now.
    if (this.options.dhcp) {
      try {
        await this.options.dhcp.sync(desired, observed);
      } catch (err) {
        this.log?.error({ trigger, err: err instanceof Error ? err.message : String(err) }, 'DHCP sync failed');
      }
    }
    const now = this.options.now?.() ?? new Date();
    const transitions = this.updateConditions(desired, observed, problems, now);
    this.lastGeneration = desired.generation;
    this.passes++;
    const durationMs = performance.now() - started;
    if (actions.length > 0 || transitions.length > 0) {
      this.log?.info({ trigger, generation: desired.generation, actions: actions.length, applied, problems: problems.length, durationMs: Math.round(durationMs) }, 'reconciled');
    }
    for (const t of transitions) {
      for (const l of this.listeners) l(t);
    }
    return { trigger, generation: desired.generation, plan: { actions, problems: plan.problems }, applied, problems, transitions, durationMs };
  }

  private updateConditions(desired: DesiredState, observed: ObservedState, problems: PlanProblem[], now: Date): ConditionTransition[] {
    const dhcp = this.options.dhcp;
    this.networks = desired.networks.map((n) => {
      const serving = dhcp?.condition(n.name);
      return networkFacts(n, observed, problems, serving ? [serving] : []);
    });
    this.attachments = desired.attachments.map((a) => attachmentFacts(a, desired, observed, problems));
    const transitions: ConditionTransition[] = [];
    for (const n of this.networks) transitions.push(...this.book.update('network', n.name, n.conditions, desired.generation, now));
    for (const a of this.attachments) transitions.push(...this.book.update('attachment', a.name, a.conditions, desired.generation, now));
    this.book.retain('network', new Set(this.networks.map((n) => n.name)));
    this.book.retain('attachment', new Set(this.attachments.map((a) => a.name)));
    return transitions;
  }
}

/** Refuses an action that cannot succeed, before the kernel is asked (a veth's peer netns). */
function precondition(action: PlanAction): PlanProblem | null {
  if (action.op !== 'ensureVeth' || !action.resource || !action.spec.peer.netns) return null;
  const path = netnsPath(action.spec.peer.netns);
  if (existsSync(path)) return null;
  return {
    resource: action.resource, condition: 'Configured', reason: 'PeerNetnsMissing',
    message: `the peer network namespace ${path} does not exist`,
  };
}

/** A failed action as a False condition of its resource: which one depends on the device. */
function failureProblem(action: PlanAction, message: string, desired: DesiredState): PlanProblem {
  const resource = action.resource!;
  if (resource.kind === 'attachment') return { resource, condition: 'Configured', reason: 'ApplyFailed', message };
  const n = desired.networks.find((x) => x.name === resource.name);
  const bridge = n ? bridgeNameOf(n) : undefined;
  const device = actionDevice(action);
  const isBridge = action.op === 'ensureBridge' || action.op === 'addAddress' || action.op === 'deleteAddress' || device === bridge;
  return { resource, condition: isBridge ? 'BridgeReady' : 'UplinkReady', reason: 'ApplyFailed', message };
}
