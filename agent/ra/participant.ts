// Router advertisements as a reconcile participant: one advertiser (dhcp/ra) per IPv6 network
// whose gateway is on the bridge, started once the bridge exists (the advertiser itself waits
// for the bridge's link-local address, the source RFC 4861 requires), reconfigured in place when
// the settings change, restarted when the bridge was recreated. It runs before the kernel's
// links: a network that goes (or stops advertising) gets its final advertisement, router
// lifetime 0, before its bridge is deleted, so workloads drop the default route at once.
// close() (an agent stopping or restarting) never sends one: workloads keep their routes.
// A routed network with an IPv6 subnet has no bridge: one advertiser per attachment's device
// instead (config.ts advertisementTargets), keyed "<network>/<device>", reported per network.
import type { Link, ObservedState } from '../../dataplane/types.js';
import { condition, T, type ComputedCondition } from '../conditions/condition.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, ResourceReport } from '../reconcile/participant.js';
import { advertisementTargets, type AdvertisementConfig, type AdvertisementTarget } from './config.js';
import type { AdvertiserState } from '../../dhcp/ra/advertiser.js';

/** A running advertiser, as the participant drives it (dhcp/ra's RouterAdvertiser). */
export interface Advertiser {
  readonly state: AdvertiserState;
  reconfigure(config: AdvertisementConfig): unknown;
  /** final: send advertisements with router lifetime 0 first. */
  stop(options: { final: boolean }): Promise<void>;
}

export type StartAdvertiser = (config: AdvertisementConfig) => Promise<Advertiser>;

interface Running {
  advertiser: Advertiser;
  ifindex: number;
  key: string;
  config: AdvertisementConfig;
}

export interface RaStep extends PlannedStep {
  readonly op: 'startRa' | 'reconfigureRa' | 'restartRa' | 'stopRa';
  /** The advertiser's key: the network, or "<network>/<device>" on a routed network. */
  readonly network: string;
  readonly config: AdvertisementConfig | null;
  readonly ifindex: number;
  /** stopRa: end with router lifetime 0. */
  readonly final: boolean;
}

const CONDITION = 'RouterAdvertising';

export class RouterAdvertisementParticipant implements Participant<RaStep> {
  readonly name = 'ra';
  private readonly running = new Map<string, Running>();
  private readonly failed = new Map<string, string>();
  /** Final advertisements still going out (spaced by the rate limit) after their pass. */
  private readonly finals = new Set<Promise<void>>();

  constructor(private readonly start: StartAdvertiser) {}

  plan(ctx: PassContext): ParticipantPlan<RaStep> {
    const steps: RaStep[] = [];
    const links = new Map(ctx.observed.links.map((l) => [l.name, l]));
    const wanted = new Set<string>();
    for (const t of advertisementTargets(ctx.desired, ctx.observed)) {
      const { key: name, config } = t;
      wanted.add(name);
      const bridge = links.get(config.device);
      const run = this.running.get(name);
      const resource = { kind: 'network' as const, name: t.network };
      if (!bridge) {
        // Its socket was bound to a device that is gone: stale.
        if (run) steps.push({ op: 'stopRa', resource, network: name, config: null, ifindex: 0, final: false, description: `stop router advertisements of network ${t.network}: "${config.device}" is gone` });
        continue;
      }
      const key = JSON.stringify(config);
      const step = (op: RaStep['op'], why: string): void => {
        steps.push({ op, resource, network: name, config, ifindex: bridge.index, final: false, description: `${why} router advertisements of network ${t.network} on "${config.device}" (${config.prefix}${config.onLink === false ? ', not on-link' : ''})` });
      };
      if (!run) step('startRa', 'start');
      else if (run.ifindex !== bridge.index) step('restartRa', `restart (${t.attachment ? 'device' : 'bridge'} recreated)`);
      else if (run.key !== key) step('reconfigureRa', 'reconfigure');
    }
    if (!ctx.holdTeardown) {
      for (const name of this.running.keys()) {
        if (wanted.has(name)) continue;
        const net = name.split('/')[0]!;
        const on = name.includes('/') ? ` on "${name.slice(net.length + 1)}"` : '';
        steps.push({ op: 'stopRa', resource: { kind: 'network', name: net }, network: name, config: null, ifindex: 0, final: true, description: `stop router advertisements of network ${net}${on} (router lifetime 0: workloads drop the default route)` });
      }
    }
    return { steps, problems: [] };
  }

  async apply(plan: ParticipantPlan<RaStep>): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { applied: 0, failures: [], kernelChanged: false };
    for (const step of plan.steps) {
      try {
        const run = this.running.get(step.network);
        if (step.op === 'reconfigureRa' && run && step.config) {
          run.advertiser.reconfigure(step.config);
          this.running.set(step.network, { ...run, key: JSON.stringify(step.config), config: step.config });
        } else {
          if (run) {
            this.running.delete(step.network);
            const stopped = run.advertiser.stop({ final: step.final });
            // The first final advertisement goes out at once; the rest follow the rate limit
            // without holding the pass.
            if (step.final) this.track(stopped);
            else await stopped;
          }
          if (step.config) {
            const advertiser = await this.start(step.config);
            this.running.set(step.network, { advertiser, ifindex: step.ifindex, key: JSON.stringify(step.config), config: step.config });
          }
        }
        this.failed.delete(step.network);
        outcome.applied++;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.failed.set(step.network, error);
        outcome.failures.push({ step, error, problem: null });
      }
    }
    return outcome;
  }

  report(ctx: PassContext): ResourceReport[] {
    const out: ResourceReport[] = [];
    const links = new Map(ctx.observed.links.map((l) => [l.name, l]));
    const byNetwork = new Map<string, AdvertisementTarget[]>();
    for (const t of advertisementTargets(ctx.desired, ctx.observed)) byNetwork.set(t.network, [...byNetwork.get(t.network) ?? [], t]);
    for (const [network, targets] of byNetwork) {
      const first = targets[0]!;
      const c = first.attachment === undefined
        ? this.conditionOf(first.key, first.config, links.get(first.config.device), ctx.observed)
        : this.routedCondition(targets, links, ctx.observed);
      out.push({ resource: { kind: 'network', name: network }, conditions: [c] });
    }
    return out;
  }

  /** A routed network: advertising on every device that can be heard, or the first device's fault. */
  private routedCondition(targets: AdvertisementTarget[], links: Map<string, Link>, observed: ObservedState): ComputedCondition {
    let advertising = 0;
    let silent = 0;
    for (const t of targets) {
      const c = this.conditionOf(t.key, t.config, links.get(t.config.device), observed);
      if (c.status !== T) return condition(CONDITION, false, c.reason, `device "${t.config.device}" (attachment ${t.attachment}): ${c.message}`);
      if (c.reason === 'Advertising') advertising++;
      else silent++;
    }
    const c = targets[0]!.config;
    const how = c.managed ? 'addresses by DHCPv6' : c.autonomous ? 'SLAAC' : 'static addresses';
    return condition(CONDITION, true, 'Advertising', `${c.prefix} not on-link (${how}) on ${advertising} routed device(s), each its own router${silent ? `; ${silent} without carrier yet` : ''}`);
  }

  private conditionOf(network: string, config: AdvertisementConfig, bridge: Link | undefined, observed: ObservedState): ComputedCondition {
    const failure = this.failed.get(network);
    if (failure) return condition(CONDITION, false, 'SocketError', failure);
    const run = this.running.get(network);
    if (run?.advertiser.state === 'waiting-for-link-local') return this.waiting(config, bridge, observed);
    if (run) {
      const c = run.config;
      const how = c.managed ? 'addresses by DHCPv6' : c.other ? 'SLAAC, other settings by DHCPv6' : 'SLAAC';
      return condition(CONDITION, true, 'Advertising', `${c.prefix} on "${c.device}" (${how}), default router for ${c.routerLifetimeSec} s`);
    }
    if (!bridge) return condition(CONDITION, false, 'BridgeMissing', `bridge "${config.device}" does not exist`);
    return condition(CONDITION, false, 'NotStarted', `not advertising on "${config.device}" yet`);
  }

  /** While waiting for the bridge's link-local address: a fault only when someone could listen. */
  private waiting(config: AdvertisementConfig, bridge: Link | undefined, observed: ObservedState): ComputedCondition {
    // The kernel gives a bridge its link-local address once a port has carrier: until then no
    // workload is there to hear an advertisement, which is no fault. A routed device (not a
    // bridge) is heard once it has carrier itself.
    const ports = !!bridge && (config.onLink === false ? bridge.lowerUp : observed.links.some((l) => l.masterIndex === bridge.index && l.lowerUp));
    if (!ports) return condition(CONDITION, true, 'NoListeners', `no port of "${config.device}" has carrier yet: advertising starts with the first workload`);
    return condition(CONDITION, false, 'NoLinkLocal', `"${config.device}" has no usable IPv6 link-local address yet (duplicate address detection?)`);
  }

  private track(p: Promise<void>): void {
    const done = p.catch(() => undefined).finally(() => this.finals.delete(done));
    this.finals.add(done);
  }

  async close(): Promise<void> {
    // An agent stopping or restarting: no final advertisement (workloads keep their routes).
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((r) => r.advertiser.stop({ final: false }).catch(() => undefined)));
    await Promise.all([...this.finals]);
  }
}
