// The embedded DHCP servers as a reconcile participant, DHCPv4's (DhcpHost) or DHCPv6's
// (Dhcp6Host) alike. It runs after the kernel's links and addresses (a server needs its
// bridge), plans starts, restarts, reconfigurations and stops (host.pending), applies them with
// host.sync, and reports each served network's condition (DhcpServing, Dhcpv6Serving).
import type { ObservedState } from '../../dataplane/types.js';
import type { DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import type { ComputedCondition } from '../conditions/condition.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, ResourceReport } from '../reconcile/participant.js';
import { servesDhcp } from './config.js';

/** What a participant needs of a set of DHCP servers. */
export interface DhcpServerHost {
  pending(desired: DesiredState, observed: ObservedState): Array<{ op: string; network: string; description: string }>;
  sync(desired: DesiredState, observed: ObservedState): Promise<void>;
  condition(network: string): ComputedCondition | null;
  close(): Promise<void>;
}

export class DhcpParticipant implements Participant {
  constructor(
    private readonly host: DhcpServerHost,
    /** Which networks this host serves. */
    private readonly serves: (n: Network) => boolean = servesDhcp,
    readonly name = 'dhcp',
  ) {}

  plan(ctx: PassContext): ParticipantPlan {
    const steps: PlannedStep[] = this.host.pending(ctx.desired, ctx.observed).map((c) => ({
      op: c.op, resource: { kind: 'network', name: c.network }, description: c.description,
    }));
    return { steps, problems: [] };
  }

  async apply(plan: ParticipantPlan, ctx: PassContext): Promise<ApplyOutcome> {
    // sync() also keeps each server's DhcpServing state (pool exhaustion) current, so it runs
    // on every pass; with nothing pending it opens no socket and writes no file.
    try {
      await this.host.sync(ctx.desired, ctx.observed);
      return { applied: plan.steps.length, failures: [], kernelChanged: false };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { applied: 0, failures: plan.steps.map((step) => ({ step, error, problem: null })), kernelChanged: false };
    }
  }

  report(ctx: PassContext): ResourceReport[] {
    const out: ResourceReport[] = [];
    for (const n of ctx.desired.networks) {
      if (!this.serves(n)) continue;
      const c = this.host.condition(n.name);
      if (c) out.push({ resource: { kind: 'network', name: n.name }, conditions: [c] });
    }
    return out;
  }

  close(): Promise<void> {
    return this.host.close();
  }
}
