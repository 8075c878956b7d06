// What the reconcile pass asks of each part of the node it converges (kernel links and
// addresses, DHCP servers, and as they come: firewall, RA/DHCPv6, workload addressing, FRR).
// A participant plans from the desired state and the kernel as observed, applies its own
// plan, and reports the conditions it owns. The reconciler knows only this interface: a new
// capability is a new participant, not an edit of the loop.
import type { ObservedState } from '../../dataplane/types.js';
import type { AttachmentStatus, NetworkStatus, NodeStatus } from '../api/gen/hostnet/v1/status.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import type { ComputedCondition, ResourceRef } from '../conditions/condition.js';

export interface PassContext {
  readonly desired: DesiredState;
  /** The kernel (links and addresses) as it stands before this participant's step. */
  readonly observed: ObservedState;
  /**
   * Remove nothing that is no longer desired (adopt only): set while the stored state could
   * not be read, so an empty state does not tear the node down.
   */
  readonly holdTeardown: boolean;
  /**
   * A full look was asked for (the periodic resync, SIGHUP): a participant that keeps its own
   * record of what it applied checks that record against the kernel (or rewrites it).
   */
  readonly refresh: boolean;
  /**
   * Resources an earlier participant of this pass asks the later ones to keep down, by
   * "kind/name" (a port whose firewall rules are not in force): not created, not brought up.
   */
  readonly held: ReadonlyMap<string, Problem>;
}

/** One planned change, in words and with the resource it serves (absent for teardown). */
export interface PlannedStep {
  /** Short kind of change for metrics and tests, e.g. "ensureVeth", "startDhcp". */
  readonly op: string;
  readonly resource?: ResourceRef;
  /** One line, e.g. "ensure veth hv-a (peer eth0 in /run/netns/a) for attachment a: missing". */
  readonly description: string;
}

/** Something that cannot be done now, as the False condition of its resource. */
export interface Problem {
  resource: ResourceRef;
  /** The condition it sets False, e.g. "UplinkReady". */
  condition: string;
  /** CamelCase reason, e.g. "ParentMissing". */
  reason: string;
  message: string;
}

export interface ParticipantPlan<S extends PlannedStep = PlannedStep> {
  steps: S[];
  problems: Problem[];
}

export interface ApplyOutcome {
  /** Steps carried out. */
  applied: number;
  /** Steps that failed, each as a problem of its resource (teardown failures: resource-less, retried next pass). */
  failures: Array<{ step: PlannedStep; problem: Problem | null; error: string }>;
  /** Resources later participants of this pass must keep down (see PassContext.held). */
  holds?: Problem[];
  /** Whether the kernel's links or addresses may have changed (default: applied > 0). */
  kernelChanged?: boolean;
  /**
   * The world changed under the plan (a device it relied on vanished meanwhile): the pass
   * re-reads the kernel and plans this participant again, once.
   */
  replan?: boolean;
}

/** Conditions and status fields one participant contributes to one resource. */
export interface ResourceReport {
  resource: ResourceRef;
  conditions: ComputedCondition[];
  network?: Partial<Omit<NetworkStatus, 'name' | 'conditions'>>;
  attachment?: Partial<Omit<AttachmentStatus, 'name' | 'conditions'>>;
  /** For the node resource ({ kind: 'node', name: NODE_RESOURCE }). */
  node?: Partial<Omit<NodeStatus, 'conditions'>>;
}

export interface Participant<S extends PlannedStep = PlannedStep> {
  /** Short, stable name for logs and metrics, e.g. "links", "dhcp". */
  readonly name: string;
  /**
   * False when apply() never changes links or addresses (e.g. only routes and sysctls): the
   * reconciler's kernel model then keeps its events on during a large apply (there are none of
   * ours to discard) and needs no re-read after it. Default true.
   */
  readonly changesLinks?: boolean;
  /** Pure with respect to the world: what apply() would do now. Dry runs stop here. */
  plan(ctx: PassContext): ParticipantPlan<S> | Promise<ParticipantPlan<S>>;
  apply(plan: ParticipantPlan<S>, ctx: PassContext): Promise<ApplyOutcome>;
  /**
   * Conditions of the resources this participant has a say in, from the kernel as the pass
   * left it and what could not be done (the plan's problems and the failures, both its own).
   */
  report(ctx: PassContext, problems: readonly Problem[]): ResourceReport[];
  /** Stops whatever the participant runs (servers, sockets); the devices stay. */
  close?(): Promise<void>;
}
