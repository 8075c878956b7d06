// The kernel's links and addresses as a reconcile participant: bridges, uplinks, TAPs and
// veth pairs under hostnet's marker, and the addresses on the bridges. Planning is the pure
// planReconcile; this file adds what needs the world (a veth's peer namespace must exist),
// carries the plan out through the Dataplane, and reports BridgeReady, UplinkReady,
// Configured and Negotiated.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { DataplaneError } from '../../dataplane/errors.js';
import { netnsPath } from '../../dataplane/netns-path.js';
import type { Dataplane } from '../../dataplane/types.js';
import { networkMtu } from '../desired/mtu.js';
import { bridgeNameOf, ifNameOf, parseOwnerAlias, uplinkDeviceOf } from '../naming.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, Problem, ResourceReport } from '../reconcile/participant.js';
import { describeAction, planReconcile, type PlanAction } from '../reconcile/plan.js';
import { actionDevice, applyAction, type LocalAction, type PeerAction } from './apply-action.js';
import { attachmentFacts, networkFacts, ProblemIndex } from './conditions.js';
import { CreationIntents } from './intents.js';
import { describeMissing, netnsState, type NetnsState } from './netns-state.js';
import { NetnsWatch } from './netns-watch.js';
import { VethPeerBook } from './veth-peers.js';

export interface KernelLinksOptions {
  /** Where intents to create devices are recorded (crash safety); null: in memory only. */
  intentsFile?: string | null;
  /**
   * Called when a desired peer namespace appears at (or vanishes from) its path, e.g. to ask
   * the reconciler for a pass; absent: nothing watches those paths.
   */
  onNetnsChange?: (why: string) => void;
  warn?: (msg: string, fields: Record<string, unknown>) => void;
  /**
   * Writes a sysctl in the agent's namespace (path under /proc/sys). Used to turn IPv6 off on
   * the VLAN and VXLAN uplinks hostnet creates: a bridge port needs no IPv6 of its own, and its
   * router solicitations would otherwise go to every other host. Absent: left as the kernel has it.
   */
  setSysctl?: (path: readonly string[], value: string) => Promise<void>;
}

/** Give the event loop a turn this often during a long apply (gRPC status, health, metrics). */
const YIELD_EVERY_MS = 20;
/** Attachments being set up at once (their requests share lookups of the same bridge). */
const ATTACHMENTS_IN_FLIGHT = 32;
/** Peer links changed with one setLinksIn call. */
const PEERS_PER_BATCH = 256;

export interface KernelStep extends PlannedStep {
  readonly action: PlanAction;
}

/** A held attachment's existing device goes down: without its rules it must not forward. */
function keepDown(ctx: PassContext): KernelStep[] {
  const out: KernelStep[] = [];
  for (const a of ctx.desired.attachments) {
    const resource = { kind: 'attachment' as const, name: a.name };
    if (!ctx.held.has(`attachment/${a.name}`)) continue;
    const link = ctx.observed.links.find((l) => l.name === ifNameOf(a));
    if (!link?.up || parseOwnerAlias(link.alias)?.name !== a.name) continue;
    const action: LocalAction = { op: 'setLink', attrs: { name: link.name, up: false }, resource, reason: 'its port security rules are not in force' };
    out.push({ op: action.op, resource, description: describeAction(action), action });
  }
  return out;
}

export class KernelLinksParticipant implements Participant<KernelStep> {
  readonly name = 'links';

  private readonly intents: CreationIntents;
  private readonly loaded: Promise<void>;
  /** What each desired veth's peer namespace holds, read only when something changed. */
  readonly peers: VethPeerBook;
  private readonly netnsWatch: NetnsWatch | null;

  private readonly setSysctl: KernelLinksOptions['setSysctl'];
  private readonly warn: KernelLinksOptions['warn'];

  constructor(private readonly dp: Dataplane, options: KernelLinksOptions = {}) {
    this.setSysctl = options.setSysctl;
    this.warn = options.warn;
    this.intents = new CreationIntents(options.intentsFile ?? null);
    this.loaded = this.intents.load();
    this.peers = new VethPeerBook(dp, options.warn);
    this.netnsWatch = options.onNetnsChange ? new NetnsWatch(options.onNetnsChange, options.warn) : null;
  }

  async plan(ctx: PassContext): Promise<ParticipantPlan<KernelStep>> {
    await this.loaded;
    const peers = await this.peers.gather(ctx.desired, ctx.observed);
    this.netnsWatch?.follow(peers.namespaces);
    const plan = planReconcile(ctx.desired, ctx.observed, { halfMade: this.intents.pending, vethPeers: peers.facts });
    const problems: Problem[] = [...plan.problems];
    const refused = new Set<string>();
    const steps: KernelStep[] = [];
    for (const action of plan.actions) {
      // Teardown waits while the stored state could not be read.
      if (ctx.holdTeardown && !action.resource) continue;
      const owner = action.resource ? `${action.resource.kind}/${action.resource.name}` : null;
      if (owner && refused.has(owner)) continue;
      // Held by an earlier participant (its port security is not in force): nothing is
      // created or brought up for it.
      if (owner && ctx.held.has(owner)) continue;
      const problem = precondition(action, peers.namespaces);
      if (problem) {
        problems.push(problem);
        refused.add(owner!);
        continue;
      }
      steps.push({ op: action.op, ...(action.resource ? { resource: action.resource } : {}), description: describeAction(action), action });
    }
    steps.push(...keepDown(ctx));
    for (const h of ctx.held.values()) problems.push(h);
    return { steps, problems };
  }

  async apply(plan: ParticipantPlan<KernelStep>, ctx: PassContext): Promise<ApplyOutcome> {
    const failed = new Set<string>();
    const outcome: ApplyOutcome = { applied: 0, failures: [] };
    const fail = (step: KernelStep, err: unknown): void => {
      const error = err instanceof Error ? err.message : String(err);
      // A device the plan relied on is gone: the kernel changed under it; plan again.
      if (err instanceof DataplaneError && err.code === 'ENODEV') outcome.replan = true;
      if (step.resource) failed.add(`${step.resource.kind}/${step.resource.name}`);
      outcome.failures.push({ step, error, problem: step.resource ? failureProblem(step.action, error, ctx) : null });
    };
    const skipped = (step: KernelStep): boolean => !!step.resource && failed.has(`${step.resource.kind}/${step.resource.name}`);
    await this.intents.settle(ctx.observed.links);
    // Durably, before the kernel is asked: a crash between a creation's steps leaves a device
    // a restarted agent recognises as its own.
    const creating = plan.steps.flatMap((s) => (s.action.op.startsWith('ensure') ? [(s.action as { spec: { name: string } }).spec.name] : []));
    if (creating.length > 0) await this.intents.record(creating);
    let lastYield = performance.now();
    const breathe = async (): Promise<void> => {
      if (performance.now() - lastYield < YIELD_EVERY_MS) return;
      lastYield = performance.now();
      await yieldToEventLoop();
    };
    const one = async (step: KernelStep, action: LocalAction): Promise<void> => {
      if (skipped(step)) return;
      try {
        await applyAction(this.dp, action);
        if ((action.op === 'ensureVxlan' || action.op === 'ensureVlan') && this.setSysctl) {
          // Not fatal: the uplink works either way (a kernel without IPv6 has no such key).
          await this.setSysctl(['net', 'ipv6', 'conf', action.spec.name, 'disable_ipv6'], '1')
            .catch((err: unknown) => this.warn?.('could not turn IPv6 off on an uplink', { device: action.spec.name, err: String(err) }));
        }
        outcome.applied++;
      } catch (err) {
        fail(step, err);
      }
    };
    // The plan's order: teardown and networks (bridges, uplinks, addresses) first, in order;
    // then the attachments, independent of each other (each one's steps in order), several
    // in flight so that their lookups of the same bridge are shared; then the peer steps,
    // which the planner puts last, one batch per namespace.
    const local: Array<{ step: KernelStep; action: LocalAction }> = [];
    const peers = new Map<string, Array<{ step: KernelStep; action: PeerAction }>>();
    for (const step of plan.steps) {
      const a = step.action;
      if (a.op !== 'setPeerLink') local.push({ step, action: a });
      else if (!peers.has(a.netns)) peers.set(a.netns, [{ step, action: a }]);
      else peers.get(a.netns)!.push({ step, action: a });
    }
    const firstAttachment = local.findIndex((l) => l.step.resource?.kind === 'attachment');
    const split = firstAttachment < 0 ? local.length : firstAttachment;
    for (const { step, action } of local.slice(0, split)) {
      await breathe();
      await one(step, action);
    }
    const byAttachment = new Map<string, Array<{ step: KernelStep; action: LocalAction }>>();
    for (const l of local.slice(split)) {
      const key = `${l.step.resource?.kind}/${l.step.resource?.name}`;
      if (!byAttachment.has(key)) byAttachment.set(key, [l]);
      else byAttachment.get(key)!.push(l);
    }
    const queue = [...byAttachment.values()];
    const worker = async (): Promise<void> => {
      for (let steps = queue.shift(); steps; steps = queue.shift()) {
        await breathe();
        for (const { step, action } of steps) await one(step, action);
      }
    };
    await Promise.all(Array.from({ length: Math.min(ATTACHMENTS_IN_FLIGHT, queue.length) }, worker));
    for (const [netns, all] of peers) {
      const todo = all.filter((p) => !skipped(p.step));
      // In slices, so the event loop (and the kernel-event socket) gets a turn between them.
      for (let from = 0; from < todo.length; from += PEERS_PER_BATCH) {
        await breathe();
        const batch = todo.slice(from, from + PEERS_PER_BATCH);
        const results = await this.dp.setLinksIn(netns, batch.map((p) => p.action.attrs));
        results.forEach((err, k) => (err ? fail(batch[k]!.step, err) : outcome.applied++));
      }
    }
    return outcome;
  }

  async close(): Promise<void> {
    this.netnsWatch?.close();
  }

  report(ctx: PassContext, problems: readonly Problem[]): ResourceReport[] {
    const out: ResourceReport[] = [];
    const links = new Map(ctx.observed.links.map((l) => [l.name, l]));
    const index = new ProblemIndex(problems);
    for (const n of ctx.desired.networks) {
      const f = networkFacts(n, links, index);
      out.push({
        resource: { kind: 'network', name: n.name }, conditions: f.conditions,
        network: { bridgeName: f.bridgeName, bridgeIfindex: f.bridgeIfindex, uplinkName: uplinkDeviceOf(n)?.name ?? '', mtu: networkMtu(n, ctx.observed) },
      });
    }
    const networks = new Map(ctx.desired.networks.map((n) => [n.name, n]));
    for (const a of ctx.desired.attachments) {
      const f = attachmentFacts(a, networks.get(a.network), links, index);
      out.push({ resource: { kind: 'attachment', name: a.name }, conditions: f.conditions, attachment: { network: f.network, ifName: f.ifName, ifindex: f.ifindex, mac: f.mac } });
    }
    return out;
  }
}

/**
 * Refuses an action that cannot succeed, before the kernel is asked: a veth whose peer
 * namespace is not at its path (as this pass read it).
 */
function precondition(action: PlanAction, namespaces: ReadonlyMap<string, NetnsState>): Problem | null {
  if (action.op !== 'ensureVeth' || !action.resource || !action.spec.peer.netns) return null;
  const path = netnsPath(action.spec.peer.netns);
  const state = namespaces.get(path) ?? netnsState(path);
  if (state.present) return null;
  return { resource: action.resource, condition: 'Configured', reason: 'PeerNetnsMissing', message: describeMissing(path, state) };
}

/** A failed action as a False condition of its resource: which one depends on the device. */
function failureProblem(action: PlanAction, message: string, ctx: PassContext): Problem {
  const resource = action.resource!;
  if (resource.kind === 'attachment') return { resource, condition: 'Configured', reason: 'ApplyFailed', message };
  const n = ctx.desired.networks.find((x) => x.name === resource.name);
  const bridge = n ? bridgeNameOf(n) : undefined;
  const device = actionDevice(action);
  const isBridge = action.op === 'ensureBridge' || action.op === 'addAddress' || action.op === 'deleteAddress' || device === bridge;
  return { resource, condition: isBridge ? 'BridgeReady' : 'UplinkReady', reason: 'ApplyFailed', message };
}
